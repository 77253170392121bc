// Task actions (issue 3 §4): POST /tasks/:id/actions/:action does what it says in the background,
// answers "started" with the fragment named by `view`, refuses a task someone is processing, and
// writes exactly one audit row; bad input, a missing CSRF token or session change nothing.
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { readAudit } from '../../server/audit-log.ts';
import { taskLeases, taskPauses } from '../../server/db/schema/app.ts';
import { findPendingTasks } from '../../server/pipeline/find-pending-tasks.ts';
import { ANALYSIS_FAILED_REMARK } from '../../server/pipeline/follow-up-remarks.ts';
import { runPass } from '../../server/pipeline/monitor.ts';
import { processTask } from '../../server/pipeline/process-task.ts';
import type { StepReport } from '../../server/pipeline/step-report.ts';
import { createScheduler, type Scheduler } from '../../server/scheduler/scheduler.ts';
import { buildApp } from '../../server/web/build-app.ts';
import { followsOf, givenLeads, givenTask, leadsOf, runsOf, stageOf, statesOf } from '../helpers/builders.ts';
import { dashboardSession, HTMX, loggedIn, type DashboardSession } from '../helpers/dashboard-session.ts';
import { usePipelineHarness } from '../helpers/pipeline.ts';
import { appOver, log } from '../helpers/web-app.ts';
import { randomPhones } from '../helpers/seeded-random.ts';

const OTHER = 'other-host:99:cafe';
const h = usePipelineHarness();
let app: FastifyInstance | undefined;
let scheduler: Scheduler | undefined;
afterEach(async () => {
  await scheduler?.stop();
  await app?.close();
  app = undefined;
  scheduler = undefined;
});

/** The dashboard over the simulators, with a scheduler the test can drain (stop() waits for background work). */
async function openDashboard(lang: 'zh' | 'en' = 'en'): Promise<DashboardSession> {
  const deps = h.deps('dashboard-host:1:aaaa');
  scheduler = createScheduler({ deps, cron: '0 0 1 1 *', timeZone: h.config.timeZone, log });
  app = await buildApp({ pipeline: deps, config: h.config, log, scheduler });
  const session = dashboardSession(app);
  session.cookies.set('af_lang', lang);
  return session;
}

/** Waits for the work the actions started, then starts nothing more. */
const drain = () => scheduler!.stop();

const db = () => h.database.db;
const audit = () => readAudit(db(), { limit: 50 });
const act = (session: DashboardSession, taskId: number | string, action: string, view = 'message') =>
  session.post(`/tasks/${taskId}/actions/${action}`, { view }, { headers: HTMX });

/** A task at stage 2 whose two calls have ended at Outbound Bot, so a run has work to do. */
async function givenCallingTask(taskType = 2) {
  const group = h.sim.createJobGroup();
  const numbers = randomPhones(2);
  const taskId = await givenTask(db(), { name: '到店邀约', taskType, jobGroupId: group });
  await givenLeads(db(), taskId, numbers.map((phone) => ({ phone })));
  h.sim.assignJobs(group, numbers.map((phone) => ({ phone }))).forEach((jobId) => h.sim.finishJob(jobId, { status: 'Failed', failureReason: 'NoAnswer' }));
  return taskId;
}

async function givenLiveLease(taskId: number, owner = OTHER) {
  await db().insert(taskLeases).values({
    taskId, owner, acquiredAt: sql`UTC_TIMESTAMP(3) - INTERVAL 10 SECOND`, renewedAt: sql`UTC_TIMESTAMP(3)`, expiresAt: sql`UTC_TIMESTAMP(3) + INTERVAL 120 SECOND`,
  });
}

async function leaseOwner(taskId: number): Promise<string | null> {
  const [rows] = (await h.database.pool.query('SELECT owner FROM af_task_leases WHERE task_id = ?', [taskId])) as unknown as [Array<{ owner: string | null }>];
  return rows[0]?.owner ?? null;
}

