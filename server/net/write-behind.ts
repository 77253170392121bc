// Writes that trail the requests (issue 12): the caller hands over what a request brought and goes
// back to requesting; one writer at a time takes everything handed over so far and writes it in one
// go. So a slow database never holds a request slot, and the slower the writes, the larger (and
// fewer) they become, up to `maxPerWrite` items. At most `maxPending` items wait; add() waits for
// room beyond that, so memory stays bounded whatever the length of the stream.
//
// A failed write stops everything: the next add() and close() reject with it, and nothing more is written.

export interface WriteBehind<T> {
  /** Hands an item over; resolves once it is queued (not written), rejects after a failed write. */
  add(item: T): Promise<void>;
  /** Resolves once every item is written; rejects with the first failed write. */
  close(): Promise<void>;
}

export function createWriteBehind<T>(write: (items: T[]) => Promise<void>, maxPending: number, maxPerWrite = maxPending): WriteBehind<T> {
  for (const [name, n] of [['maxPending', maxPending], ['maxPerWrite', maxPerWrite]] as const) {
    if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`${name} must be a whole number of at least 1, got ${n}`);
  }
  let pending: T[] = [];
  let writing: Promise<void> | null = null;
  let failure: { error: unknown } | null = null;
  let roomWaiters: Array<() => void> = [];

  const wakeRoomWaiters = () => {
    const waiters = roomWaiters;
    roomWaiters = [];
    for (const wake of waiters) wake();
  };

  function drain(): void {
    if (writing) return;
    writing = (async () => {
      while (pending.length > 0 && !failure) {
        const items = pending.splice(0, maxPerWrite);
        wakeRoomWaiters();
        try {
          await write(items);
        } catch (error) {
          failure = { error };
        }
      }
    })().finally(() => {
      writing = null;
      wakeRoomWaiters();
      if (pending.length > 0 && !failure) drain(); // handed over between the loop's end and now
    });
  }

  return {
    async add(item) {
      while (!failure && pending.length >= maxPending) await new Promise<void>((room) => roomWaiters.push(room));
      if (failure) throw failure.error;
      pending.push(item);
      drain();
    },
    async close() {
      while (writing) await writing;
      if (failure) throw failure.error;
    },
  };
}
