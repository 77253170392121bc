// The scheduler panel (issue 3 §5): last and next pass, the shared pause switch, every running copy's
// heartbeat, and the pause / resume / "run a pass now" actions, each audited and answered with the panel.
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { readAudit } from '../../server/audit-log.ts';
import { processes } from '../../server/db/schema/app.ts';
import { createScheduler, type Scheduler } from '../../server/scheduler/scheduler.ts';
import { pauseScheduler, readSchedulerPause } from '../../server/scheduler/scheduler-switch.ts';
import { buildApp } from '../../server/web/build-app.ts';
import { givenLeads, givenTask, runsOf } from '../helpers/builders.ts';
import { dashboardSession, HTMX, type DashboardSession } from '../helpers/dashboard-session.ts';
import { startPipelineHarness, type PipelineHarness } from '../helpers/pipeline.ts';
import { appOver, log } from '../helpers/web-app.ts';
import { randomPhones } from '../helpers/seeded-random.ts';

let h: PipelineHarness;
let app: FastifyInstance | undefined;
const schedulers: Scheduler[] = [];

beforeAll(async () => {
  h = await startPipelineHarness();
});
afterAll(async () => h?.close());
beforeEach(async () => {
  await h.database.reset();
});
afterEach(async () => {
  await Promise.all(schedulers.splice(0).map((s) => s.stop()));
  await app?.close();
  app = undefined;
});

const db = () => h.database.db;
const audit = () => readAudit(db(), { limit: 50 });
const NEVER = '0 0 1 1 *';

function scheduler(owner: string, cron = NEVER): Scheduler {
  const s = createScheduler({ deps: h.deps(owner), cron, timeZone: h.config.timeZone, log, heartbeatMs: 200 });
  schedulers.push(s);
  return s;
}

/** The dashboard of the process "web:1", whose scheduler is `own` (started or not). */
async function openDashboard(own = scheduler('web:1')): Promise<DashboardSession> {
  app = await buildApp({ pipeline: h.deps('web:1'), config: h.config, log, scheduler: own });
  const session = dashboardSession(app);
  session.cookies.set('af_lang', 'en');
  return session;
}

const panel = (session: DashboardSession) => session.get('/scheduler/panel', HTMX);

describe('GET /scheduler/panel', () => {
  it('lists each live process with its heartbeat, marks this one, and drops one that stopped', async () => {
    const own = scheduler('web:1', '0 0 * * *');
    own.start();
    const other = scheduler('worker:2');
    other.start();
    const session = await openDashboard(own);
    await vi.waitFor(async () => expect(await db().select().from(processes)).toHaveLength(2), { timeout: 5000, interval: 50 });

    const answer = await panel(session);
    expect(answer.statusCode).toBe(200);
    expect(answer.body.trimStart()).toMatch(/^<section id="scheduler-panel"/);
    expect(answer.body).toContain('hx-get="/scheduler/panel" hx-trigger="poll" hx-select="#scheduler-panel-body"');
    expect(answer.body).not.toContain('<html');
    expect(answer.body).toMatch(/<tr class="process alive" data-owner="web:1">[\s\S]*?this process/);
    expect(answer.body).toContain('<tr class="process alive" data-owner="worker:2">');
    expect(answer.body).toContain('data-scheduler="running"');
    // The next pass of "0 0 * * *" in the CRM zone: midnight there.
    expect(answer.body).toMatch(/Next pass<\/dt>\s*<dd><span title="\d{4}-\d\d-\d\d 00:00:00">/);

    await other.stop();
    const after = await panel(session);
    expect(after.body).not.toContain('data-owner="worker:2"');
  });

  it('shows a process whose heartbeat stopped as silent, and says so when none reports', async () => {
    const session = await openDashboard();
    expect((await panel(session)).body).toContain('No process reports a heartbeat');
    await db().insert(processes).values({ owner: 'crashed:7', startedAt: sql`UTC_TIMESTAMP(3) - INTERVAL 2 HOUR`, heartbeatAt: sql`UTC_TIMESTAMP(3) - INTERVAL 1 HOUR` });
    const answer = await panel(session);
    expect(answer.body).toContain('<tr class="process dead" data-owner="crashed:7">');
    expect(answer.body).not.toContain('class="process alive"');
  });

  it('shows the latest pass of any process: when, how long, how many tasks', async () => {
    await db().insert(processes).values({
      owner: 'worker:3', startedAt: sql`UTC_TIMESTAMP(3) - INTERVAL 1 HOUR`, heartbeatAt: sql`UTC_TIMESTAMP(3)`,
      lastPassStartedAt: sql`UTC_TIMESTAMP(3) - INTERVAL 70 SECOND`, lastPassFinishedAt: sql`UTC_TIMESTAMP(3) - INTERVAL 67 SECOND`,
      lastPassMs: 3200, lastPassProcessed: 7,
    });
    const body = (await panel(await openDashboard())).body;
    expect(body).toMatch(/Last pass<\/dt>[\s\S]*?Duration 3\.2 s[\s\S]*?Tasks processed <span data-processed>7<\/span>[\s\S]*?worker:3/);
  });
});

