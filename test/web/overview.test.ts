// The overview "/" (issue 3 §1): every task with its stage, progress, counts, lease and last run;
// filter, search and paging in the URL; the table alone for htmx polling; bad values answered 400.
import { inArray, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { taskLeases, taskRuns } from '../../server/db/schema/app.ts';
import { callTasks } from '../../server/db/schema/crm.ts';
import { pauseTask } from '../../server/pipeline/task-pauses.ts';
import { OVERVIEW_PAGE_SIZE } from '../../server/web/routes/overview.ts';
import { givenLeads, givenTask, phones } from '../helpers/builders.ts';
import { dashboardSession, HTMX } from '../helpers/dashboard-session.ts';
import { useTestDatabase } from '../helpers/database.ts';
import { appOver } from '../helpers/web-app.ts';

const db = useTestDatabase();
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function open(env: Record<string, string> = {}) {
  app = await appOver(db, { env });
  return dashboardSession(app);
}

/** Ids of the task rows in a page or fragment, in order. */
function rowIds(html: string): number[] {
  return [...html.matchAll(/<tr id="task-row-(\d+)"/g)].map((m) => Number(m[1]));
}

/** A task at stage 2 with 4 leads: 3 synced, 2 final (1 Succeeded followed + interested, 1 Failed), 1 calling, 1 not synced. */
async function givenBusyTask(name = '四月新车外呼') {
  const taskId = await givenTask(db.db, { name, taskType: 2, jobGroupId: 'jg-ov-1' });
  const numbers = phones(4, taskId * 10);
  await givenLeads(db.db, taskId, [
    { phone: numbers[0]!, callJobId: 'job-1', callStatus: 'Succeeded', leadsFollowId: 9001, isInterested: 1 },
    { phone: numbers[1]!, callJobId: 'job-2', callStatus: 'Failed' },
    { phone: numbers[2]!, callJobId: 'job-3' },
    { phone: numbers[3]! },
  ]);
  return taskId;
}

describe('GET / (the overview page)', () => {
  it('shows each task with its stage name, progress bars, counts, lease, last run and a link to its page', async () => {
    const taskId = await givenBusyTask();
    await db.db.insert(taskLeases).values({
      taskId, owner: 'host-a:4242:beef', acquiredAt: sql`UTC_TIMESTAMP(3) - INTERVAL 30 SECOND`, renewedAt: sql`UTC_TIMESTAMP(3)`, expiresAt: sql`UTC_TIMESTAMP(3) + INTERVAL 60 SECOND`,
    });
    await db.db.insert(taskRuns).values({
      taskId, owner: 'host-a:4242:beef', trigger: 'schedule', startedAt: new Date(Date.now() - 120_000), finishedAt: new Date(Date.now() - 117_500),
      outcome: 'partial', stageBefore: 2, stageAfter: 2, errorCode: 'Throttling.User', errorMessage: 'Request was denied due to user flow control.',
    });
    const session = await open();
    const page = await session.get('/');

    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('<!doctype html>');
    expect(rowIds(page.body)).toEqual([taskId]);
    const row = page.body.slice(page.body.indexOf(`<tr id="task-row-${taskId}"`), page.body.indexOf('</tr>', page.body.indexOf(`<tr id="task-row-${taskId}"`)));
    expect(row).toContain(`href="/tasks/${taskId}"`);
    expect(row).toContain('四月新车外呼');
    expect(row).toContain('2 · 外呼开始');
    // progress: called 3 of 4, withStatus 2, withFollow 1, interested 1 (widths as classes, CSP forbids inline styles)
    expect(row).toMatch(/data-bar="called">3\/4</);
    expect(row).toMatch(/data-bar="withStatus">2\/4</);
    expect(row).toMatch(/data-bar="withFollow">1\/4</);
    expect(row).toMatch(/data-bar="interested">1\/4</);
    expect(row).toContain('class="w75"');
    expect(row).not.toContain('style=');
    expect(row).toContain('成功 1');
    expect(row).toContain('失败 1');
    expect(row).toContain('等待中 2');
    expect(row).toContain('host-a:4242:beef 持有');
    expect(row).toContain('部分失败');
    expect(row).toContain('Throttling.User');
    expect(row).toMatch(/耗时 2\.5 s/);
    // the process button is disabled while a live lease is held, with the reason as its title
    expect(row).toMatch(/data-action="process" disabled title="任务 \d+ 正在由 host-a:4242:beef 处理/);
  });

  it('filters by stage and searches by name, keeping both in the URL of the pager and the polled fragment', async () => {
    const calling = await givenTask(db.db, { name: '五月 到店邀约', taskType: 2, jobGroupId: 'g1' });
    const callingOther = await givenTask(db.db, { name: '六月 保养提醒', taskType: 2, jobGroupId: 'g2' });
    const done = await givenTask(db.db, { name: '五月 回访', taskType: 4, jobGroupId: 'g3' });
    const session = await open();

    const byStage = await session.get('/?stage=2');
    expect(byStage.statusCode).toBe(200);
    expect(rowIds(byStage.body)).toEqual([callingOther, calling]);
    expect(byStage.body).toContain('hx-get="/?stage=2&amp;fragment=tasks"');

    const byName = await session.get(`/?q=${encodeURIComponent('五月')}`);
    expect(rowIds(byName.body)).toEqual([done, calling]);

    const both = await session.get(`/?stage=2&q=${encodeURIComponent('五月')}`);
    expect(rowIds(both.body)).toEqual([calling]);
    expect(both.body).toContain(`value="${'五月'}"`);
  });

  it('escapes a task name that contains HTML', async () => {
    await givenTask(db.db, { name: '<script>alert(1)</script>', taskType: 2, jobGroupId: 'g' });
    const page = await (await open()).get('/');
    expect(page.body).not.toContain('<script>alert(1)</script>');
    expect(page.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it(`pages through the tasks ${OVERVIEW_PAGE_SIZE} at a time, newest first, with links that keep the filter`, async () => {
    const ids: number[] = [];
    for (let i = 0; i < OVERVIEW_PAGE_SIZE + 3; i++) ids.push(await givenTask(db.db, { name: `批量 ${i}`, taskType: 3, jobGroupId: `g${i}` }));
    await givenTask(db.db, { name: 'other stage', taskType: 1 });
    const session = await open();

    const first = await session.get('/?stage=3');
    expect(rowIds(first.body)).toEqual(ids.slice(-OVERVIEW_PAGE_SIZE).reverse());
    expect(first.body).toContain('href="/?stage=3&amp;page=2"');
    expect(first.body).not.toContain('rel="prev"');
    expect(first.body).toContain(`共 ${OVERVIEW_PAGE_SIZE + 3} 个任务`);

    const second = await session.get('/?stage=3&page=2');
    expect(rowIds(second.body)).toEqual(ids.slice(0, 3).reverse());
    expect(second.body).toContain('rel="prev" href="/?stage=3"');
    expect(second.body).not.toContain('rel="next"');

    const beyond = await session.get('/?stage=3&page=9');
    expect(beyond.statusCode).toBe(200);
    expect(rowIds(beyond.body)).toEqual([]);
    expect(beyond.body).toContain('这一页没有任务');
  });

  it('answers just the tasks table to an htmx poll, and the page otherwise', async () => {
    const taskId = await givenBusyTask();
    const session = await open();

    const fragment = await session.get('/?fragment=tasks&stage=2', HTMX);
    expect(fragment.statusCode).toBe(200);
    expect(fragment.body.trimStart()).toMatch(/^<div id="tasks-table" hx-get="\/\?stage=2&amp;fragment=tasks" hx-trigger="poll"/);
    expect(fragment.body).not.toContain('<html');
    expect(fragment.body).not.toContain('id="scheduler-panel"');
    expect(rowIds(fragment.body)).toEqual([taskId]);
    expect(fragment.headers.vary).toMatch(/HX-Request/i);

    const page = await session.get('/?fragment=tasks');
    expect(page.body).toContain('<!doctype html>');
    expect(page.body).toContain('id="scheduler-panel"');
    expect(page.headers.vary).toMatch(/HX-Request/i);
  });

  it('refreshes the stage tabs with the rows they count: both come in the polled table', async () => {
    const first = await givenBusyTask('甲');
    const second = await givenBusyTask('乙');
    const session = await open();
    const tab = (html: string, stage: number) => html.match(new RegExp(`data-stage="${stage}">([^<]*)</a>`))?.[1];

    const before = await session.get('/?fragment=tasks', HTMX);
    expect(tab(before.body, 2)).toBe('2 · 外呼开始 (2)');
    expect(tab(before.body, 4)).toBe('4 · 跟进完成 (0)');

    await db.db.update(callTasks).set({ taskType: 4 }).where(inArray(callTasks.id, [first, second]));
    const after = await session.get('/?fragment=tasks', HTMX);
    expect(after.body).toContain('4 · 跟进完成</span>'); // the rows say 跟进完成 ...
    expect(tab(after.body, 2)).toBe('2 · 外呼开始 (0)'); // ... and so do the tabs of the same answer
    expect(tab(after.body, 4)).toBe('4 · 跟进完成 (2)');
    expect(tab(after.body, 'all' as unknown as number)).toBe('全部 (2)');
    // The page shows the tabs once: inside the region the poll replaces.
    const page = await session.get('/');
    expect(page.body.match(/class="tabs stage-filter"/g)).toHaveLength(1);
    const region = page.body.slice(page.body.indexOf('<div id="tasks-table"'));
    expect(region).toContain('class="tabs stage-filter"');
  });

  it('shows paused tasks with who paused them and offers resume instead of process', async () => {
    const taskId = await givenBusyTask();
    await pauseTask(db.db, taskId, 'Li Lei');
    const page = await (await open()).get('/');
    expect(page.body).toContain('Li Lei 暂停于');
    expect(page.body).toContain('data-action="resume"');
    expect(page.body).not.toContain('data-action="process"');
  });

  it('speaks English with the language cookie', async () => {
    await givenBusyTask('English task');
    const session = await open();
    session.cookies.set('af_lang', 'en');
    const page = await session.get('/');
    expect(page.body).toContain('2 · Calling');
    expect(page.body).toContain('1 succeeded');
    expect(page.body).toContain('Process now');
    expect(page.body).not.toContain('立即处理');
  });

  it.each([
    ['/?stage=5', 'stage must be 1, 2, 3 or 4'],
    ['/?stage=abc', 'stage must be 1, 2, 3 or 4'],
    ['/?stage=1&stage=2', 'give the parameter &quot;stage&quot; once'],
    ['/?page=0', 'page must be a whole number'],
    ['/?page=-1', 'page must be a whole number'],
    ['/?page=1.5', 'page must be a whole number'],
    ['/?page=99999999999', 'page must be a whole number'],
    [`/?q=${'x'.repeat(101)}`, 'longer than 100 characters'],
    ['/?fragment=leads', 'fragment must be &quot;tasks&quot;'],
  ])('answers %s with a 400 page that says what was wrong', async (url, sentence) => {
    await givenBusyTask();
    const session = await open();
    const page = await session.get(url);
    expect(page.statusCode).toBe(400);
    expect(page.body).toContain('<!doctype html>');
    expect(page.body).toContain(sentence);
    expect(rowIds(page.body)).toEqual([]);

    const fragment = await session.get(url, HTMX);
    expect(fragment.statusCode).toBe(400);
    expect(fragment.body).not.toContain('<html');
    expect(fragment.body).toContain(sentence);
  });
});

describe('GET / behind the login', () => {
  it('redirects to /login without a session, and an htmx poll gets 401 with HX-Redirect', async () => {
    await givenBusyTask();
    const session = await open({ DASHBOARD_PASSWORD: 'open sesame' });
    const page = await session.get('/?stage=2');
    expect(page.statusCode).toBe(302);
    expect(page.headers.location).toBe(`/login?next=${encodeURIComponent('/?stage=2')}`);
    expect(page.body).not.toContain('task-row-');

    const poll = await session.get('/?fragment=tasks', HTMX);
    expect(poll.statusCode).toBe(401);
    expect(poll.headers['hx-redirect']).toMatch(/^\/login\?next=/);
    expect(poll.body).not.toContain('task-row-');
  });
});
