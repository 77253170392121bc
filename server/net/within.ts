// Waiting for something only so long: the health probe, shutdown's grace period, and a dashboard
// action that answers with its result when it comes soon enough. The work itself goes on.

/** The promise's value if it settles within `ms`, else undefined; a rejection passes through. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