describe('process now', () => {
  it('runs the task in the background with trigger "dashboard", answers "started" with the card, and audits it once', async () => {
    const taskId = await givenCallingTask();
    const session = await openDashboard();

    const answer = await act(session, taskId, 'process', 'card');

    expect(answer.statusCode).toBe(200);
    expect(answer.body.trimStart()).toMatch(new RegExp(`^<section id="task-card-${taskId}"`));
    expect(answer.body).toContain(`Started processing task ${taskId}; the progress refreshes by itself.`);
    expect(answer.body).toContain('data-outcome="ok"');
    await drain();
    const runs = await runsOf(db(), taskId);
    expect(runs).toEqual([expect.objectContaining({ trigger: 'dashboard', owner: 'dashboard-host:1:aaaa', finishedAt: expect.any(Date) })]);
    expect((await leadsOf(db(), taskId)).map((l) => l.callStatus)).toEqual(['Failed', 'Failed']);
    expect(await audit()).toEqual([
      expect.objectContaining({ actor: 'local', action: 'process', taskId, leadRowId: null, outcome: 'ok', detail: `process-started (id=${taskId}) via dashboard` }),
    ]);
  });

  it('refuses a task at stage 4 or without a job group, and starts nothing', async () => {
    const done = await givenTask(db(), { taskType: 4, jobGroupId: 'jg-done' });
    const noGroup = await givenTask(db(), { taskType: 2, jobGroupId: null });
    const session = await openDashboard();

    const atStage4 = await act(session, done, 'process');
    expect(atStage4.statusCode).toBe(409);
    expect(atStage4.body).toContain(`Task ${done} is at stage`);
    const withoutGroup = await act(session, noGroup, 'resync');
    expect(withoutGroup.statusCode).toBe(409);
    expect(withoutGroup.body).toContain(`Task ${noGroup} has no job group yet`);
    await drain();
    expect([...(await runsOf(db(), done)), ...(await runsOf(db(), noGroup))]).toEqual([]);
    expect((await audit()).map((a) => [a.action, a.outcome])).toEqual([['resync', 'refused'], ['process', 'refused']]);
  });
});

describe('a task someone is already processing', () => {
  it.each(['process', 'resync', 'retry-analysis'])('refuses %s while another owner holds a live lease, naming it, and starts nothing', async (action) => {
    const taskId = await givenCallingTask();
    await givenLiveLease(taskId);
    const session = await openDashboard();

    const answer = await act(session, taskId, action);

    expect(answer.statusCode).toBe(409);
    expect(answer.body).toMatch(new RegExp(`Task ${taskId} is already being processed by ${OTHER} since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d; no second run was started\\.`));
    expect(answer.body).toContain('data-outcome="refused"');
    await drain();
    expect(await runsOf(db(), taskId)).toEqual([]);
    expect(h.sim.requests).toEqual([]);
    expect(await leaseOwner(taskId)).toBe(OTHER);
    expect(await audit()).toEqual([expect.objectContaining({ action, taskId, outcome: 'refused', detail: expect.stringContaining(`refused: busy (id=${taskId}, owner=${OTHER}`) })]);
  });

  it('starts a task whose lease has expired (its owner crashed)', async () => {
    const taskId = await givenCallingTask();
    await db().insert(taskLeases).values({ taskId, owner: 'crashed:1:dead', acquiredAt: sql`UTC_TIMESTAMP(3) - INTERVAL 900 SECOND`, expiresAt: sql`UTC_TIMESTAMP(3) - INTERVAL 5 SECOND` });
    const session = await openDashboard();
    expect((await act(session, taskId, 'process')).statusCode).toBe(200);
    await drain();
    expect(await runsOf(db(), taskId)).toHaveLength(1);
  });
});

