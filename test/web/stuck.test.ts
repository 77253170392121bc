// The stuck page /stuck: each constructed stuck case with its cause, its fix button posting to the
// task actions' route and its link to the affected leads; healthy tasks are not listed; an empty
// list says so; it shows the most urgent STUCK_LISTED and how many there are; it polls itself;
// English labels with af_lang=en.
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leadStates, taskLeases, taskRuns } from '../../server/db/schema/app.ts';
import { dccLeadsFollow, leadsTaskList } from '../../server/db/schema/crm.ts';
import { toCrmDateTime } from '../../server/crm-time.ts';
import { STUCK_LISTED } from '../../server/web/routes/stuck.ts';
import { givenLeads, givenTask } from '../helpers/builders.ts';
import { HTMX } from '../helpers/dashboard-session.ts';
import { useTestDatabase } from '../helpers/database.ts';
import { appOver } from '../helpers/web-app.ts';

const database = useTestDatabase();
let app: FastifyInstance;

beforeAll(async () => {
  app = await appOver(database);
});
afterAll(async () => app?.close());

const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers: { accept: 'text/html', ...headers } });

/** A task at stage 2 whose last run just succeeded: it is progressing. */
async function givenHealthyTask(name: string): Promise<number> {
  const taskId = await givenTask(database.db, { name, taskType: 2, jobGroupId: 'jg-healthy' });
  await givenLeads(database.db, taskId, [{ phone: '13900000001', callJobId: 'job-h1' }]);
  await database.db.insert(taskRuns).values({
    taskId, owner: 'host-a:1', trigger: 'schedule', startedAt: sql`UTC_TIMESTAMP(3)`, finishedAt: sql`UTC_TIMESTAMP(3)`, outcome: 'ok', stageBefore: 2, stageAfter: 2, steps: '[]',
  });
  return taskId;
}

/** A finished task whose every lead has its follow record: nothing to do. */
async function givenDoneTask(name: string): Promise<number> {
  const taskId = await givenTask(database.db, { name, taskType: 4, jobGroupId: 'jg-done' });
  const [follow] = await database.db.insert(dccLeadsFollow).values({ leadsId: 1, followTime: '2025-01-01 10:00:00', leadsRemark: 'ok' }).$returningId();
  await givenLeads(database.db, taskId, [{ phone: '13900000002', callJobId: 'job-d1', callStatus: 'Failed', leadsFollowId: follow!.id, isInterested: 0 }]);
  return taskId;
}

/** A task whose process died holding the lease, with two leads missing from their job group. */
async function givenStuckTask(): Promise<number> {
  const taskId = await givenHealthyTask('卡住的任务甲');
  await database.db.insert(taskLeases).values({
    taskId, owner: 'host-dead:4242', acquiredAt: sql`UTC_TIMESTAMP(3) - INTERVAL 20 MINUTE`,
    renewedAt: sql`UTC_TIMESTAMP(3) - INTERVAL 15 MINUTE`, expiresAt: sql`UTC_TIMESTAMP(3) - INTERVAL 10 MINUTE`,
  });
  const [a, b] = await givenLeads(database.db, taskId, [{ phone: '13900000011' }, { phone: '13900000012' }]);
  await database.db.insert(leadStates).values([
    { leadRowId: a!, taskId, notInGroupSince: sql`UTC_TIMESTAMP(3) - INTERVAL 1 HOUR` },
    { leadRowId: b!, taskId, notInGroupSince: sql`UTC_TIMESTAMP(3) - INTERVAL 2 HOUR` },
  ]);
  return taskId;
}

function causesOf(body: string, taskId: number): string[] {
  const article = new RegExp(`<article class="card stuck-task" id="stuck-task-${taskId}">([\\s\\S]*?)</article>`).exec(body)?.[1] ?? '';
  return [...article.matchAll(/data-cause="([\w-]+)"/g)].map((m) => m[1]!);
}

