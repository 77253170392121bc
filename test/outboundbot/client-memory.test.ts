// openapi-core's HTTP layer (httpx) starts a read timer per request that its body reader never
// clears: each answered request was held for the whole timeout (issue 12's peak RSS). wire.ts clears
// it once the answer is read; here the requests must be collectable as soon as their calls return.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOutboundBotSimulator, type OutboundBotSimulator } from '../../server/simulator/outboundbot.ts';
import { createTestClient } from './create-test-client.ts';

let sim: OutboundBotSimulator;

beforeAll(async () => {
  sim = await startOutboundBotSimulator();
});
afterAll(() => sim.stop());

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('answered requests are not held', () => {
  it('lets every request of a finished call be collected, with a timeout far longer than the test', async () => {
    const group = sim.createJobGroup();
    const jobIds = sim.assignJobs(group, Array.from({ length: 99 }, (_, i) => ({ phone: `1380000${String(i).padStart(4, '0')}` })));
    const { client } = createTestClient(sim, { timeoutMs: 600_000, qps: 1000, concurrency: 4 });
    const requests: Array<WeakRef<ClientRequest>> = [];
    const keep = (message: unknown) => void requests.push(new WeakRef((message as { request: ClientRequest }).request));
    subscribe('http.client.request.start', keep);
    try {
      await Promise.all(Array.from({ length: 40 }, () => client.listJobs(jobIds)));
    } finally {
      unsubscribe('http.client.request.start', keep);
    }
    expect(requests).toHaveLength(40);
    // Collection runs after the current turn: let the timers of the last answers be cleared first.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    // A keep-alive socket's parser may still point at its last request: at most one per socket.
    expect(requests.filter((r) => r.deref() !== undefined).length).toBeLessThanOrEqual(4);
  });
});
