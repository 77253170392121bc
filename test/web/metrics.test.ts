// GET /metrics: Prometheus text after a real pass on both simulators (real database, real HTTP), and
// the API_TOKEN guard /api/* uses. Counters live in one registry per process; vitest gives this file
// its own, so what is counted here comes from this file's passes alone.
import Fastify, { type FastifyInstance } from 'fastify';
import { openDatabase } from '../../server/db/client.ts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../server/metrics.ts';
import { createScheduler } from '../../server/scheduler/scheduler.ts';
import { pauseScheduler, resumeScheduler } from '../../server/scheduler/scheduler-switch.ts';
import { accessOperations } from '../../server/operations/access-operations.ts';
import { metricsRoutes } from '../../server/web/routes/metrics.ts';
import { arrangeLeads, crmAgo } from '../dashboard/fixtures.ts';
import { givenLeads, givenTask, followsOf } from '../helpers/builders.ts';
import { startPipelineHarness, type PipelineHarness } from '../helpers/pipeline.ts';
import { log } from '../helpers/web-app.ts';

let h: PipelineHarness;
let app: FastifyInstance | undefined;
const PHONES = ['13900000001', '13900000002', '13900000003', '13900000004'];

beforeAll(async () => {
  h = await startPipelineHarness();
});
afterAll(async () => h?.close());
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function metricsApp(apiToken: string | undefined): Promise<FastifyInstance> {
  app = Fastify();
  const deps = h.deps();
  await app.register(metricsRoutes, { db: h.database.db, config: h.config, access: accessOperations({ pipeline: { db: deps.db, config: { ...deps.config, apiToken } } }) });
  return app;
}

async function scrape(): Promise<string> {
  return (await (await metricsApp(undefined)).inject({ method: 'GET', url: '/metrics' })).body;
}

