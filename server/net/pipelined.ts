// Work on a stream of items with up to `limit` of them in progress at once, taking the next item only
// when a place is free (issue 12: Outbound Bot pages in flight up to the quota). `next` is called
// one call at a time, in order, so it may page through a table by keyset; each item's work runs as
// soon as it is taken and ends on its own, so nothing waits for the slowest of a batch. Memory stays
// bounded by `limit` items, whatever the length of the stream.
//
// A failing `next` or `work` stops new items; the ones in progress finish (none is left writing
// after the caller has moved on), then the first error is thrown.

export async function pipelined<T>(next: () => Promise<T | undefined>, work: (item: T) => Promise<void>, limit: number): Promise<void> {
  if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`limit must be a whole number of at least 1, got ${limit}`);
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | null = null;
  while (!failure) {
    let item: T | undefined;
    try {
      item = await next();
    } catch (error) {
      failure = { error };
      break;
    }
    if (item === undefined) break;
    const done: Promise<void> = work(item)
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => running.delete(done));
    running.add(done);
    if (running.size >= limit) await Promise.race(running);
  }
  await Promise.all(running);
  if (failure) throw failure.error;
}
