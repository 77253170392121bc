import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../server/net/rate-limiter.ts';

// Stand-in work that lasts a while: these tests are about how calls overlap and space out in time.
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('createRateLimiter', () => {
  it('never runs more than `concurrency` calls at once', async () => {
    const limiter = createRateLimiter({ ratePerSecond: 1000, concurrency: 3 });
    let running = 0;
    let peak = 0;
    await Promise.all(Array.from({ length: 12 }, () => limiter.run(async () => {
      running++;
      peak = Math.max(peak, running);
      await pause(15);
      running--;
    })));
    expect(peak).toBe(3);
  });

  it('spaces starts 1/ratePerSecond apart', async () => {
    const limiter = createRateLimiter({ ratePerSecond: 20, concurrency: 10 });
    const starts: number[] = [];
    await Promise.all(Array.from({ length: 6 }, () => limiter.run(async () => { starts.push(Date.now()); })));
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(45); // 50 ms, minus timer rounding
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(240);
  });

  it('holds new starts back after slowDown', async () => {
    const limiter = createRateLimiter({ ratePerSecond: 1000, concurrency: 4 });
    await limiter.run(async () => {});
    const asked = Date.now();
    limiter.slowDown(120);
    await limiter.run(async () => {});
    expect(Date.now() - asked).toBeGreaterThanOrEqual(115);
  });

  it('passes results and errors through and frees the slot after a failure', async () => {
    const limiter = createRateLimiter({ ratePerSecond: 1000, concurrency: 1 });
    await expect(limiter.run(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    await expect(limiter.run(() => { throw new Error('sync boom'); })).rejects.toThrow('sync boom');
    await expect(limiter.run(async () => 42)).resolves.toBe(42);
  });
});

describe('createRateLimiter: the per-second ceiling (issue 12)', () => {
  it('never starts more than ratePerSecond calls in any one-second window, yet keeps close to that rate', async () => {
    const limiter = createRateLimiter({ ratePerSecond: 10, concurrency: 8 });
    const starts: number[] = [];
    await Promise.all(Array.from({ length: 25 }, () => limiter.run(async () => {
      starts.push(Date.now());
      await pause(30);
    })));
    const most = Math.max(...starts.map((at) => starts.filter((s) => s >= at && s < at + 1000).length));
    expect(most).toBeLessThanOrEqual(10);
    expect(most).toBeGreaterThanOrEqual(9);
  });
});
