import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BusinessError, RetriesExhaustedError } from '../../server/outboundbot/errors.ts';
import { startOutboundBotSimulator, type OutboundBotSimulator } from '../../server/simulator/outboundbot.ts';
import type { FaultName } from '../../server/simulator/faults.ts';
import { createTestClient } from './create-test-client.ts';
import { until } from '../helpers/until.ts';

let sim: OutboundBotSimulator;
let group: string;
let jobId: string;

beforeAll(async () => {
  sim = await startOutboundBotSimulator();
  group = sim.createJobGroup();
  [jobId] = sim.assignJobs(group, [{ phone: '13800138000' }]) as [string];
  sim.finishJob(jobId, { status: 'Succeeded', kind: 'interested' });
});
afterAll(() => sim.stop());
beforeEach(() => sim.resetRequests());

const failure = (promise: Promise<unknown>) => promise.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e);

describe('transient failures are retried inside the call', () => {
  it('retries a throttling answer after the hinted delay, slows down, and succeeds', async () => {
    const { client, logs } = createTestClient(sim); // maxMs 100: only the hint can explain a 250 ms wait
    sim.failNext('throttle', { delayMs: 250 });
    const started = Date.now();

    const page = await client.listJobsByGroup(group, 1, 10);

    expect(page.totalCount).toBe(1);
    expect(sim.requests).toHaveLength(2);
    expect(sim.requests[1]!.at - sim.requests[0]!.at).toBeGreaterThanOrEqual(240);
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    const warn = logs.find((l) => l.level === 40);
    expect(warn).toMatchObject({ action: 'ListJobsByGroup', attempt: 1, attempts: 3, code: 'Throttling.User', delayMs: 250 });
  });

  it('holds back other calls while a throttling hint runs', async () => {
    const { client, logs } = createTestClient(sim, { concurrency: 4 });
    sim.failNext('throttle', { delayMs: 300, action: 'DescribeJob' });
    const throttled = client.describeJob(jobId);
    // The retry loop logs its warning right after it slowed the limiter down for the hint.
    await until('the throttled answer to reach the retry loop', () => logs.some((l) => l.level === 40 && l.action === 'DescribeJob'));
    await client.listJobsByGroup(group, 1, 10);
    await throttled;

    const throttledAt = sim.requests[0]!.at;
    const later = sim.requests.slice(1);
    expect(later.map((r) => r.action).sort()).toEqual(['DescribeJob', 'ListJobsByGroup']);
    for (const request of later) expect(request.at - throttledAt).toBeGreaterThanOrEqual(280);
  });

  it('retries a 503 until the service answers', async () => {
    const { client } = createTestClient(sim);
    sim.failNext('server-error', { times: 2 });
    await expect(client.describeJob(jobId)).resolves.toMatchObject({ jobId, status: 'Succeeded' });
    expect(sim.requests).toHaveLength(3);
  });

  it.each<FaultName>(['html-502', 'empty-200', 'malformed-json', 'reset', 'timeout'])('retries after %s and then succeeds', async (fault) => {
    const { client, logs } = createTestClient(sim, { timeoutMs: 300 });
    sim.failNext(fault);
    const jobs = await client.listJobs([jobId]);
    expect(jobs.map((j) => j.jobId)).toEqual([jobId]);
    expect(sim.requests).toHaveLength(2);
    expect(logs.filter((l) => l.level === 40)).toHaveLength(1);
  });

  it('gives up with RetriesExhaustedError(Timeout) when every answer is slower than the timeout', async () => {
    const { client } = createTestClient(sim, { timeoutMs: 250 });
    sim.failNext('slow', { delayMs: 1500, times: 3 });
    const error = await failure(client.describeJob(jobId));
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(error).toMatchObject({ code: 'Timeout', attempts: 3 });
    expect(sim.requests).toHaveLength(3);
  });

  it.each([
    ['html-502', 'MalformedResponse'],
    ['server-error', 'ServiceUnavailable'],
    ['throttle', 'Throttling.User'],
    ['reset', 'ECONNRESET'],
  ] as Array<[FaultName, string]>)('names the last failure when %s persists', async (fault, code) => {
    const { client } = createTestClient(sim);
    sim.failNext(fault, { times: 3, delayMs: 10 });
    const error = await failure(client.listJobsByGroup(group, 1, 10));
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(error).toMatchObject({ code, attempts: 3 });
    expect(sim.requests).toHaveLength(3);
  });

  it('retries a refused connection and reports ECONNREFUSED', async () => {
    const gone = await startOutboundBotSimulator();
    await gone.stop();
    const { client } = createTestClient(gone);
    const error = await failure(client.describeJob(jobId));
    expect(error).toMatchObject({ name: 'RetriesExhaustedError', code: 'ECONNREFUSED', attempts: 3 });
  });

  it('waits for a slow answer longer than 3 s when the timeout allows it', async () => {
    // openapi-core's HTTP layer defaults both timeouts to 3 s; only setting both lifts that.
    const { client } = createTestClient(sim, { timeoutMs: 6000 });
    sim.failNext('slow', { delayMs: 4000 });
    await expect(client.describeJob(jobId)).resolves.toMatchObject({ jobId });
    expect(sim.requests).toHaveLength(1);
  }, 10_000);
});