describe('re-sync job ids', () => {
  it('clears the not-in-group marks and runs only the job-id sync, recorded as a dashboard run', async () => {
    const group = h.sim.createJobGroup();
    const [called, late] = randomPhones(2);
    const taskId = await givenTask(db(), { jobGroupId: group });
    const [, lateId] = await givenLeads(db(), taskId, [{ phone: called! }, { phone: late! }]);
    h.sim.assignJobs(group, [{ phone: called! }]);
    await processTask(h.deps(), taskId, { trigger: 'cli' });
    expect((await statesOf(db(), taskId)).find((s) => s.leadRowId === lateId)?.notInGroupSince).toBeInstanceOf(Date);
    const [lateJob] = h.sim.assignJobs(group, [{ phone: late! }]);
    const session = await openDashboard();

    const answer = await act(session, taskId, 'resync', 'row');

    expect(answer.statusCode).toBe(200);
    expect(answer.body.trimStart()).toMatch(new RegExp(`^<tr id="task-row-${taskId}"`));
    expect(answer.body).toContain(`Started re-syncing the job ids of task ${taskId}`);
    await drain();
    expect((await leadsOf(db(), taskId)).find((l) => l.id === lateId)?.callJobId).toBe(lateJob);
    const run = (await runsOf(db(), taskId)).at(-1)!;
    expect(run.trigger).toBe('dashboard');
    expect((JSON.parse(run.steps!) as StepReport[]).map((s) => s.step)).toEqual(['sync_call_job_ids', 'check_and_update_task_status']);
    expect(await audit()).toEqual([expect.objectContaining({ action: 'resync', taskId, outcome: 'ok' })]);
  });
});

describe('retry the failed analyses', () => {
  it('rewrites the same follow records in the background; a second click finds nothing to retry', async () => {
    const group = h.sim.createJobGroup();
    const numbers = randomPhones(2);
    const taskId = await givenTask(db(), { jobGroupId: group });
    await givenLeads(db(), taskId, numbers.map((phone) => ({ phone })));
    h.sim.assignJobs(group, numbers.map((phone) => ({ phone }))).forEach((jobId) => h.sim.finishJob(jobId, { status: 'Succeeded', kind: 'interested' }));
    h.llm.failNext('invalid-answer', { times: 2 });
    await processTask(h.deps(), taskId, { trigger: 'cli' });
    expect((await statesOf(db(), taskId)).map((s) => s.analysisStatus)).toEqual(['failed', 'failed']);
    const followsBefore = await followsOf(db());
    expect(followsBefore.map((f) => f.leadsRemark)).toEqual([ANALYSIS_FAILED_REMARK, ANALYSIS_FAILED_REMARK]);
    const session = await openDashboard();

    const answer = await act(session, taskId, 'retry-analysis', 'row');

    expect(answer.statusCode).toBe(200);
    expect(answer.body).toContain(`Started analysing the 2 leads of task ${taskId} whose analysis failed`);
    // The sentence goes to the overview's message slot, which the table's polling does not replace.
    expect(answer.body).toContain('<template hx type="partial" hx-target="#overview-message"');
    await drain();
    const followsAfter = await followsOf(db());
    expect(followsAfter.map((f) => f.id)).toEqual(followsBefore.map((f) => f.id));
    expect(followsAfter.map((f) => f.leadsRemark)).not.toContain(ANALYSIS_FAILED_REMARK);
    expect((await statesOf(db(), taskId)).map((s) => s.analysisStatus)).toEqual(['ok', 'ok']);
    expect((await leadsOf(db(), taskId)).map((l) => l.isInterested)).toEqual([1, 1]);

    const again = await act(await openDashboard(), taskId, 'retry-analysis');
    expect(again.statusCode).toBe(409);
    expect(again.body).toContain(`Task ${taskId} has no lead whose analysis failed; nothing to retry.`);
    expect((await audit()).map((a) => a.outcome)).toEqual(['refused', 'ok']);
    expect(await stageOf(db(), taskId)).toBe(4);
  });
});

