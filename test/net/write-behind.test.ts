import { describe, expect, it } from 'vitest';
import { createWriteBehind } from '../../server/net/write-behind.ts';

/** A write that ends only when the test says so. */
function gatedWrites() {
  const batches: number[][] = [];
  const gates: Array<() => void> = [];
  const write = (items: number[]) => new Promise<void>((done) => {
    batches.push(items);
    gates.push(done);
  });
  return { batches, write, open: () => gates.shift()?.() };
}

describe('write-behind', () => {
  it('writes one batch at a time, taking everything handed over while the previous one was written', async () => {
    const w = gatedWrites();
    const writes = createWriteBehind(w.write, 10);
    await writes.add(1);
    await writes.add(2);
    await writes.add(3);
    expect(w.batches).toEqual([[1]]); // 2 and 3 wait for the first write
    w.open();
    await expect.poll(() => w.batches.length).toBe(2);
    expect(w.batches[1]).toEqual([2, 3]);
    const closed = writes.close();
    w.open();
    await closed;
    expect(w.batches.flat()).toEqual([1, 2, 3]);
  });

  it('takes at most maxPerWrite items in one write, in the order they were handed over', async () => {
    const w = gatedWrites();
    const writes = createWriteBehind(w.write, 10, 2);
    for (const item of [1, 2, 3, 4, 5, 6]) await writes.add(item);
    expect(w.batches).toEqual([[1]]);
    const closed = writes.close();
    for (let written = 1; written < 4; written++) {
      w.open();
      await expect.poll(() => w.batches.length).toBe(written + 1);
    }
    w.open();
    await closed;
    expect(w.batches).toEqual([[1], [2, 3], [4, 5], [6]]);
  });

  it('makes add() wait while maxPending items are waiting, so memory stays bounded', async () => {
    const w = gatedWrites();
    const writes = createWriteBehind(w.write, 2);
    await writes.add(1); // being written
    await writes.add(2);
    await writes.add(3); // two waiting: full
    let added = false;
    const fourth = writes.add(4).then(() => (added = true));
    await Promise.resolve();
    expect(added).toBe(false);
    w.open(); // [1] written; [2, 3] taken: room again
    await fourth;
    expect(w.batches).toEqual([[1], [2, 3]]);
    w.open();
    const closed = writes.close();
    await expect.poll(() => w.batches.length).toBe(3);
    w.open();
    await closed;
    expect(w.batches.flat()).toEqual([1, 2, 3, 4]);
  });

  it('after a failed write, writes nothing more and rejects the next add() and close() with its error', async () => {
    let calls = 0;
    const writes = createWriteBehind(async () => {
      calls++;
      throw new Error('disk full');
    }, 4);
    await writes.add(1);
    await expect(writes.close()).rejects.toThrow('disk full');
    await expect(writes.add(2)).rejects.toThrow('disk full');
    expect(calls).toBe(1);
  });
});
