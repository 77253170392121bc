// The task page /tasks/:id: diagnosis and funnel, the leads table (every filter shows exactly its
// leads, search by name and by phone in any format, paging that keeps the filters), conversations
// speaker by speaker and escaped, masked phones, run history and the audit log, over a real database.
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAudit } from '../../server/audit-log.ts';
import { auditLog, leadStates, taskRuns } from '../../server/db/schema/app.ts';
import { dccLeadsFollow, leadsTaskList } from '../../server/db/schema/crm.ts';
import { ANALYSIS_FAILED_REMARK, UNANSWERED_REMARK } from '../../server/pipeline/follow-up-remarks.ts';
import type { StepReport } from '../../server/pipeline/step-report.ts';
import { givenLeads, givenTask } from '../helpers/builders.ts';
import { HTMX, dashboardSession } from '../helpers/dashboard-session.ts';
import { useTestDatabase } from '../helpers/database.ts';
import { appOver } from '../helpers/web-app.ts';

const database = useTestDatabase();
let app: FastifyInstance;

beforeAll(async () => {
  app = await appOver(database);
});
afterAll(async () => app?.close());

const CONVERSATION = JSON.stringify([
  { Speaker: 'Robot', Script: '您好，<script>alert(1)</script>这里是4S店', Timestamp: 1_735_700_000_000, Action: 'Broadcast' },
  { Speaker: 'Contact', Script: '我想试驾 <b>SUV</b>', Timestamp: 1_735_700_005_000, Action: 'Dialogue' },
]);

/** One lead in each state; returns the lead row ids by name. */
async function givenTaskWithEveryState() {
  const db = database.db;
  const taskId = await givenTask(db, { name: '四季度试驾邀约', taskType: 3, jobGroupId: 'jg-page-1' });
  const [f5, f6, f7] = await Promise.all(
    [
      { remark: '客户想周末试驾SUV', next: '2099-01-03 10:00:00' },
      { remark: ANALYSIS_FAILED_REMARK, next: null },
      { remark: UNANSWERED_REMARK, next: null },
    ].map(async (f, i) => {
      const [row] = await db.insert(dccLeadsFollow).values({ leadsId: 500 + i, followTime: '2025-01-02 09:00:00', leadsRemark: f.remark, nextFollowTime: f.next }).$returningId();
      return row!.id;
    }),
  );
  const ids = await givenLeads(db, taskId, [
    { name: '张三', phone: '13800000001' },
    { name: '李四', phone: '+86 138-0000-0002' },
    { name: '王五', phone: '13800000003', callJobId: 'job-3' },
    { name: '赵六', phone: '13800000004', callJobId: 'job-4', callStatus: 'Succeeded' },
    { name: '孙七', phone: '13800000005', callJobId: 'job-5', callStatus: 'Succeeded', leadsFollowId: f5, isInterested: 1 },
    { name: '周八', phone: '13800000006', callJobId: 'job-6', callStatus: 'Succeeded', leadsFollowId: f6, isInterested: 0 },
    { name: '吴九', phone: '13800000007', callJobId: 'job-7', callStatus: 'Failed', leadsFollowId: f7, isInterested: 0 },
    { name: '郑十', phone: '13800000008', callJobId: 'job-8', callStatus: 'Succeeded', isInterested: 2 },
  ]);
  const [notSynced, notInGroup, calling, waiting, followed, analysisFailed, failedCall, handledOutside] = ids as [number, number, number, number, number, number, number, number];
  for (const id of [followed, analysisFailed, handledOutside]) {
    await db.update(leadsTaskList).set({ callConversation: CONVERSATION }).where(eq(leadsTaskList.id, id));
  }
  await db.insert(leadStates).values([
    { leadRowId: notInGroup, taskId, notInGroupSince: new Date('2025-01-01T02:00:00Z') },
    { leadRowId: analysisFailed, taskId, analysisStatus: 'failed', analysisError: 'LLM timeout after 3 attempts', hasConversation: true },
    { leadRowId: failedCall, taskId, lastJobStatus: 'Failed', jobFailureReason: 'NoAnswer' },
    // The conversations above, marked as writeCallResults marks them.
    { leadRowId: followed, taskId, hasConversation: true },
    { leadRowId: handledOutside, taskId, hasConversation: true },
  ]);
  return { taskId, notSynced, notInGroup, calling, waiting, followed, analysisFailed, failedCall, handledOutside };
}