describe('GET /stuck', () => {
  it('lists a stuck task with each cause, its fix button and a link to the affected leads, and not the healthy ones', async () => {
    const healthy = await givenHealthyTask('健康的任务');
    const done = await givenDoneTask('完成的任务');
    const stuck = await givenStuckTask();
    const response = await get('/stuck');
    expect(response.statusCode).toBe(200);
    const body = response.body;

    expect(causesOf(body, stuck).sort()).toEqual(['lease-expired', 'not-in-group']);
    expect(body).toContain('租约已过期，但仍未释放');
    expect(body).toContain('2 条线索不在作业组中');
    expect(body).toContain('host-dead:4242'); // the detail names the dead owner
    // ... in Chinese, with its facts filled in: no English sentence under the Chinese heading (issue 9).
    expect(body).toMatch(/host-dead:4242 的租约已过期 \d+ (s|min)/);
    // A lead-level cause says what the task page's diagnosis says, from the same reason code.
    expect(body).toContain('2 条线索不在作业组中：完整列出作业组后仍找不到这个号码');
    expect(body).not.toMatch(/probably died|missing from the job group/);
    // The fix: a confirmed form posting to the task actions' route, answering into a slot beside it.
    expect(body).toContain(`hx-post="/tasks/${stuck}/actions/break-lease" hx-target="#stuck-msg-${stuck}-lease-expired" hx-swap="innerHTML"`);
    expect(body).toContain(`<div id="stuck-msg-${stuck}-lease-expired" class="message" hx-preserve></div>`);
    expect(body).toMatch(new RegExp(`action="/tasks/${stuck}/actions/break-lease"[\\s\\S]*?hx-confirm="[^"]+"[\\s\\S]*?name="_csrf" value="[^"]+"[\\s\\S]*?name="view" value="message"`));
    expect(body).toContain(`hx-post="/tasks/${stuck}/actions/resync"`);
    // Not in group: what a person must do in Outbound Bot, and the leads concerned.
    expect(body).toContain('在外呼机器人中把这些号码加入该任务的任务组');
    expect(body).toContain(`href="/tasks/${stuck}?state=not-in-group"`);

    expect(body).not.toContain(`id="stuck-task-${healthy}"`);
    expect(body).not.toContain(`id="stuck-task-${done}"`);
    expect(body).not.toContain('健康的任务');
    expect(body).not.toContain('没有卡住的任务');
  });

  it('lists analysis failures at any stage with the retry button, and a cancelled job with no button but the Outbound Bot hint', async () => {
    const done = await givenDoneTask('分析失败的任务');
    const [leadRow] = await givenLeads(database.db, done, [{ phone: '13900000021', callJobId: 'job-x', callStatus: 'Succeeded', isInterested: 0 }]);
    await database.db.insert(leadStates).values({ leadRowId: leadRow!, taskId: done, analysisStatus: 'failed', analysisError: 'timeout', analysedAt: sql`UTC_TIMESTAMP(3)` });
    const calling = await givenHealthyTask('取消的任务');
    const [cancelled] = await givenLeads(database.db, calling, [{ phone: '13900000031', callJobId: 'job-c' }]);
    await database.db.insert(leadStates).values({ leadRowId: cancelled!, taskId: calling, lastJobStatus: 'Cancelled' });

    const body = (await get('/stuck')).body;
    expect(causesOf(body, done)).toEqual(['analysis-failed']);
    expect(body).toContain(`hx-post="/tasks/${done}/actions/retry-analysis"`);
    expect(body).toContain(`href="/tasks/${done}?state=analysis-failed"`);
    expect(causesOf(body, calling)).toEqual(['job-cancelled']);
    expect(body).toContain('这些外呼任务在外呼机器人中被取消');
    expect(body).not.toContain(`/tasks/${calling}/actions/`);
  });

  it('offers "process now" for calls whose conversation never came: processing fetches the jobs again', async () => {
    const taskId = await givenHealthyTask('等对话的任务');
    const [waiting] = await givenLeads(database.db, taskId, [{ phone: '13900000041', callJobId: 'job-w', callStatus: 'Succeeded' }]);
    await database.db.update(leadsTaskList).set({ updatedTime: toCrmDateTime(Date.now() - 3 * 3600_000, 'Asia/Shanghai') }).where(sql`${leadsTaskList.id} = ${waiting!}`);
    const body = (await get('/stuck')).body;
    expect(causesOf(body, taskId)).toEqual(['no-conversation']);
    expect(body).toContain(`hx-post="/tasks/${taskId}/actions/process" hx-target="#stuck-msg-${taskId}-no-conversation"`);
    expect(body).not.toContain(`/tasks/${taskId}/actions/resync`);
    expect(body).toContain('每一轮都会重新获取');
    expect(body).toContain('1 个任务需要处理');
    expect(body).not.toContain('最紧急的');
  });

  it(`shows the ${STUCK_LISTED} most urgent tasks and says how many there are`, async () => {
    const leases = await givenStuckTask(); // the oldest id: its expired lease puts it first
    const missing: number[] = [];
    for (let i = 0; i < STUCK_LISTED + 2; i++) {
      const taskId = await givenTask(database.db, { name: `缺号任务${i}`, taskType: 4, jobGroupId: `jg-m${i}` });
      const [leadRow] = await givenLeads(database.db, taskId, [{ phone: `1390001${String(i).padStart(4, '0')}` }]);
      await database.db.insert(leadStates).values({ leadRowId: leadRow!, taskId, notInGroupSince: sql`UTC_TIMESTAMP(3) - INTERVAL 1 HOUR` });
      missing.push(taskId);
    }
    const total = STUCK_LISTED + 3;
    const body = (await get('/stuck')).body;
    const listed = [...body.matchAll(/id="stuck-task-(\d+)"/g)].map((m) => Number(m[1]));
    expect(listed).toHaveLength(STUCK_LISTED);
    expect(listed[0]).toBe(leases);
    expect(listed.slice(1)).toEqual(missing.slice(-(STUCK_LISTED - 1)).reverse());
    expect(body).not.toContain(`id="stuck-task-${missing[0]}"`);
    expect(body).toContain(`${total} 个任务需要处理：显示 ${total} 个中最紧急的 ${STUCK_LISTED} 个`);
    const english = (await get('/stuck?fragment=list', { ...HTMX, cookie: 'af_lang=en' })).body;
    expect(english).toContain(`${total} tasks need attention: showing ${STUCK_LISTED} of ${total}, the most urgent first`);
  });

  it('says clearly that nothing is stuck', async () => {
    await givenHealthyTask('健康的任务');
    const body = (await get('/stuck')).body;
    expect(body).toContain('没有卡住的任务：所有任务都在正常推进。');
    expect(body).not.toContain('stuck-task-');
  });

  it('answers the list alone for htmx polling, and polls itself', async () => {
    await givenStuckTask();
    const page = await get('/stuck');
    expect(page.body).toContain('<section id="stuck-list" hx-get="/stuck?fragment=list" hx-trigger="poll" hx-swap="outerHTML">');
    const fragment = await get('/stuck?fragment=list', HTMX);
    expect(fragment.statusCode).toBe(200);
    expect(fragment.headers.vary).toContain('HX-Request');
    expect(fragment.body).toMatch(/^<section id="stuck-list"/);
    expect(fragment.body).not.toContain('<html');
    expect((await get('/stuck?fragment=bogus')).statusCode).toBe(400);
  });

  it('speaks English with the af_lang=en cookie', async () => {
    const stuck = await givenStuckTask();
    const body = (await get('/stuck', { cookie: 'af_lang=en' })).body;
    expect(body).toContain('The lease expired but was never released');
    expect(body).toContain('2 leads are not in the job group');
    expect(body).toContain('Break lease');
    expect(body).toContain(`Break the lease of task ${stuck}?`);
    expect(body).not.toContain('租约已过期');
    expect(body).toMatch(/The lease of host-dead:4242 expired \d+ (s|min)[^.]* ago but is still held/);
    expect(body).toContain('2 leads not in job group: a complete listing of the job group does not contain this phone');
    const empty = await appOver(database);
    await database.reset();
    try {
      expect((await empty.inject({ url: '/stuck', headers: { accept: 'text/html', cookie: 'af_lang=en' } })).body).toContain('Nothing is stuck');
    } finally {
      await empty.close();
    }
  });
});
