import { describe, expect, it } from 'vitest';
import { backoffDelay, MAX_HINTED_DELAY_MS, retryDelay, withRetry, type RetryInfo } from '../../server/net/retry.ts';
import { until } from '../helpers/until.ts';

const fast = { attempts: 4, baseMs: 5, maxMs: 20 };

class Flaky extends Error {
  constructor(readonly retryable: boolean, readonly hintMs: number | null = null) {
    super(retryable ? 'flaky' : 'fatal');
  }
}
const isRetryable = (e: unknown) => e instanceof Flaky && e.retryable;

describe('withRetry', () => {
  it('returns the first success and passes the 1-based attempt number', async () => {
    const seen: number[] = [];
    const result = await withRetry(async (attempt) => {
      seen.push(attempt);
      if (attempt < 3) throw new Flaky(true);
      return 'ok';
    }, { policy: fast, isRetryable });
    expect(result).toBe('ok');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('throws the last error once every attempt failed', async () => {
    let calls = 0;
    const last = new Flaky(true);
    await expect(withRetry(async () => {
      calls++;
      throw calls === fast.attempts ? last : new Flaky(true);
    }, { policy: fast, isRetryable })).rejects.toBe(last);
    expect(calls).toBe(fast.attempts);
  });

  it('does not retry an error the caller calls non-retryable', async () => {
    let calls = 0;
    await expect(withRetry(async () => {
      calls++;
      throw new Flaky(false);
    }, { policy: fast, isRetryable })).rejects.toThrow('fatal');
    expect(calls).toBe(1);
  });

  it('reports every retry with the failed attempt and the delay it will wait', async () => {
    const infos: RetryInfo[] = [];
    await expect(withRetry(async () => { throw new Flaky(true); }, {
      policy: { attempts: 3, baseMs: 5, maxMs: 20 }, isRetryable, onRetry: (i) => infos.push(i),
    })).rejects.toThrow();
    expect(infos.map((i) => i.attempt)).toEqual([1, 2]);
    for (const info of infos) expect(info.delayMs).toBeGreaterThanOrEqual(0);
    for (const info of infos) expect(info.delayMs).toBeLessThanOrEqual(20);
  });

  it('waits at least the throttling hint even when it exceeds maxMs', async () => {
    const started = Date.now();
    let calls = 0;
    const result = await withRetry(async () => {
      if (++calls === 1) throw new Flaky(true, 150);
      return calls;
    }, { policy: fast, isRetryable, retryAfterMs: (e) => (e as Flaky).hintMs });
    expect(result).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('stops waiting when the signal aborts', async () => {
    const controller = new AbortController();
    let attempts = 0;
    const promise = withRetry(async () => { attempts += 1; throw new Flaky(true); }, {
      policy: { attempts: 5, baseMs: 10_000, maxMs: 10_000 }, isRetryable, signal: controller.signal,
      retryAfterMs: () => 10_000,
    });
    await until('the first attempt to fail', () => attempts === 1); // now it waits 10 s for the next
    controller.abort(new Error('shutting down'));
    await expect(promise).rejects.toThrow('shutting down');
    expect(attempts).toBe(1);
  });
});

describe('retry delays', () => {
  it('grow exponentially from baseMs and are capped at maxMs', () => {
    const top = () => 1; // the jitter's upper end
    const policy = { attempts: 10, baseMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy, top))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
  });

  it('honour a hint above maxMs but never beyond the hard cap', () => {
    const policy = { attempts: 5, baseMs: 100, maxMs: 1000 };
    expect(retryDelay(1, policy, 5000, () => 0.5)).toBe(5000);
    expect(retryDelay(1, policy, 10 * 60_000, () => 0.5)).toBe(MAX_HINTED_DELAY_MS);
    expect(retryDelay(1, policy, null, () => 0.5)).toBe(50);
  });
});
