// 开始外呼 and 重新外呼 on the dashboard (issue 10), against the real database and the Outbound Bot
// simulator: a stage-1 task offers the launch form with the simulator's scripts and its lead count,
// the launch runs in the background to stage 2 with one job per lead and shows its progress; the
// cancelled leads of a finished task are re-called from /stuck and a lead's row; a viewer sees no
// form and a forged POST is refused.
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOperator } from '../../server/access/operators.ts';
import { readAudit } from '../../server/audit-log.ts';
import { launches } from '../../server/db/schema/app.ts';
import { callTasks } from '../../server/db/schema/crm.ts';
import { processTask } from '../../server/pipeline/process-task.ts';
import { simulatorEnv } from '../../server/simulator/simulator-env.ts';
import { givenLeads, givenTask, leadsOf, stageOf } from '../helpers/builders.ts';
import { HTMX, loggedIn, type DashboardSession } from '../helpers/dashboard-session.ts';
import { usePipelineHarness } from '../helpers/pipeline.ts';
import { appOver } from '../helpers/web-app.ts';
import { randomPhones } from '../helpers/seeded-random.ts';
import { until } from '../helpers/until.ts';

const PASSWORD = 'a long password';
const h = usePipelineHarness();
let app: FastifyInstance;
let operator: DashboardSession;
let viewer: DashboardSession;

beforeAll(async () => {
  app = await appOver(h.database, { env: { ...simulatorEnv(h.sim, h.llm), OUTBOUNDBOT_QPS: '200', OUTBOUNDBOT_TIMEOUT_MS: '2000', RETRY_BASE_MS: '10' } });
});
// Accounts and sessions live in the database, which is emptied before each test.
beforeEach(async () => {
  for (const role of ['viewer', 'operator'] as const) await createOperator(h.database.db, { login: role, displayName: role === 'operator' ? '李主管' : '访客', role, password: PASSWORD });
  [operator, viewer] = await Promise.all([loggedIn(app, PASSWORD, 'operator'), loggedIn(app, PASSWORD, 'viewer')]);
});
afterAll(async () => app?.close());

async function attemptsOf(taskId: number) {
  return h.database.db.select().from(launches).where(eq(launches.taskId, taskId));
}

async function givenStageOneTask(n: number) {
  const taskId = await givenTask(h.database.db, { name: '新车上市邀约', taskType: 1 });
  await givenLeads(h.database.db, taskId, randomPhones(n).map((phone) => ({ phone })));
  return taskId;
}

/** A task at stage 4 whose last `cancelled` calls Outbound Bot cancelled (as recall.test.ts builds it). */
async function givenFinishedTaskWithCancelledCalls(answered: number, cancelled: number) {
  const group = h.sim.createJobGroup();
  const numbers = randomPhones(answered + cancelled);
  const taskId = await givenTask(h.database.db, { name: '取消重呼', jobGroupId: group });
  const leadIds = await givenLeads(h.database.db, taskId, numbers.map((phone) => ({ phone })));
  const jobIds = h.sim.assignJobs(group, numbers.map((phone, i) => ({ phone, referenceId: String(leadIds[i]) })));
  jobIds.slice(0, answered).forEach((id) => h.sim.finishJob(id, { status: 'Succeeded', kind: 'interested' }));
  jobIds.slice(answered).forEach((id) => h.sim.cancelJob(id));
  await processTask(h.deps(), taskId, { trigger: 'cli' });
  await h.database.db.update(callTasks).set({ taskType: 4 }).where(eq(callTasks.id, taskId));
  return { taskId, leadIds, jobIds };
}

