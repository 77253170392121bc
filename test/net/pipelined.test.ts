import { describe, expect, it } from 'vitest';
import { pipelined } from '../../server/net/pipelined.ts';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('pipelined', () => {
  it('keeps up to `limit` items in progress, takes the next as soon as one ends, and does every item once', async () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    await pipelined(async () => items.shift(), async (i) => {
      running++;
      peak = Math.max(peak, running);
      await pause(i === 0 ? 120 : 10); // the first is slow: the others must not wait for it
      running--;
      done.push(i);
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