describe('break a lease', () => {
  it("frees a lease another owner holds; a second click finds nothing to break", async () => {
    const taskId = await givenCallingTask();
    await givenLiveLease(taskId);
    const session = await openDashboard();

    const answer = await act(session, taskId, 'break-lease', 'card');
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toContain(`Broke the lease ${OTHER} held on task ${taskId}`);
    expect(await leaseOwner(taskId)).toBeNull();
    // The card now offers "process now" again (no live lease).
    expect(answer.body).toMatch(/data-action="process">/);

    const again = await act(session, taskId, 'break-lease', 'card');
    expect(again.statusCode).toBe(409);
    expect(again.body).toContain(`Task ${taskId} holds no lease; nothing to break.`);
    await drain();
    expect(await runsOf(db(), taskId)).toEqual([]);
    expect((await audit()).map((a) => [a.action, a.outcome])).toEqual([['break-lease', 'refused'], ['break-lease', 'ok']]);
  });
});

describe('break a lease the operator saw', () => {
  it('leaves alone a lease another process took over since the page showed it, from the card and from /stuck', async () => {
    const taskId = await givenCallingTask();
    await givenLiveLease(taskId, 'host-dead:1');
    await db().update(taskLeases).set({ expiresAt: sql`UTC_TIMESTAMP(3) - INTERVAL 60 SECOND` }); // its process died
    const session = await openDashboard();
    const card = await session.get(`/tasks/${taskId}`);
    const stuck = await session.get('/stuck');
    // Every break-lease form names the owner the operator is looking at.
    expect(card.body).toMatch(/name="owner" value="host-dead:1"[\s\S]*?data-action="break-lease"/);
    expect(stuck.body).toMatch(/name="owner" value="host-dead:1"[\s\S]*?name="view" value="message"/);

    // Meanwhile the next pass of another copy takes the expired lease over and is working.
    await db().delete(taskLeases);
    await givenLiveLease(taskId, OTHER);
    for (const view of ['card', 'message']) {
      const answer = await session.post(`/tasks/${taskId}/actions/break-lease`, { view, owner: 'host-dead:1' }, { headers: HTMX });
      expect(answer.statusCode).toBe(409);
      expect(answer.body).toContain(`Task ${taskId} is now held by ${OTHER}, not host-dead:1; nothing was broken.`);
      expect(await leaseOwner(taskId)).toBe(OTHER);
    }
    // The owner the operator saw is still the holder: broken.
    const answer = await session.post(`/tasks/${taskId}/actions/break-lease`, { view: 'card', owner: OTHER }, { headers: HTMX });
    expect(answer.statusCode).toBe(200);
    expect(await leaseOwner(taskId)).toBeNull();
    expect((await audit()).map((a) => a.outcome)).toEqual(['ok', 'refused', 'refused']);
  });
});

describe('pause and resume a task', () => {
  it('keeps a paused task out of the next pass and refuses "process now" until it is resumed', async () => {
    const taskId = await givenCallingTask();
    const session = await openDashboard();

    const paused = await act(session, taskId, 'pause', 'row');
    expect(paused.statusCode).toBe(200);
    expect(paused.body).toContain(`Task ${taskId} is paused; passes skip it until it is resumed.`);
    expect(paused.body).toContain('data-action="resume"');
    expect(await db().select().from(taskPauses)).toEqual([expect.objectContaining({ taskId, pausedBy: 'local' })]);
    expect(await findPendingTasks(db())).toEqual([]);
    const pass = await runPass(h.deps(), { trigger: 'cli' });
    expect(pass.pending).toBe(0);
    expect(await runsOf(db(), taskId)).toEqual([]);

    const refused = await act(session, taskId, 'process');
    expect(refused.statusCode).toBe(409);
    expect(refused.body).toMatch(new RegExp(`Task ${taskId} is paused \\(by local since [^)]+\\); resume it first\\.`));
    const twice = await act(session, taskId, 'pause');
    expect(twice.statusCode).toBe(409);
    expect(twice.body).toContain(`Task ${taskId} is already paused (by local since`);

    const resumed = await act(session, taskId, 'resume', 'card');
    expect(resumed.statusCode).toBe(200);
    expect(resumed.body).toContain(`Task ${taskId} is resumed; the next pass takes it up.`);
    expect(await db().select().from(taskPauses)).toEqual([]);
    expect((await findPendingTasks(db())).map((t) => t.id)).toEqual([taskId]);
    const notPaused = await act(session, taskId, 'resume');
    expect(notPaused.statusCode).toBe(409);
    expect(notPaused.body).toContain(`Task ${taskId} is not paused.`);

    await drain();
    expect(await runsOf(db(), taskId)).toEqual([]);
    expect((await audit()).map((a) => [a.action, a.outcome]).reverse()).toEqual([
      ['pause', 'ok'], ['process', 'refused'], ['pause', 'refused'], ['resume', 'ok'], ['resume', 'refused'],
    ]);
  });

  it('says that a run under way finishes first when the task is paused while leased', async () => {
    const taskId = await givenCallingTask();
    await givenLiveLease(taskId);
    const answer = await act(await openDashboard(), taskId, 'pause');
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toContain(`the run ${OTHER} has under way finishes first`);
  });
});