/** The lead row ids a response shows, in order. */
function leadIdsIn(body: string): number[] {
  return [...body.matchAll(/<tbody id="lead-(\d+)"/g)].map((m) => Number(m[1]));
}

const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers: { accept: 'text/html', ...headers } });

describe('GET /tasks/:id', () => {
  it('shows the header card, the diagnosis with its reasons and the funnel numbers', async () => {
    const t = await givenTaskWithEveryState();
    const response = await get(`/tasks/${t.taskId}`);
    expect(response.statusCode).toBe(200);
    const body = response.body;
    expect(body).toContain(`id="task-card-${t.taskId}"`);
    expect(body).toContain('id="diagnosis"');
    // diagnose's reasons in the page's language (Chinese by default), never its English sentences
    expect(body).toContain('1 条线索不在作业组中：完整列出作业组后仍找不到这个号码');
    expect(body).toContain('1 条线索 AI 分析失败：已写入基础跟进记录；请重新分析');
    expect(body).toContain('1 条线索已在 autofollow 之外处理');
    expect(body).not.toContain('not in job group');
    expect(body).not.toContain('1 lead');
    const funnel = Object.fromEntries([...body.matchAll(/data-step="(\w+)">(\d+)</g)].map((m) => [m[1], Number(m[2])]));
    expect(funnel).toEqual({ total: 8, called: 6, withStatus: 5, withConversation: 3, withFollow: 3, interested: 1 });
    // bars: 6 of 8 called = 75 %
    expect(body).toMatch(/funnel-called"><span class="w75">/);
  });

  it.each([
    ['not-synced', ['notSynced']],
    ['not-in-group', ['notInGroup']],
    ['calling', ['calling']],
    ['waiting-conversation', ['waiting']],
    ['followed', ['followed', 'analysisFailed', 'failedCall']],
    ['analysis-failed', ['analysisFailed']],
    ['failed-call', ['failedCall']],
    ['handled-outside', ['handledOutside']],
  ] as const)('the filter %s shows exactly its leads', async (state, expected) => {
    const t = await givenTaskWithEveryState();
    const response = await get(`/tasks/${t.taskId}?state=${state}`);
    expect(response.statusCode).toBe(200);
    expect(leadIdsIn(response.body)).toEqual(expected.map((name) => t[name]));
  });

  it('without a filter shows every lead in id order', async () => {
    const t = await givenTaskWithEveryState();
    const response = await get(`/tasks/${t.taskId}`);
    expect(leadIdsIn(response.body)).toEqual([t.notSynced, t.notInGroup, t.calling, t.waiting, t.followed, t.analysisFailed, t.failedCall, t.handledOutside]);
  });

  it('searches by name, and by phone written in another format than stored', async () => {
    const t = await givenTaskWithEveryState();
    expect(leadIdsIn((await get(`/tasks/${t.taskId}?q=${encodeURIComponent('王五')}`)).body)).toEqual([t.calling]);
    // stored "13800000005", searched as the CRM might type it
    expect(leadIdsIn((await get(`/tasks/${t.taskId}?q=${encodeURIComponent('+86 138-0000-0005')}`)).body)).toEqual([t.followed]);
    // stored "+86 138-0000-0002", searched as plain digits
    expect(leadIdsIn((await get(`/tasks/${t.taskId}?q=13800000002`)).body)).toEqual([t.notInGroup]);
    // search and filter together
    expect(leadIdsIn((await get(`/tasks/${t.taskId}?state=calling&q=${encodeURIComponent('张三')}`)).body)).toEqual([]);
  });

  it('pages through leads with links that keep the filter and the search', async () => {
    const taskId = await givenTask(database.db, { name: '批量任务', taskType: 2, jobGroupId: 'jg-many' });
    await givenLeads(database.db, taskId, Array.from({ length: 60 }, (_, i) => ({ name: `批量客户${i}`, phone: `139${String(i).padStart(8, '0')}` })));
    await givenLeads(database.db, taskId, [{ name: '别的客户', phone: '13700000000' }]);
    const q = encodeURIComponent('批量');
    const first = await get(`/tasks/${taskId}?state=not-synced&q=${q}`);
    expect(leadIdsIn(first.body)).toHaveLength(50);
    const next = /<a class="button" rel="next" href="([^"]+)"/.exec(first.body)?.[1]?.replaceAll('&amp;', '&');
    expect(next).toBe(`/tasks/${taskId}?state=not-synced&q=${q}&page=2`);
    expect(first.body).not.toContain('rel="prev"');
    const second = await get(next!);
    const secondIds = leadIdsIn(second.body);
    expect(secondIds).toHaveLength(10);
    expect(new Set([...leadIdsIn(first.body), ...secondIds]).size).toBe(60); // the other lead is not among them
    expect(second.body).not.toContain('rel="next"');
    const prev = /<a class="button" rel="prev" href="([^"]+)"/.exec(second.body)?.[1]?.replaceAll('&amp;', '&');
    expect(prev).toBe(`/tasks/${taskId}?state=not-synced&q=${q}`);
  });

  it('renders the conversation speaker by speaker, with HTML in it escaped', async () => {
    const t = await givenTaskWithEveryState();
    const body = (await get(`/tasks/${t.taskId}?state=followed&q=13800000005`)).body;
    expect(body).toMatch(/<details data-remember="conv-\d+">/);
    const bubbles = [...body.matchAll(/<li class="(robot|customer|other)"><span class="speaker">([^<]+)<\/span>/g)].map((m) => [m[1], m[2]]);
    expect(bubbles).toEqual([['robot', '机器人'], ['customer', '客户']]);
    expect(body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(body).toContain('&lt;b&gt;SUV&lt;/b&gt;');
    expect(body).not.toContain('<script>alert(1)');
    expect(body).not.toContain('<b>SUV</b>');
    // the follow record: remark, interest by name, next follow time
    expect(body).toContain('客户想周末试驾SUV');
    expect(body).toContain('1 有意向');
    expect(body).toContain('2099-01-03 10:00:00');
  });

  it('shows per-lead reasons: analysis error, not in group since, failure reason', async () => {
    const t = await givenTaskWithEveryState();
    const body = (await get(`/tasks/${t.taskId}`)).body;
    expect(body).toContain('AI 分析失败：LLM timeout after 3 attempts');
    expect(body).toContain('自 2025-01-01 10:00:00 起不在作业组中'); // 02:00 UTC in Asia/Shanghai
    expect(body).toContain('失败原因：NoAnswer');
    // the retry button only on the lead whose analysis failed
    expect([...body.matchAll(/leads\/(\d+)\/retry-analysis" class="inline"/g)].map((m) => Number(m[1]))).toEqual([t.analysisFailed]);
  });

  it('masks every phone on the page', async () => {
    const t = await givenTaskWithEveryState();
    const body = (await get(`/tasks/${t.taskId}`)).body;
    for (let n = 1; n <= 8; n++) {
      expect(body).not.toContain(`1380000000${n}`);
      expect(body).toContain(`138****000${n}`);
    }
    expect(body).not.toContain('138-0000-0002');
  });

  it('shows the run history with step counts, durations and error codes', async () => {
    const t = await givenTaskWithEveryState();
    const steps: StepReport[] = [
      { step: 'sync_call_job_ids', durationMs: 120, counts: { pages: 2, matched: 6 }, errors: [], incomplete: false },
      { step: 'query_task_execution', durationMs: 2300, counts: { jobs: 6 }, errors: [{ code: 'Throttling.User', message: 'Request was denied due to user flow control.', page: 2 }], incomplete: true },
    ];
    await database.db.insert(taskRuns).values({
      taskId: t.taskId, owner: 'host-a:123', trigger: 'schedule', startedAt: new Date('2025-01-02T01:00:00Z'), finishedAt: new Date('2025-01-02T01:00:02.5Z'),
      outcome: 'partial', stageBefore: 2, stageAfter: 3, steps: JSON.stringify(steps), errorCode: 'Throttling.User', errorMessage: 'page 2 failed',
    });
    const body = (await get(`/tasks/${t.taskId}/runs`, HTMX)).body;
    expect(body).toMatch(/^<section id="runs"/);
    expect(body).toContain('pages=2');
    expect(body).toContain('matched=6');
    expect(body).toContain('Throttling.User');
    expect(body).toContain('Request was denied due to user flow control.');
    expect(body).toContain('2.5 s');
    expect(body).toContain('2 → 3');
    // and on the page itself
    expect((await get(`/tasks/${t.taskId}`)).body).toContain('Throttling.User');
  });

  it('shows the audit log of the task, and not of other tasks', async () => {
    const t = await givenTaskWithEveryState();
    const other = await givenTask(database.db, { name: 'other' });
    await writeAudit(database.db, { actor: '王芳', action: 'break-lease', taskId: t.taskId, leadRowId: null, outcome: 'ok', detail: 'lease of host-a broken' });
    await writeAudit(database.db, { actor: '李雷', action: 'pause', taskId: other, leadRowId: null, outcome: 'ok', detail: null });
    const body = (await get(`/tasks/${t.taskId}`)).body;
    expect(body).toContain('王芳');
    expect(body).toContain('释放租约');
    expect(body).toContain('lease of host-a broken');
    expect(body).not.toContain('李雷');
  });

  it('answers the leads fragment alone for htmx, for the current filters', async () => {
    const t = await givenTaskWithEveryState();
    const response = await get(`/tasks/${t.taskId}?fragment=leads&state=analysis-failed`, HTMX);
    expect(response.statusCode).toBe(200);
    expect(response.headers.vary).toContain('HX-Request');
    expect(response.body).toMatch(/^<div id="leads-table"/);
    expect(response.body).not.toContain('<html');
    expect(leadIdsIn(response.body)).toEqual([t.analysisFailed]);
    // the fragment polls itself with the same filters
    expect(response.body).toContain(`hx-get="/tasks/${t.taskId}?fragment=leads&amp;state=analysis-failed"`);
    // the filter tabs come with it, so their counts move with the rows
    expect(response.body).toMatch(/state=analysis-failed" class="active">[^<]+<span class="muted">\(1\)<\/span>/);
    expect((await get(`/tasks/999999?fragment=leads`, HTMX)).statusCode).toBe(404);
    // the diagnosis fragment
    const diagnosis = await get(`/tasks/${t.taskId}/diagnosis`, HTMX);
    expect(diagnosis.body).toMatch(/^<section id="diagnosis"/);
  });

  it('answers 404 for an unknown task and 400 for a malformed id', async () => {
    const missing = await get('/tasks/999999');
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toContain('任务 999999 不存在');
    expect(missing.body).toContain('<html');
    for (const id of ['abc', '0', '-1', '1.5']) {
      const bad = await get(`/tasks/${id}`);
      expect(bad.statusCode).toBe(400);
      expect(bad.body).toContain('任务编号必须是正整数');
    }
    expect((await get('/tasks/999999/runs', HTMX)).statusCode).toBe(404);
  });

  it.each([
    ['state=nope', '未知的线索状态'],
    ['page=0', '页码'],
    ['page=abc', '页码'],
    ['page=99999', '页码'],
    ['state=calling&state=followed', '只能出现一次'],
    [`q=${'x'.repeat(101)}`, '搜索内容太长'],
    ['fragment=everything', '未知的片段'],
  ])('answers 400 for the bad query %s, and writes nothing', async (query, message) => {
    const t = await givenTaskWithEveryState();
    const response = await get(`/tasks/${t.taskId}?${query}`);
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain(message);
    expect(await database.db.select().from(auditLog)).toEqual([]);
  });

  it('speaks English with the af_lang=en cookie', async () => {
    const t = await givenTaskWithEveryState();
    const body = (await get(`/tasks/${t.taskId}`, { cookie: 'af_lang=en' })).body;
    expect(body).toContain('Run history');
    expect(body).toContain('Funnel');
    expect(body).toContain('Analysis failed: LLM timeout after 3 attempts');
    expect(body).toContain('1 Interested');
    expect(body).toContain('1 lead not in job group: a complete listing of the job group does not contain this phone');
    expect(body).toContain('1 lead analysis failed: a basic follow record was written; re-run the analysis');
    expect(body).toContain('1 lead handled outside autofollow');
    expect(body).not.toContain('条线索');
    expect(body).not.toContain('运行记录');
    expect(body).not.toContain('漏斗');
  });

  it('is behind the login when a password is set', async () => {
    const locked = await appOver(database, { env: { DASHBOARD_PASSWORD: 'secret-pass' } });
    try {
      const t = await givenTaskWithEveryState();
      const response = await dashboardSession(locked).get(`/tasks/${t.taskId}`);
      expect(response.statusCode).toBe(302);
      expect(response.headers.location).toContain('/login');
    } finally {
      await locked.close();
    }
  });
});
