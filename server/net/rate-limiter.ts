// Bounded concurrency plus a start-rate limit (DESIGN §3.10). Hand-written because no small,
// well-kept limiter is installed, and the behaviour we need is short:
// - the ceiling: never more than ratePerSecond starts in any window of one second (plus a margin for
//   the network's jitter, so the server, which counts arrivals, sees no more either), kept by a log
//   of the last starts;
// - the pace: starts are spread evenly over that window (no burst), on a timeline that a slightly late
//   timer does not push back, so a busy event loop loses no slot (issue 12: ≥ 90% of the quota used);
// - at most `concurrency` run at once, and slowDown() holds every new start back after a throttling
//   answer.

export interface RateLimiter {
  /** Runs fn when a start slot and a concurrency slot are free; resolves or rejects with fn's result. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** No new start for the next ms milliseconds (running calls are left alone). */
  slowDown(ms: number): void;
  /** Calls running now (for tests and metrics). */
  readonly inFlight: number;
}

/**
 * Added to the one-second window: a request started at the edge of a window may arrive a little later
 * than the one after it, and the server counts arrivals. 5% of the quota buys that safety: with 25 ms
 * the simulator saw 21 arrivals within one second at QPS 20 on a loaded machine.
 */
export const WINDOW_MARGIN_MS = 50;

export function createRateLimiter(options: { ratePerSecond: number; concurrency: number; now?: () => number }): RateLimiter {
  if (!(options.ratePerSecond > 0)) throw new Error(`ratePerSecond must be above 0, got ${options.ratePerSecond}`);
  if (!(options.concurrency >= 1)) throw new Error(`concurrency must be at least 1, got ${options.concurrency}`);
  const now = options.now ?? Date.now;
  // Below 1 per second the pace alone is the rule; the window then allows one start.
  const perWindow = Math.max(1, Math.floor(options.ratePerSecond));
  const windowMs = (1000 * perWindow) / options.ratePerSecond + WINDOW_MARGIN_MS;
  const spacingMs = windowMs / perWindow;
  const recentStarts: number[] = []; // at most perWindow, oldest first
  const waiting: Array<() => void> = [];
  let inFlight = 0;
  let nextSlot = 0;
  let pausedUntil = 0;
  let timer: NodeJS.Timeout | null = null;

  /** The earliest time the next start may happen: its slot on the pace, the window's ceiling, a pause. */
  function earliestStart(): number {
    const windowFreesAt = recentStarts.length < perWindow ? 0 : recentStarts[0]! + windowMs;
    return Math.max(nextSlot, windowFreesAt, pausedUntil);
  }

  function pump(): void {
    while (waiting.length > 0 && inFlight < options.concurrency) {
      const at = now();
      const earliest = earliestStart();
      if (at < earliest) {
        // One timer at a time; when it fires, pump() re-reads everything, so a later slowDown still counts.
        timer ??= setTimeout(() => {
          timer = null;
          pump();
        }, Math.ceil(earliest - at));
        return;
      }
      // A timer that fired a little late does not push the timeline back (the next slot stays a
      // spacing after this one's slot); after idling, or a long stall, the pace restarts from now.
      const slot = at - nextSlot <= spacingMs / 10 ? nextSlot : at;
      nextSlot = slot + spacingMs;
      recentStarts.push(at);
      if (recentStarts.length > perWindow) recentStarts.shift();
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
      if (ms > 0) pausedUntil = Math.max(pausedUntil, now() + ms);
    },
    get inFlight() {
      return inFlight;
    },
  };
}