describe('the answer', () => {
  it('is the fragment named by view, and a small page for a plain form post', async () => {
    const taskId = await givenCallingTask();
    const session = await openDashboard();

    const card = await act(session, taskId, 'pause', 'card');
    expect(card.body.trimStart()).toMatch(new RegExp(`^<section id="task-card-${taskId}" class="card task-card">`));
    expect(card.body).toContain(`hx-get="/tasks/${taskId}/card" hx-trigger="poll"`);
    expect(card.body).not.toContain('<html');

    const row = await act(session, taskId, 'resume', 'row');
    expect(row.body.trimStart()).toMatch(new RegExp(`^<tr id="task-row-${taskId}"`));
    expect(row.body).not.toContain('<section');

    const message = await act(session, taskId, 'pause', 'message');
    expect(message.body.trim()).toBe(`<div class="alert ok action-message" role="status" data-outcome="ok">Task ${taskId} is paused; passes skip it until it is resumed.</div>`);

    const plain = await session.post(`/tasks/${taskId}/actions/resume`, { view: 'card' });
    expect(plain.statusCode).toBe(200);
    expect(plain.body).toContain('<!doctype html>');
    expect(plain.body).toContain(`Task ${taskId} is resumed`);
    expect(plain.body).toContain(`href="/tasks/${taskId}"`);
  });

  it('says the action failed, and audits it as failed, when the database refuses the write', async () => {
    const taskId = await givenCallingTask();
    // A real failure of the real database: the pause INSERT is rejected, every read still works.
    await h.database.pool.query("CREATE TRIGGER af_test_no_pauses BEFORE INSERT ON af_task_pauses FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pauses are read-only today'");
    try {
      const answer = await act(await openDashboard(), taskId, 'pause', 'card');
      expect(answer.statusCode).toBe(500);
      expect(answer.body).toContain('data-outcome="failed"');
      expect(answer.body).toContain('The action failed: pauses are read-only today');
      expect(answer.body).toMatch(new RegExp(`^\\s*<section id="task-card-${taskId}"`));
      expect(await db().select().from(taskPauses)).toEqual([]);
      expect(await audit()).toEqual([expect.objectContaining({ action: 'pause', outcome: 'failed', detail: 'failed (error=pauses are read-only today) via dashboard' })]);
    } finally {
      await h.database.pool.query('DROP TRIGGER af_test_no_pauses');
    }
  });

  it('is in Chinese by default', async () => {
    const taskId = await givenCallingTask();
    const answer = await act(await openDashboard('zh'), taskId, 'pause');
    expect(answer.body).toContain(`任务 ${taskId} 已暂停，之后的轮询会跳过它，直到恢复。`);
  });
});

