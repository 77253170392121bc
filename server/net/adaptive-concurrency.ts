// How many calls may run at once: a maximum (the LLM client's LLM_CONCURRENCY), fewer while the
// server throttles (issue 12, DESIGN §3.10). Bailian enforces requests- and tokens-per-minute and
// answers 429 beyond them, so the limit follows AIMD: halved on a throttling answer, raised by one
// after about a limit's worth of successes, between 1 and the maximum. A throttling hint
// (Retry-After) holds every new start back until it passes. Waiters are served first come, first
// served; a throttled call that goes round again waits at the front, so it is not overtaken by
// calls that never waited.

export interface AdaptiveConcurrency {
  /** Resolves with a place once the limit and any Retry-After allow; `again`: a throttled call's next attempt. */
  acquire(again?: boolean): Promise<Place>;
  /** The current limit (a whole number between 1 and the maximum). */
  readonly limit: number;
  readonly inFlight: number;
}

export interface Place {
  /** The call got its answer (whatever it said): the limit may grow. */
  succeeded(): void;
  /** The server throttled the call: the limit shrinks (once per round of calls), new starts wait `retryAfterMs`. */
  throttled(retryAfterMs: number | null): void;
  /** The call failed otherwise (timeout, 5xx…): the limit stays. */
  release(): void;
}

export function createAdaptiveConcurrency(options: { max: number; now?: () => number }): AdaptiveConcurrency {
  const max = options.max;
  if (!(Number.isInteger(max) && max >= 1)) throw new RangeError(`the LLM concurrency must be a whole number of at least 1, got ${max}`);
  const now = options.now ?? Date.now;
  let limit = max; // fractional while it grows; floor() is what is enforced
  let inFlight = 0;
  let pausedUntil = 0;
  /** Starts are numbered; those up to this number were in flight at the last decrease. */
  let started = 0;
  let decreasedAfter = 0;
  const waiting: Array<() => void> = [];
  let timer: NodeJS.Timeout | null = null;

  function pump(): void {
    while (waiting.length > 0 && inFlight < Math.floor(limit)) {
      const wait = pausedUntil - now();
      if (wait > 0) {
        timer ??= setTimeout(() => {
          timer = null;
          pump();
        }, Math.ceil(wait));
        return;
      }
      inFlight++;
      started++;
      waiting.shift()!();
    }
  }

  function place(number: number): Place {
    let done = false;
    const end = (change: () => void) => {
      if (done) return;
      done = true;
      change();
      inFlight--;
      pump();
    };
    return {
      succeeded: () => end(() => {
        limit = Math.min(max, limit + 1 / Math.floor(limit));
      }),
      throttled: (retryAfterMs) => end(() => {
        // Calls already in flight when the limit was cut were sent at the old rate: their 429s are
        // the same congestion, not new evidence, so they do not cut it again.
        if (number > decreasedAfter) {
          limit = Math.max(1, Math.floor(limit / 2));
          decreasedAfter = started;
        }
        if (retryAfterMs !== null && retryAfterMs > 0) pausedUntil = Math.max(pausedUntil, now() + retryAfterMs);
      }),
      release: () => end(() => undefined),
    };
  }

  return {
    acquire(again = false) {
      return new Promise<Place>((resolve) => {
        const start = () => resolve(place(started));
        if (again) waiting.unshift(start);
        else waiting.push(start);
        pump();
      });
    },
    get limit() {
      return Math.floor(limit);
    },
    get inFlight() {
      return inFlight;
    },
  };
}
