import { describe, expect, it } from 'vitest';
import { createAdaptiveConcurrency } from '../../server/net/adaptive-concurrency.ts';

describe('adaptive LLM concurrency (AIMD, issue 12)', () => {
  it('halves on throttling once per round of calls, and grows back by one per limit of successes up to the maximum', async () => {
    const gate = createAdaptiveConcurrency({ max: 8 });
    const round = await Promise.all(Array.from({ length: 8 }, () => gate.acquire()));
    expect(gate.inFlight).toBe(8);
    round.forEach((place) => place.throttled(null)); // eight 429s of one round: one cut
    expect(gate.limit).toBe(4);
    for (let i = 0; i < 4; i++) (await gate.acquire()).succeeded();
    expect(gate.limit).toBe(5);
    for (let i = 0; i < 100; i++) (await gate.acquire()).succeeded();
    expect(gate.limit).toBe(8);
  });

  it('never goes below one, and holds every start back for the Retry-After', async () => {
    const gate = createAdaptiveConcurrency({ max: 2 });
    for (let i = 0; i < 3; i++) (await gate.acquire()).throttled(null);
    expect(gate.limit).toBe(1);
    (await gate.acquire()).throttled(150);
    const asked = Date.now();
    (await gate.acquire(true)).release();
    expect(Date.now() - asked).toBeGreaterThanOrEqual(145);
  });
});
