// Random test data that can be replayed. The seed comes from TEST_SEED, or is drawn once per test
// file; every test gets its own generator derived from the seed and the test's name, so a test run
// alone (`-t`) draws the same numbers as in the whole file. A failing test prints its seed.
import { randomInt as cryptoRandomInt } from 'node:crypto';
import { beforeEach } from 'vitest';
import { phones } from './builders.ts';

export const TEST_SEED = seedFromEnv() ?? cryptoRandomInt(2 ** 31);

function seedFromEnv(): number | null {
  const raw = process.env.TEST_SEED;
  if (raw === undefined || raw === '') return null;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`TEST_SEED must be an integer, got "${raw}"`);
  return seed;
}

/** mulberry32: small, fast and good enough to spread test phones apart. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

// Draws outside any test (beforeAll, module level) share one stream per file.
let next = generator(TEST_SEED);

beforeEach((context) => {
  const name = context.task.fullTestName ?? context.task.name;
  next = generator(TEST_SEED ^ hash(name));
  context.onTestFailed(() => {
    console.error(`random test data: replay with TEST_SEED=${TEST_SEED} npx vitest run ${context.task.file.name} -t ${JSON.stringify(context.task.name)}`);
  });
});

/** A float in [0, 1), like Math.random(), from the test's seeded stream. */
export function random(): number {
  return next();
}

/** An integer in [min, max). */
export function randomInt(min: number, max: number): number {
  return min + Math.floor(next() * (max - min));
}

/** n consecutive phones starting at a random offset, so tests sharing a table do not collide. */
export function randomPhones(n: number): string[] {
  return phones(n, randomInt(0, 1_000_000));
}
