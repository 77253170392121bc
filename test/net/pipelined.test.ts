import { describe, expect, it } from 'vitest';
import { pipelined } from '../../server/net/pipelined.ts';

// Stand-in work that lasts a while, so that items overlap.
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('pipelined', () => {
  it('keeps up to `limit` items in progress, takes the next as soon as one ends, and does every item once', async () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    let othersDone!: () => void;
    const allOthersDone = new Promise<void>((resolve) => (othersDone = resolve));
    await pipelined(async () => items.shift(), async (i) => {
      running++;
      peak = Math.max(peak, running);
      // The first ends only once all the others have: they must never wait for it.
      await (i === 0 ? allOthersDone : pause(10));
      running--;
      done.push(i);
      if (done.length === 19) othersDone();
    }, 4);
    expect(peak).toBe(4);
    expect([...done].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(done.at(-1)).toBe(0);
  });

  it('stops taking items after a failure, lets the running ones finish, then throws the first error', async () => {
    let taken = 0;
    let finished = 0;
    const run = pipelined(async () => (taken < 100 ? taken++ : undefined), async (i) => {
      if (i === 2) throw new Error('page 2 failed');
      await pause(20);
      finished++;
    }, 3);
    await expect(run).rejects.toThrow('page 2 failed');
    expect(taken).toBeLessThan(10);
    expect(finished).toBe(taken - 1);
  });
});
