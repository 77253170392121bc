// /api/* (DESIGN §4): what the CRM calls after assigning a task's jobs, and the diagnose JSON.
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { taskLeases, taskRuns } from '../../server/db/schema/app.ts';
import { callTasks, leadsTaskList } from '../../server/db/schema/crm.ts';
import { useTestDatabase } from '../helpers/database.ts';
import { appOver } from '../helpers/web-app.ts';

const db = useTestDatabase();
let app: FastifyInstance | undefined;
let started: number[];

beforeEach(async () => {
  started = [];
});
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** The app with a recording starter: the route's job ends at handing the task over. */
async function recordingApp(env: Record<string, string> = {}, accept = true): Promise<FastifyInstance> {
  app = await appOver(db, { env, startTaskProcessing: (taskId) => (started.push(taskId), accept) });
  return app;
}

async function givenTask(taskType = 2): Promise<number> {
  const [task] = await db.db.insert(callTasks).values({ taskName: 'API 测试', taskType, jobGroupId: 'jg-api-1' }).$returningId();
  await db.db.insert(leadsTaskList).values({ taskId: task!.id, leadsId: 7, leadsName: '赵六', leadsPhone: '13600000007' });
  return task!.id;
}

async function givenLease(taskId: number, owner: string, secondsFromNow: number): Promise<void> {
  await db.db.insert(taskLeases).values({
    taskId,
    owner,
    acquiredAt: sql`UTC_TIMESTAMP(3) - INTERVAL 1 SECOND`,
    renewedAt: sql`UTC_TIMESTAMP(3)`,
    expiresAt: sql`UTC_TIMESTAMP(3) + INTERVAL ${secondsFromNow} SECOND`,
  });
}

describe('POST /api/tasks/:id/process', () => {
  it('answers 202 and hands the task to background processing', async () => {
    const taskId = await givenTask();
    const response = await (await recordingApp()).inject({ method: 'POST', url: `/api/tasks/${taskId}/process` });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ taskId, accepted: true });
    expect(started).toEqual([taskId]);
  });

  it('accepts an empty body sent as application/json', async () => {
    const taskId = await givenTask();
    const response = await (await recordingApp()).inject({ method: 'POST', url: `/api/tasks/${taskId}/process`, headers: { 'content-type': 'application/json' } });
    expect(response.statusCode).toBe(202);
  });

  it('answers 404 for a task that does not exist and starts nothing', async () => {
    const response = await (await recordingApp()).inject({ method: 'POST', url: '/api/tasks/999/process' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error: 'task 999 does not exist', reason: 'not-found' });
    expect(started).toEqual([]);
  });

  it.each(['abc', '-1', '1.5', '0', '99999999999'])('answers 400 for the invalid id %s', async (id) => {
    const response = await (await recordingApp()).inject({ method: 'POST', url: `/api/tasks/${id}/process` });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: `task id must be a positive whole number, got "${id}"` });
    expect(started).toEqual([]);
  });

  it('answers 202 "already-running" naming the owner when another live process holds the lease (DESIGN §4)', async () => {
    const taskId = await givenTask();
    await givenLease(taskId, 'worker-b:4242:beef', 120);
    const response = await (await recordingApp()).inject({ method: 'POST', url: `/api/tasks/${taskId}/process` });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ taskId, status: 'already-running', owner: 'worker-b:4242:beef' });
    expect(started).toEqual([]);
  });

  it('starts a task whose lease has expired (its owner crashed)', async () => {
    const taskId = await givenTask();
    await givenLease(taskId, 'crashed:1:dead', -5);
    const response = await (await recordingApp()).inject({ method: 'POST', url: `/api/tasks/${taskId}/process` });
    expect(response.statusCode).toBe(202);
    expect(started).toEqual([taskId]);
  });

  it('answers 503 while the server is shutting down', async () => {
    const taskId = await givenTask();
    const response = await (await recordingApp({}, false)).inject({ method: 'POST', url: `/api/tasks/${taskId}/process` });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('30');
  });

  it('really runs processTask in the background by default, with trigger "api"', async () => {
    const taskId = await givenTask();
    app = await appOver(db);
    const response = await app.inject({ method: 'POST', url: `/api/tasks/${taskId}/process` });
    expect(response.statusCode).toBe(202);
    // The OutboundBot endpoint is a closed port: the run ends quickly and is recorded by the pipeline.
    await vi.waitFor(async () => {
      const runs = await db.db.select().from(taskRuns).where(sql`${taskRuns.taskId} = ${taskId}`);
      expect(runs).toEqual([expect.objectContaining({ trigger: 'api', finishedAt: expect.any(Date) })]);
    }, { timeout: 15_000, interval: 50 });
  });
});

describe('GET /api/tasks/:id/diagnose', () => {
  it('answers with the diagnose JSON, counts as numbers', async () => {
    const taskId = await givenTask();
    const response = await (await recordingApp()).inject({ method: 'GET', url: `/api/tasks/${taskId}/diagnose` });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.task).toMatchObject({ id: taskId, taskType: 2, jobGroupId: 'jg-api-1' });
    expect(body.stats).toMatchObject({ total: 1, called: 0 });
    expect(typeof body.eligible).toBe('boolean');
    // English sentences for scripts, and the same reasons as codes with their facts
    expect(body.reasons).toEqual(['1 lead not synced: no call_job_id yet']);
    expect(body.reasonCodes).toEqual([{ code: 'not-synced', count: 1, leadIds: [expect.any(Number)] }]);
  });

  it('answers 404 for a task that does not exist and 400 for a bad id', async () => {
    const api = await recordingApp();
    expect((await api.inject({ method: 'GET', url: '/api/tasks/999/diagnose' })).statusCode).toBe(404);
    expect((await api.inject({ method: 'GET', url: '/api/tasks/x1/diagnose' })).statusCode).toBe(400);
  });
});

describe('API_TOKEN', () => {
  const token = 'c0rrect-h0rse-battery';

  it.each([
    ['no Authorization header', {}],
    ['a wrong token', { authorization: 'Bearer wrong' }],
    ['another scheme', { authorization: `Basic ${token}` }],
    ['a longer token with the right prefix', { authorization: `Bearer ${token}x` }],
  ])('answers 401 to %s and starts nothing', async (_what, headers) => {
    const taskId = await givenTask();
    const response = await (await recordingApp({ API_TOKEN: token })).inject({ method: 'POST', url: `/api/tasks/${taskId}/process`, headers });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="autofollow"');
    expect(response.json().error).toMatch(/Authorization: Bearer/);
    expect(started).toEqual([]);
  });

  it('accepts the right bearer token', async () => {
    const taskId = await givenTask();
    const api = await recordingApp({ API_TOKEN: token });
    const headers = { authorization: `Bearer ${token}` };
    expect((await api.inject({ method: 'POST', url: `/api/tasks/${taskId}/process`, headers })).statusCode).toBe(202);
    expect((await api.inject({ method: 'GET', url: `/api/tasks/${taskId}/diagnose`, headers })).statusCode).toBe(200);
  });

  it('guards only /api: the health check stays open for probes', async () => {
    const response = await (await recordingApp({ API_TOKEN: token })).inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
  });
});
