// Bounded concurrency plus a start-rate limit (DESIGN §3.10). Hand-written because no small,
// well-kept limiter is installed, and the behaviour we need is short: starts are spaced
// 1/ratePerSecond apart (a bucket of one token, so no bursts), at most `concurrency` run at once,
// and slowDown() holds every new start back after a throttling answer.

export interface RateLimiter {
  /** Runs fn when a start slot and a concurrency slot are free; resolves or rejects with fn's result. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** No new start for the next ms milliseconds (running calls are left alone). */
  slowDown(ms: number): void;
}

export function createRateLimiter(options: { ratePerSecond: number; concurrency: number }): RateLimiter {
  if (!(options.ratePerSecond > 0)) throw new Error(`ratePerSecond must be above 0, got ${options.ratePerSecond}`);
  if (!(options.concurrency >= 1)) throw new Error(`concurrency must be at least 1, got ${options.concurrency}`);
  const spacingMs = 1000 / options.ratePerSecond;
  const waiting: Array<() => void> = [];
  let inFlight = 0;
  let nextStartAt = 0;
  let pausedUntil = 0;
  let timer: NodeJS.Timeout | null = null;

  function pump(): void {
    while (waiting.length > 0 && inFlight < options.concurrency) {
      const now = Date.now();
      const earliest = Math.max(nextStartAt, pausedUntil);
      if (now < earliest) {
        // One timer at a time; when it fires, pump() re-reads pausedUntil, so a later slowDown still counts.
        timer ??= setTimeout(() => {
          timer = null;
          pump();
        }, Math.ceil(earliest - now));
        return;
      }
      nextStartAt = now + spacingMs;
      inFlight++;
      waiting.shift()!();
    }
  }

  return {
    run<T>(fn: () => Promise<T>): Promise<T> {
      return new Promise<void>((start) => {
        waiting.push(start);
        pump();
      })
        .then(fn)
        .finally(() => {
          inFlight--;
          pump();
        });
    },
    slowDown(ms: number): void {
      if (ms > 0) pausedUntil = Math.max(pausedUntil, Date.now() + ms);
    },
  };
}