describe('business errors are not retried', () => {
  it('surfaces a 4xx JSON error as BusinessError after exactly one request', async () => {
    const { client, logs } = createTestClient(sim);
    sim.failNext('business-error', { code: 'InvalidParameter' });
    const error = await failure(client.listJobsByGroup(group, 1, 10));
    expect(error).toBeInstanceOf(BusinessError);
    expect(error).toMatchObject({ code: 'InvalidParameter', httpStatus: 400, requestId: expect.any(String) });
    expect(sim.requests).toHaveLength(1);
    expect(logs.filter((l) => l.level === 40)).toHaveLength(0);
  });

  it('surfaces HTTP 200 with Success:false as BusinessError after exactly one request', async () => {
    const { client } = createTestClient(sim);
    sim.failNext('business-error-200', { code: 'JobGroupNotFound' });
    const error = await failure(client.listJobsByGroup(group, 1, 10));
    expect(error).toBeInstanceOf(BusinessError);
    expect(error).toMatchObject({ code: 'JobGroupNotFound', httpStatus: 200 });
    expect(sim.requests).toHaveLength(1);
  });

  it('reports an unknown job group as the service names it', async () => {
    const { client } = createTestClient(sim);
    const error = await failure(client.listJobsByGroup('00000000-0000-0000-0000-000000000000', 1, 10));
    expect(error).toMatchObject({ name: 'BusinessError', code: 'JobGroupNotFound', httpStatus: 404 });
    expect(sim.requests).toHaveLength(1);
  });

  it('reports a wrong instance id without retrying', async () => {
    const { client } = createTestClient({ ...sim, url: sim.url, instanceId: 'not-our-instance' });
    const error = await failure(client.describeJob(jobId));
    expect(error).toMatchObject({ name: 'BusinessError', code: 'InstanceNotFound' });
    expect(sim.requests).toHaveLength(1);
  });

  it('retries a throttling code even when it comes as HTTP 200 with Success:false', async () => {
    const { client } = createTestClient(sim);
    sim.failNext('business-error-200', { code: 'Throttling.Api' });
    await expect(client.describeJob(jobId)).resolves.toMatchObject({ jobId });
    expect(sim.requests).toHaveLength(2);
  });
});

describe('logging', () => {
  it('never logs the access key secret or a phone number', async () => {
    const { client, logs } = createTestClient(sim, { timeoutMs: 300 });
    sim.failNext('throttle', { delayMs: 10 });
    sim.failNext('timeout');
    await client.listJobs([jobId]);
    const text = JSON.stringify(logs);
    expect(logs.length).toBeGreaterThanOrEqual(2);
    expect(text).not.toContain(sim.accessKeySecret);
    expect(text).not.toContain('13800138000');
  });
});

