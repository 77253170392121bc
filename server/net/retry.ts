// In-call retries with exponential backoff and full jitter (DESIGN §3.9). Generic: the caller
// decides what is retryable and whether the failure carried a throttling hint.

export interface RetryPolicy {
  /** Total tries including the first; 1 means "no retry". */
  attempts: number;
  /** Upper bound of the first backoff; kept sub-second so a blip costs little. */
  baseMs: number;
  /** Cap of the exponential backoff. */
  maxMs: number;
}

export interface RetryInfo {
  /** The attempt that just failed (1-based). */
  attempt: number;
  delayMs: number;
  error: unknown;
}

export interface RetryOptions {
  policy: RetryPolicy;
  isRetryable: (error: unknown) => boolean;
  /** A server's "come back in N ms" (throttling); null when the failure carried none. */
  retryAfterMs?: (error: unknown) => number | null;
  onRetry?: (info: RetryInfo) => void;
  signal?: AbortSignal;
}

/** A throttling hint is honoured up to this, so a bogus header cannot park a caller (and its lease) for long. */
export const MAX_HINTED_DELAY_MS = 30_000;

/** Full jitter: uniform in [0, min(maxMs, baseMs * 2^(attempt-1))], so many clients do not retry in step. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}

/** The delay before the next try: the jittered backoff, or the server's hint when that is longer. */
export function retryDelay(attempt: number, policy: RetryPolicy, hintMs: number | null, random: () => number = Math.random): number {
  const backoff = backoffDelay(attempt, policy, random);
  if (hintMs === null || !Number.isFinite(hintMs) || hintMs <= 0) return backoff;
  const cap = Math.min(Math.max(policy.maxMs, hintMs), MAX_HINTED_DELAY_MS);
  return Math.min(Math.max(hintMs, backoff), cap);
}

/** Runs fn until it succeeds, fails with a non-retryable error, or the attempts run out (then the last error is thrown). */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = Math.max(1, Math.floor(options.policy.attempts));
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= attempts || !options.isRetryable(error)) throw error;
      const delayMs = retryDelay(attempt, options.policy, options.retryAfterMs?.(error) ?? null);
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs, options.signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