describe('GET /tasks/:id/card', () => {
  it('answers the card fragment for polling, 404 for an unknown task, 400 for a bad id', async () => {
    const taskId = await givenCallingTask();
    const session = await openDashboard();
    const card = await session.get(`/tasks/${taskId}/card`, HTMX);
    expect(card.statusCode).toBe(200);
    expect(card.body).toContain(`<div id="task-card-${taskId}-body" hx-get="/tasks/${taskId}/card" hx-trigger="poll" hx-select="#task-card-${taskId}-body"`);
    expect(card.body).toContain('到店邀约');
    expect(card.body).not.toContain('<html');
    expect((await session.get('/tasks/99999/card', HTMX)).statusCode).toBe(404);
    expect((await session.get('/tasks/abc/card', HTMX)).statusCode).toBe(400);
  });
});

describe('bad input, CSRF and login', () => {
  it.each([
    ['an unknown action', (id: number) => [`/tasks/${id}/actions/explode`, { view: 'card' }], 404],
    ['a bad task id', () => ['/tasks/abc/actions/pause', { view: 'card' }], 400],
    ['an id out of range', () => ['/tasks/99999999999/actions/pause', { view: 'card' }], 400],
    ['an unknown task', () => ['/tasks/99999/actions/pause', { view: 'card' }], 404],
    ['a bad view', (id: number) => [`/tasks/${id}/actions/pause`, { view: 'table' }], 400],
    ['no view', (id: number) => [`/tasks/${id}/actions/pause`, {}], 400],
  ] as const)('answers %s with a 4xx, changes nothing and audits nothing', async (_what, request, status) => {
    const taskId = await givenCallingTask();
    await givenLiveLease(taskId);
    const session = await openDashboard();
    const [url, form] = request(taskId) as [string, Record<string, string>];

    const answer = await session.post(url, form, { headers: HTMX });
    expect(answer.statusCode).toBe(status);
    expect(answer.body).toContain('class="alert error"');
    await drain();
    expect(await db().select().from(taskPauses)).toEqual([]);
    expect(await leaseOwner(taskId)).toBe(OTHER);
    expect(await audit()).toEqual([]);
  });

  it('refuses a POST without the CSRF token (403): nothing changed, no audit row', async () => {
    const taskId = await givenCallingTask();
    const session = await openDashboard();
    await session.get('/'); // has the CSRF cookie, but sends no token
    const answer = await session.post(`/tasks/${taskId}/actions/pause`, { view: 'card' }, { csrf: false, headers: HTMX });
    expect(answer.statusCode).toBe(403);
    const forged = await session.post(`/tasks/${taskId}/actions/pause`, { view: 'card' }, { csrf: false, headers: { ...HTMX, 'x-csrf-token': 'forged' } });
    expect(forged.statusCode).toBe(403);
    expect(await db().select().from(taskPauses)).toEqual([]);
    expect(await audit()).toEqual([]);
  });

  it('answers 401 to a POST without a session, and records the logged-in operator as the actor', async () => {
    const taskId = await givenCallingTask();
    app = await appOver(h.database, { env: { DASHBOARD_PASSWORD: 'open sesame' } });
    const anonymous = await dashboardSession(app).post(`/tasks/${taskId}/actions/pause`, { view: 'card' }, { csrf: false, headers: HTMX });
    expect(anonymous.statusCode).toBe(401);
    expect(await db().select().from(taskPauses)).toEqual([]);
    expect(await audit()).toEqual([]);

    const session = await loggedIn(app, 'open sesame', 'Wang Fang');
    const answer = await session.post(`/tasks/${taskId}/actions/pause`, { view: 'message' }, { headers: HTMX });
    expect(answer.statusCode).toBe(200);
    expect(await db().select().from(taskPauses)).toEqual([expect.objectContaining({ taskId, pausedBy: 'Wang Fang' })]);
    expect((await audit()).filter((a) => a.action === 'pause')).toEqual([expect.objectContaining({ actor: 'Wang Fang', outcome: 'ok' })]);
  });
});