describe('开始外呼 on the dashboard', () => {
  it('offers a stage-1 task the form with the simulator’s scripts and the lead count, and launches it to stage 2 with its progress shown', async () => {
    const taskId = await givenStageOneTask(5);
    const page = await operator.get(`/tasks/${taskId}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`action="/tasks/${taskId}/launch"`);
    expect(page.body).toContain('<option value="sim-script"');
    expect(page.body).toContain('试驾邀约 (sim-script-test-drive)');
    expect(page.body).toContain('本任务共有 5 条线索');
    expect(page.body).toContain('hx-confirm="为任务');
    expect(page.body).toContain('id="launch-progress"');

    const answer = await operator.post(`/tasks/${taskId}/launch`, {
      scriptId: 'sim-script-test-drive', callingNumbers: '', workingHours: '00:00-24:00', maxAttemptsPerDay: '2', minAttemptInterval: '15',
    }, { headers: HTMX });
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toContain(`已开始为任务 ${taskId} 外呼`);
    await until('the launch to end', async () => { const rows = await attemptsOf(taskId); return rows.length > 0 && rows.every((a) => a.status !== 'running'); });
    await until('stage 2', async () => (await stageOf(h.database.db, taskId)) === 2);
    const [attempt] = await attemptsOf(taskId);
    expect(attempt).toMatchObject({ kind: 'launch', status: 'done', jobsCreated: 5, batchesSent: 1, startedBy: 'operator', scriptId: 'sim-script-test-drive' });
    const [task] = await h.database.db.select().from(callTasks).where(eq(callTasks.id, taskId));
    expect(h.sim.jobsOf(task!.jobGroupId!)).toHaveLength(5);
    const [audit] = await readAudit(h.database.db, { taskId, limit: 1 });
    expect(audit).toMatchObject({ actor: 'operator', action: 'launch', outcome: 'ok' });

    const progress = await operator.get(`/tasks/${taskId}/launches`, HTMX);
    expect(progress.body).toContain('hx-trigger="poll"');
    expect(progress.body).toContain('<td class="num" data-field="jobsCreated">5</td>');
    expect(progress.body).toContain('<td class="num" data-field="batchesSent">1</td>');
    expect(progress.body).toContain(task!.jobGroupId!);
    // Past stage 1, the page shows the progress, and no form.
    const after = await operator.get(`/tasks/${taskId}`);
    expect(after.body).not.toContain(`action="/tasks/${taskId}/launch"`);
    expect(after.body).toContain('id="launch-progress"');
  });

  it('answers bad working hours with the field named and sends nothing; a plain form post gets a page', async () => {
    const taskId = await givenStageOneTask(2);
    const answer = await operator.post(`/tasks/${taskId}/launch`, { scriptId: 'sim-script', workingHours: '20:00-09:00' });
    expect(answer.statusCode).toBe(400);
    expect(answer.body).toContain('没有发出任何请求');
    expect(answer.body).toContain('workingHours');
    expect(answer.body).toContain(`href="/tasks/${taskId}"`);
    expect(await attemptsOf(taskId)).toHaveLength(0);
    expect(await stageOf(h.database.db, taskId)).toBe(1);
  });

  it('refuses a task past stage 1 with its own sentence', async () => {
    const taskId = await givenTask(h.database.db, { taskType: 2, jobGroupId: 'jg-x' });
    const answer = await operator.post(`/tasks/${taskId}/launch`, {}, { headers: HTMX });
    expect(answer.statusCode).toBe(409);
    expect(answer.body).toContain('只有「未开始」阶段的任务可以开始外呼');
  });
});

describe('重新外呼 on the dashboard', () => {
  it('is offered on /stuck beside 人工跟进 for the cancelled leads, and re-calls them all: stage 2, new jobs', async () => {
    const { taskId, jobIds } = await givenFinishedTaskWithCancelledCalls(1, 2);
    const stuck = await operator.get('/stuck');
    expect(stuck.body).toContain(`id="recall-${taskId}-cancelled-all"`);
    expect(stuck.body).toContain('重新外呼 (2)');
    expect(stuck.body).toContain(`id="close-${taskId}-cancelled-all"`);

    const answer = await operator.post(`/tasks/${taskId}/recall`, { cause: 'cancelled', view: 'message' }, { headers: HTMX });
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toContain(`已开始为任务 ${taskId} 重新外呼`);
    await until('the re-call to end', async () => { const rows = await attemptsOf(taskId); return rows.length > 0 && rows.every((a) => a.status !== 'running'); });
    const [attempt] = await attemptsOf(taskId);
    expect(attempt).toMatchObject({ kind: 'recall', status: 'done', jobsCreated: 2 });
    await until('the leads to follow their new jobs', async () => {
      const leads = await leadsOf(h.database.db, taskId);
      return leads.slice(1).every((l) => l.callJobId !== null && !jobIds.includes(l.callJobId));
    });
    expect(await stageOf(h.database.db, taskId)).toBe(2);
    const [audit] = await readAudit(h.database.db, { taskId, limit: 1 });
    expect(audit).toMatchObject({ actor: 'operator', action: 'recall', outcome: 'ok' });
  });

  it('is offered on a cancelled lead’s row and in the diagnosis, and re-calls one lead only', async () => {
    const { taskId, leadIds } = await givenFinishedTaskWithCancelledCalls(1, 2);
    const page = await operator.get(`/tasks/${taskId}`);
    expect(page.body).toContain(`id="recall-${taskId}-cancelled-${leadIds[1]}"`);
    expect(page.body).toContain(`id="recall-${taskId}-cancelled-${leadIds[2]}"`);
    expect(page.body).not.toContain(`id="recall-${taskId}-cancelled-${leadIds[0]}"`); // answered: never re-called
    expect(page.body).toContain(`id="recall-${taskId}-cancelled-all"`); // the diagnosis, per cause

    const answer = await operator.post(`/tasks/${taskId}/recall`, { cause: 'cancelled', leadIds: String(leadIds[1]), view: 'row' }, { headers: HTMX });
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toContain(`<tbody id="lead-${leadIds[1]}"`);
    await until('the re-call to end', async () => { const rows = await attemptsOf(taskId); return rows.length > 0 && rows.every((a) => a.status !== 'running'); });
    expect((await attemptsOf(taskId))[0]).toMatchObject({ kind: 'recall', status: 'done', jobsCreated: 1 });
  });
});

describe('a viewer', () => {
  it('sees no launch or re-call form, and a forged POST answers 403 and sends nothing', async () => {
    const stageOne = await givenStageOneTask(2);
    const { taskId } = await givenFinishedTaskWithCancelledCalls(1, 1);
    expect((await viewer.get(`/tasks/${stageOne}`)).body).not.toContain('/launch"');
    const page = await viewer.get(`/tasks/${taskId}`);
    expect(page.body).not.toContain('/recall"');
    expect((await viewer.get('/stuck')).body).not.toContain('/recall"');

    expect((await viewer.post(`/tasks/${stageOne}/launch`, { scriptId: 'sim-script' })).statusCode).toBe(403);
    expect((await viewer.post(`/tasks/${taskId}/recall`, { cause: 'cancelled' })).statusCode).toBe(403);
    expect(await attemptsOf(stageOne)).toHaveLength(0);
    expect(await attemptsOf(taskId)).toHaveLength(0);
    expect(await stageOf(h.database.db, stageOne)).toBe(1);
  });
});
