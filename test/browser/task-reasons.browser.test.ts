// Issue 9 in a browser (headless Debian chromium against the real app and database): the operators
// of a Chinese dealer read why a stuck task does not move in Chinese, and the English page says it
// in English; neither shows a sentence of the other language. Screenshots of the diagnosis land in
// test/artifacts/: task-reasons-zh.png and task-reasons-en.png.
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leadStates, taskLeases, taskRuns } from '../../server/db/schema/app.ts';
import { artifactPath, launchChromium, submitLogin } from '../helpers/browser.ts';
import { givenLeads, givenTask } from '../helpers/builders.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { appOver } from '../helpers/web-app.ts';

const PASSWORD = 'reasons-password';
const HOUR = 3_600_000;
const CJK = /[\u4e00-\u9fff]/;
let db: TestDatabase;
let app: FastifyInstance;
let address: string;
let browser: Browser;
let page: Page;
let taskId: number;

/**
 * A stage-2 task that cannot move: two leads missing from the job group, one job cancelled in
 * Outbound Bot, one call succeeded whose conversation never came (for longer than STUCK_AFTER),
 * the lease of a crashed process, and a last run that failed on throttling.
 */
async function givenStuckTask(): Promise<number> {
  const id = await givenTask(db.db, { name: '十二月到店邀约', taskType: 2, jobGroupId: 'jg-dec' });
  const [absentA, absentB, cancelled, waiting] = (await givenLeads(db.db, id, [
    { phone: '13900001111', name: '钱一' },
    { phone: '13900002222', name: '钱二' },
    { phone: '13900003333', name: '钱三', callJobId: 'job-dec-3' },
    { phone: '13900004444', name: '钱四', callJobId: 'job-dec-4', callStatus: 'Succeeded' },
  ])) as [number, number, number, number];
  await db.pool.query('UPDATE leads_task_list SET updated_time = NOW() - INTERVAL 3 HOUR WHERE id = ?', [waiting]);
  const since = new Date(Date.now() - 5 * HOUR);
  await db.db.insert(leadStates).values([
    { leadRowId: absentA, taskId: id, notInGroupSince: since },
    { leadRowId: absentB, taskId: id, notInGroupSince: since },
    { leadRowId: cancelled, taskId: id, lastJobStatus: 'Cancelled' },
    { leadRowId: waiting, taskId: id, lastJobStatus: 'Succeeded' },
  ]);
  await db.db.insert(taskLeases).values({ taskId: id, owner: 'host-a:4242', acquiredAt: new Date(Date.now() - 2 * HOUR), expiresAt: new Date(Date.now() - HOUR) });
  await db.db.insert(taskRuns).values({
    taskId: id, owner: 'host-a:4242', trigger: 'schedule', startedAt: new Date(Date.now() - 2 * HOUR), finishedAt: new Date(Date.now() - 2 * HOUR + 5000),
    outcome: 'failed', stageBefore: 2, stageAfter: 2, steps: '[]', errorCode: 'Throttling.User', errorMessage: 'Request was denied due to user flow control.',
  });
  return id;
}

beforeAll(async () => {
  [db, browser] = await Promise.all([createTestDatabase(), launchChromium()]);
  taskId = await givenStuckTask();
  app = await appOver(db, { env: { DASHBOARD_PASSWORD: PASSWORD, TZ: 'Asia/Shanghai' }, startTaskProcessing: () => true });
  await app.listen({ host: '127.0.0.1', port: 0 });
  address = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await page.goto(`${address}/login`);
  await submitLogin(page, '王经理', PASSWORD, `${address}/`);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await db?.drop();
});

/** Each reason on the page: its code and the sentence the operator reads. */
async function reasonsShown(): Promise<Array<{ code: string; text: string }>> {
  return page.locator('#diagnosis-reasons li').evaluateAll((items) => items.map((li) => ({ code: li.getAttribute('data-code') ?? '', text: (li.textContent ?? '').trim() })));
}

const CODES = ['lease-expired', 'not-in-job-group', 'job-cancelled', 'waiting-for-conversation', 'stuck-waiting', 'last-run'];

describe('diagnose reasons in the operator’s language', () => {
  it('shows the Chinese task page of a stuck task with Chinese reasons only', async () => {
    await page.goto(`${address}/tasks/${taskId}`);
    await page.locator('#diagnosis-reasons li[data-code="last-run"]').waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
    const reasons = await reasonsShown();
    expect(reasons.map((r) => r.code)).toEqual(CODES);
    const text = Object.fromEntries(reasons.map((r) => [r.code, r.text]));
    expect(text['lease-expired']).toMatch(/^host-a:4242 的租约已于 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d 过期：下一轮会接管$/);
    expect(text['not-in-job-group']).toMatch(/^2 条线索不在作业组中：完整列出作业组后仍找不到这个号码；需要人工处理/);
    expect(text['job-cancelled']).toMatch(/^1 条线索的作业在外呼机器人中被取消/);
    expect(text['waiting-for-conversation']).toBe('1 条线索等待对话记录：已接通，对话记录尚未生成');
    expect(text['stuck-waiting']).toBe('其中 1 条等待对话记录超过 STUCK_AFTER（7200 秒）：已卡住');
    expect(text['last-run']).toBe('上一次运行结果：failed (Throttling.User: Request was denied due to user flow control.)');
    // No English sentence of diagnose anywhere in the card.
    const card = await page.locator('#diagnosis').innerText();
    expect(card).not.toMatch(/\d+ leads? |not in job group|job cancelled|lease of |waiting for the conversation|last run /);
    await page.locator('#diagnosis').screenshot({ path: artifactPath('task-reasons-zh.png') });
  });

  it('shows the English page with English reasons only', async () => {
    await page.goto(`${address}/tasks/${taskId}`);
    await page.click('a.lang');
    await page.locator('html[lang="en"]').waitFor({ state: 'attached' });
    await page.locator('#diagnosis-reasons li[data-code="last-run"]').waitFor();
    const reasons = await reasonsShown();
    expect(reasons.map((r) => r.code)).toEqual(CODES);
    const text = Object.fromEntries(reasons.map((r) => [r.code, r.text]));
    expect(text['lease-expired']).toMatch(/^lease of host-a:4242 expired at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d: the next pass takes it over$/);
    expect(text['not-in-job-group']).toMatch(/^2 leads not in job group: a complete listing of the job group does not contain this phone; needs a person/);
    expect(text['job-cancelled']).toMatch(/^1 lead job cancelled in Outbound Bot: it will never be called/);
    expect(text['waiting-for-conversation']).toBe('1 lead waiting for conversation: call Succeeded, conversation not available yet');
    expect(text['stuck-waiting']).toBe('1 of them waiting for the conversation for longer than STUCK_AFTER (7200 s): stuck');
    expect(text['last-run']).toBe('last run failed (Throttling.User: Request was denied due to user flow control.)');
    for (const reason of reasons) expect(reason.text, reason.code).not.toMatch(CJK);
    await page.locator('#diagnosis').screenshot({ path: artifactPath('task-reasons-en.png') });
  });
});