describe('pause and resume the scheduler', () => {
  it('pauses for every process until resumed, audited; a second click is refused', async () => {
    const session = await openDashboard();

    const paused = await session.post('/scheduler/pause', {}, { headers: HTMX });
    expect(paused.statusCode).toBe(200);
    expect(paused.body.trimStart()).toMatch(/^<section id="scheduler-panel"/);
    expect(paused.body).toContain('The scheduler is paused: scheduled passes of every process are skipped until it is resumed.');
    expect(paused.body).toContain('data-scheduler="paused"');
    expect(paused.body).toContain('none while the scheduler is paused'); // no next pass promised while paused
    expect(paused.body).toContain('Paused by local since');
    expect(paused.body).toContain('data-action="resume"');
    expect(await readSchedulerPause(db())).toMatchObject({ pausedBy: 'local' });

    const twice = await session.post('/scheduler/pause', {}, { headers: HTMX });
    expect(twice.statusCode).toBe(409);
    expect(twice.body).toContain('The scheduler is already paused (by local since');

    const resumed = await session.post('/scheduler/resume', {}, { headers: HTMX });
    expect(resumed.statusCode).toBe(200);
    expect(resumed.body).toContain('The scheduler is resumed');
    expect(resumed.body).toContain('data-scheduler="running"');
    expect(await readSchedulerPause(db())).toBeNull();
    const notPaused = await session.post('/scheduler/resume', {}, { headers: HTMX });
    expect(notPaused.statusCode).toBe(409);
    expect(notPaused.body).toContain('The scheduler is not paused.');

    expect((await audit()).map((a) => [a.action, a.outcome, a.taskId]).reverse()).toEqual([
      ['pause-scheduler', 'ok', null], ['pause-scheduler', 'refused', null], ['resume-scheduler', 'ok', null], ['resume-scheduler', 'refused', null],
    ]);
  });

  it('refuses a POST without the CSRF token: the switch stays as it was, no audit row', async () => {
    const session = await openDashboard();
    await session.get('/');
    const answer = await session.post('/scheduler/pause', {}, { csrf: false, headers: HTMX });
    expect(answer.statusCode).toBe(403);
    expect(await readSchedulerPause(db())).toBeNull();
    expect(await audit()).toEqual([]);
  });

  it('answers 401 without a session when the dashboard has a password', async () => {
    app = await appOver(h.database, { env: { DASHBOARD_PASSWORD: 'open sesame' } });
    const answer = await dashboardSession(app).post('/scheduler/pause', {}, { csrf: false, headers: HTMX });
    expect(answer.statusCode).toBe(401);
    expect(await readSchedulerPause(db())).toBeNull();
  });
});

describe('run a pass now', () => {
  it('runs a monitor pass in the background, also while the scheduler is paused, and shows it on the panel', async () => {
    const group = h.sim.createJobGroup();
    const numbers = randomPhones(1);
    const taskId = await givenTask(db(), { jobGroupId: group });
    await givenLeads(db(), taskId, numbers.map((phone) => ({ phone })));
    h.sim.assignJobs(group, numbers.map((phone) => ({ phone })));
    await pauseScheduler(db(), 'night shift');
    const own = scheduler('web:1');
    const session = await openDashboard(own);

    const answer = await session.post('/scheduler/run-pass', {}, { headers: HTMX });
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toContain('Started a monitor pass');
    await vi.waitFor(() => expect(own.lastPass()).not.toBeNull(), { timeout: 10_000, interval: 50 });
    expect(await runsOf(db(), taskId)).toEqual([expect.objectContaining({ trigger: 'dashboard', finishedAt: expect.any(Date) })]);
    expect(await readSchedulerPause(db())).toMatchObject({ pausedBy: 'night shift' });
    expect(await audit()).toEqual([expect.objectContaining({ action: 'run-pass', outcome: 'ok', taskId: null })]);

    const body = (await panel(session)).body;
    expect(body).toMatch(/Tasks processed <span data-processed>1<\/span>/);
  });

  it('is refused while the process is shutting down', async () => {
    const own = scheduler('web:1');
    const session = await openDashboard(own);
    await own.stop();
    const answer = await session.post('/scheduler/run-pass', {}, { headers: HTMX });
    expect(answer.statusCode).toBe(503);
    expect(answer.body).toContain('autofollow is shutting down');
    expect(await audit()).toEqual([expect.objectContaining({ action: 'run-pass', outcome: 'refused' })]);
  });
});

describe('the overview page', () => {
  it('includes the scheduler panel', async () => {
    const page = await (await openDashboard()).get('/');
    expect(page.body).toContain('<section id="scheduler-panel"');
    expect(page.body).toContain('Run a pass now');
  });
});