/** The samples of one metric whose labels include `labels`, summed. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => present[k] === v)) {
      total += Number(match[3]);
      found = true;
    }
  }
  return found ? total : Number.NaN;
}

describe('GET /metrics', () => {
  it('counts a real pass: passes, task runs, step durations, API requests, their durations and errors, LLM requests, follow records by interest', async () => {
    const { db } = h.database;
    const group = h.sim.createJobGroup('指标测试');
    const taskId = await givenTask(db, { name: '指标测试', jobGroupId: group });
    await givenLeads(db, taskId, PHONES.map((phone) => ({ phone })));
    const jobIds = h.sim.assignJobs(group, PHONES.map((phone) => ({ phone })));
    h.sim.finishJob(jobIds[0]!, { status: 'Succeeded', kind: 'interested' });
    h.sim.finishJob(jobIds[1]!, { status: 'Succeeded', kind: 'not-interested' });
    h.sim.finishJob(jobIds[2]!, { status: 'Failed', failureReason: 'NoAnswer', taskStatus: 'NoAnswer' });
    h.sim.finishJob(jobIds[3]!, { status: 'Succeeded', kind: 'unclear' });
    h.sim.failNext('throttle', { action: 'ListJobs', delayMs: 10 }); // retried inside the call
    h.llm.failNext('server-error'); // retried too

    expect(sample(await scrape(), 'autofollow_last_successful_pass_timestamp_seconds')).toBe(0);
    const scheduler = createScheduler({ deps: h.deps(), log, cron: '0 0 1 1 *', timeZone: 'UTC' });
    const before = Date.now() / 1000;
    try {
      const passed = await scheduler.runNow('dashboard');
      expect(passed.processed).toBe(1);
    } finally {
      await scheduler.stop();
    }
    const created = (await followsOf(db)).length;
    expect(created).toBe(4);

    const response = await (await metricsApp(undefined)).inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe(registry.contentType);
    const text = response.body;

    expect(sample(text, 'autofollow_passes_total', { trigger: 'dashboard', result: 'ok' })).toBe(1);
    expect(sample(text, 'autofollow_passes_total', { result: 'failed' })).toBeNaN(); // no failed pass was counted
    expect(sample(text, 'autofollow_task_runs_total', { outcome: 'ok' })).toBe(1);
    expect(sample(text, 'autofollow_follow_records_created_total')).toBe(created);
    // interested -> 1, not interested -> 2, unclear and the failed call -> 0
    expect(sample(text, 'autofollow_follow_records_created_total', { interest: '1' })).toBe(1);
    expect(sample(text, 'autofollow_follow_records_created_total', { interest: '2' })).toBe(1);
    expect(sample(text, 'autofollow_follow_records_created_total', { interest: '0' })).toBe(2);
    expect(sample(text, 'autofollow_last_successful_pass_timestamp_seconds')).toBeGreaterThanOrEqual(Math.floor(before));
    expect(sample(text, 'autofollow_step_duration_seconds_count', { step: 'create_leads_follow' })).toBe(1);
    expect(sample(text, 'autofollow_step_duration_seconds_count', { step: 'check_and_update_task_status' })).toBe(1);
    expect(sample(text, 'autofollow_outboundbot_api_requests_total', { action: 'ListJobsByGroup' })).toBeGreaterThan(0);
    const listJobs = sample(text, 'autofollow_outboundbot_api_requests_total', { action: 'ListJobs' });
    expect(listJobs).toBeGreaterThan(1); // the throttled attempt and its retry
    expect(sample(text, 'autofollow_outboundbot_api_request_duration_seconds_count', { action: 'ListJobs' })).toBe(listJobs);
    expect(sample(text, 'autofollow_outboundbot_api_request_duration_seconds_sum', { action: 'ListJobs' })).toBeGreaterThan(0);
    expect(sample(text, 'autofollow_outboundbot_errors_total', { action: 'ListJobs', code: 'Throttling.User' })).toBe(1);
    expect(sample(text, 'autofollow_outboundbot_errors_total', { action: 'ListJobsByGroup' })).toBeNaN();
    expect(sample(text, 'autofollow_llm_requests_total')).toBe(4); // 3 conversations + 1 retried attempt; the failed call needs none
    expect(sample(text, 'autofollow_llm_request_duration_seconds_count')).toBe(4);
    expect(sample(text, 'autofollow_llm_request_duration_seconds_bucket', { le: '+Inf' })).toBe(4);
    expect(sample(text, 'autofollow_build_info', { version: '0.1.0', nodejs: process.version })).toBe(1);
    expect(sample(text, 'autofollow_llm_errors_total', { kind: 'http_5xx' })).toBe(1);
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0); // prom-client's defaults
    expect(sample(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);

    // Bounded labels: nothing per task, per lead or per phone.
    expect(text).not.toMatch(/task_?id=/i);
    // In label values, where a phone could only come from: a sample's value may hold any digits
    // (a duration of 0.200000003 s once failed a plain substring check).
    const labelValues = [...text.matchAll(/="([^"]*)"/g)].map((m) => m[1]!).join('\n');
    for (const phone of PHONES) expect(labelValues).not.toContain(phone.slice(-8));
    expect(text).not.toContain(group);
  });

  it('counts a scheduled tick skipped while paused', async () => {
    const scheduler = createScheduler({ deps: h.deps('paused-process'), log, cron: '* * * * * *', timeZone: 'UTC', heartbeatMs: 60_000 });
    await pauseScheduler(h.database.db, 'alice');
    try {
      scheduler.start();
      const paused = async () => sample((await (await metricsApp(undefined)).inject({ method: 'GET', url: '/metrics' })).body, 'autofollow_passes_total', { trigger: 'schedule', result: 'paused' });
      await expect.poll(paused, { timeout: 4000, interval: 100 }).toBeGreaterThanOrEqual(1);
      expect(sample(await registry.metrics(), 'autofollow_passes_total', { trigger: 'schedule', result: 'ok' })).toBeNaN();
    } finally {
      await scheduler.stop();
      await resumeScheduler(h.database.db, 'alice');
    }
  });

  it('reads tasks by stage, stuck leads by cause, the pause switch and dead deliveries from the database at each scrape', async () => {
    const { db } = h.database;
    await h.database.reset();
    const calling = await givenTask(db, { name: '卡住', taskType: 2, jobGroupId: 'g-stuck' });
    await givenTask(db, { taskType: 1 });
    await givenTask(db, { taskType: 4 });
    await arrangeLeads(db, calling, [
      { phone: '13700000001', callJobId: 'j-1', callStatus: 'Succeeded', follow: { remark: '基础记录' }, state: { analysisStatus: 'failed' } },
      { phone: '13700000002', callJobId: 'j-2', callStatus: 'Succeeded', follow: { remark: '基础记录' }, state: { analysisStatus: 'failed' } },
      { phone: '13700000003', callJobId: null, updatedTime: crmAgo(60), state: { notInGroupSince: new Date() } },
    ]);

    let text = await scrape();
    expect(sample(text, 'autofollow_tasks', { stage: '1' })).toBe(1);
    expect(sample(text, 'autofollow_tasks', { stage: '2' })).toBe(1);
    expect(sample(text, 'autofollow_tasks', { stage: '3' })).toBe(0);
    expect(sample(text, 'autofollow_tasks', { stage: '4' })).toBe(1);
    expect(sample(text, 'autofollow_stuck_leads', { cause: 'analysis-failed' })).toBe(2);
    expect(sample(text, 'autofollow_stuck_leads', { cause: 'not-in-group' })).toBe(1);
    expect(sample(text, 'autofollow_stuck_leads', { cause: 'api-errors' })).toBe(0); // every cause has a series, so sum() never goes empty
    expect(sample(text, 'autofollow_scheduler_paused')).toBe(0);
    expect(sample(text, 'autofollow_dead_deliveries', { channel: 'dingtalk' })).toBe(0); // every channel has a series

    // Two messages to DingTalk and one to the webhook ran out of retries; a sent one and a pending one do not count.
    await h.database.pool.query(
      `INSERT INTO af_deliveries (hot_lead_id, channel, state, attempts, next_attempt_at, created_at) VALUES
         (1, 'dingtalk', 'dead', 6, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)), (2, 'dingtalk', 'dead', 6, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)),
         (1, 'webhook', 'dead', 6, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)), (3, 'dingtalk', 'sent', 1, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)),
         (4, 'dingtalk', 'pending', 2, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))`,
    );
    text = await scrape();
    expect(sample(text, 'autofollow_dead_deliveries', { channel: 'dingtalk' })).toBe(2);
    expect(sample(text, 'autofollow_dead_deliveries', { channel: 'webhook' })).toBe(1);
    expect(sample(text, 'autofollow_dead_deliveries', { channel: 'wecom' })).toBe(0);

    await pauseScheduler(db, 'alice');
    try {
      text = await scrape();
      expect(sample(text, 'autofollow_scheduler_paused')).toBe(1);
    } finally {
      await resumeScheduler(db, 'alice');
    }
    await h.database.reset();
    text = await scrape();
    expect(sample(text, 'autofollow_tasks', { stage: '2' })).toBe(0);
    expect(sample(text, 'autofollow_stuck_leads', { cause: 'analysis-failed' })).toBe(0);
  });

  it('leaves the database gauges out, and still answers, when the database does not', async () => {
    const unreachableUrl = 'mysql://root@127.0.0.1:1/nowhere';
    const unreachable = openDatabase(unreachableUrl, { connectionLimit: 1 });
    try {
      app = Fastify();
      const deps = h.deps();
      await app.register(metricsRoutes, { db: unreachable.db, config: h.config, access: accessOperations({ pipeline: { db: deps.db, config: { ...deps.config, apiToken: undefined } } }) });
      const response = await app.inject({ method: 'GET', url: '/metrics' });
      expect(response.statusCode).toBe(200);
      expect(sample(response.body, 'autofollow_tasks')).toBeNaN();
      expect(sample(response.body, 'autofollow_stuck_leads')).toBeNaN();
      expect(sample(response.body, 'autofollow_dead_deliveries')).toBeNaN();
      expect(sample(response.body, 'autofollow_build_info')).toBe(1);
    } finally {
      await unreachable.close().catch(() => undefined); // ends with the refused connection's error
    }
  });

  it('needs the API token as a bearer token when one is set', async () => {
    const server = await metricsApp('s3cret-token');
    const without = await server.inject({ method: 'GET', url: '/metrics' });
    expect(without.statusCode).toBe(401);
    expect(without.headers['www-authenticate']).toBe('Bearer realm="autofollow"');
    expect(without.body).not.toContain('autofollow_passes_total');
    const wrong = await server.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer s3cret-tokem' } });
    expect(wrong.statusCode).toBe(401);
    const right = await server.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer s3cret-token' } });
    expect(right.statusCode).toBe(200);
    expect(right.body).toContain('# TYPE autofollow_passes_total counter');
  });

  it('is open when no token is set', async () => {
    const response = await (await metricsApp(undefined)).inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
  });
});
