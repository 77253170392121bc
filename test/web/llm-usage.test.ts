// The LLM's tokens and estimated cost (issue 12): of one task on its page, and per day on /usage,
// both from the hourly counts written with each analysis (af_task_activity).
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { toCrmDateTime } from '../../server/crm-time.ts';
import { taskActivity } from '../../server/db/schema/app.ts';
import { leadsTaskList } from '../../server/db/schema/crm.ts';
import { writeFollowUps } from '../../server/pipeline/write-follow-ups.ts';
import { givenLeads, givenTask } from '../helpers/builders.ts';
import { useTestDatabase } from '../helpers/database.ts';
import { dashboardSession } from '../helpers/dashboard-session.ts';
import { appOver } from '../helpers/web-app.ts';

const db = useTestDatabase();
// Round prices, so the figures below can be worked out by hand: 1 yuan per 1,000 in, 2 per 1,000 out.
const env = { LLM_PRICE_PER_1K_INPUT: '1', LLM_PRICE_PER_1K_OUTPUT: '2', TZ: 'Asia/Shanghai' };
let app: FastifyInstance;
beforeEach(async () => {
  app = await appOver(db, { env });
});
afterEach(async () => app?.close());

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

async function givenAnalysedTask(name: string, usages: Array<{ inputTokens: number; outputTokens: number } | undefined>): Promise<number> {
  const taskId = await givenTask(db.db, { name });
  const ids = await givenLeads(db.db, taskId, usages.map((_, i) => ({ phone: `1390000${String(taskId * 100 + i).padStart(4, '0')}` })));
  await writeFollowUps(db.db, ids.map((leadRowId, i) => ({
    leadRowId, taskId, leadsId: 900 + i, remark: '周六试驾', isInterested: 1, nextFollowTime: null,
    analysis: usages[i] ? { status: 'ok', error: null, usage: usages[i] } : { status: 'failed', error: 'timeout' },
  })), '2031-05-01 10:00:00', new Date());
  return taskId;
}

/** The row of /usage for `day` (or 'total'), as its cells' text. */
function usageRow(body: string, day: string): string[] {
  const row = new RegExp(`<tr data-day="${day}">([\\s\\S]*?)</tr>`).exec(body)?.[1] ?? '';
  return [...row.matchAll(/<t[dh][^>]*>([^<]*)<\/t[dh]>/g)].map((m) => m[1]!);
}

describe('LLM tokens and cost', () => {
  it("shows a task's analyses, tokens and cost on its page, and only that task's", async () => {
    // A timeout reports no tokens: it is not counted as an analysis paid for.
    const taskId = await givenAnalysedTask('用量任务', [{ inputTokens: 1500, outputTokens: 200 }, { inputTokens: 1000, outputTokens: 300 }, undefined]);
    await givenAnalysedTask('别的任务', [{ inputTokens: 99_000, outputTokens: 9000 }]);

    const page = await dashboardSession(app).get(`/tasks/${taskId}`);
    expect(page.statusCode).toBe(200);
    const line = /<p class="small" id="task-llm-usage">([^<]*)<\/p>/.exec(page.body)?.[1];
    // 2,500 in at 1 yuan per 1,000 = 2.5; 500 out at 2 per 1,000 = 1.0.
    expect(line).toBe('LLM：2 次分析 · 输入 2,500 token · 输出 500 token · 估算费用 ¥3.50');

    const english = await dashboardSession(app).get(`/tasks/${taskId}`, { cookie: 'af_lang=en' });
    expect(english.body).toContain('LLM: 2 analyses · 2,500 input tokens · 500 output tokens · estimated ¥3.50');
  });

  it('lists the last 30 days on /usage, each day in the dashboard time zone, every task included', async () => {
    const now = Date.now();
    const today = toCrmDateTime(now, 'Asia/Shanghai').slice(0, 10);
    const fiveDaysAgo = toCrmDateTime(now - 5 * DAY_MS, 'Asia/Shanghai').slice(0, 10);
    const sixDaysAgo = toCrmDateTime(now - 6 * DAY_MS, 'Asia/Shanghai').slice(0, 10);
    const midnight = Date.parse(`${fiveDaysAgo}T00:00:00+08:00`); // 16:00 UTC the day before
    const taskA = await givenAnalysedTask('甲', [{ inputTokens: 400, outputTokens: 100 }]); // this hour
    const taskB = await givenTask(db.db, { name: '乙' });
    await db.pool.query('INSERT INTO af_task_activity (task_id, hour, analyses, input_tokens, output_tokens) VALUES ?', [[
      [taskB, new Date(Math.floor(now / HOUR_MS) * HOUR_MS - HOUR_MS), 2, 600, 50], // today too (unless today began within the hour)
      [taskA, new Date(midnight), 1, 1000, 0], // the first hour of its local day
      [taskB, new Date(midnight - HOUR_MS), 3, 0, 1000], // the last hour of the day before
      [taskA, new Date(now - 40 * DAY_MS), 9, 9000, 9000], // beyond 30 days: not listed
    ]]);

    const page = await dashboardSession(app).get('/usage');
    expect(page.statusCode).toBe(200);
    expect([...page.body.matchAll(/<tr data-day="\d{4}-\d\d-\d\d">/g)]).toHaveLength(30);
    expect(/<tr data-day="(\d{4}-\d\d-\d\d)">/.exec(page.body)?.[1]).toBe(today); // newest first
    const previousHourIsToday = toCrmDateTime(now - HOUR_MS, 'Asia/Shanghai').slice(0, 10) === today;
    expect(usageRow(page.body, today)).toEqual(
      previousHourIsToday ? [today, '3', '1,000', '150', '1.30'] : [today, '1', '400', '100', '0.6000'],
    );
    expect(usageRow(page.body, fiveDaysAgo)).toEqual([fiveDaysAgo, '1', '1,000', '0', '1.00']);
    expect(usageRow(page.body, sixDaysAgo)).toEqual([sixDaysAgo, '3', '0', '1,000', '2.00']);
    expect(usageRow(page.body, 'total')).toEqual(['合计', '7', '2,000', '1,150', '4.30']);
    expect(page.body).toContain('输入每千 token ¥1，输出每千 token ¥2');
    expect(page.body).toContain('<a href="/usage" class="active">LLM 用量</a>');
    expect(page.body).not.toMatch(/style=|<script>/);
  });
});

describe('the days of /usage', () => {
  it('are 30 calendar days in a zone with daylight saving time, the short spring day and its neighbours each once', async () => {
    const { readDailyLlmUsage } = await import('../../server/dashboard/llm-usage.ts');
    const prices = { perThousandInput: 1, perThousandOutput: 2 };
    // New York moved to daylight saving time on 2026-03-08 (a 23-hour day); now is 00:15 on the 9th.
    const { days } = await readDailyLlmUsage(db.db, Date.parse('2026-03-09T04:15:00Z'), 'America/New_York', prices);
    expect(days.map((d) => d.day).slice(0, 3)).toEqual(['2026-03-09', '2026-03-08', '2026-03-07']);
    expect(new Set(days.map((d) => d.day)).size).toBe(30);
    expect(days.at(-1)!.day).toBe('2026-02-08');
  });
});

describe('tokens of an answer that came too late', () => {
  it('counts an analysis whose lead was finished meanwhile: its tokens were paid for', async () => {
    const taskId = await givenAnalysedTask('已跟进', [{ inputTokens: 500, outputTokens: 50 }]);
    const [leadRowId] = (await db.db.select({ id: leadsTaskList.id }).from(leadsTaskList).where(eq(leadsTaskList.taskId, taskId))).map((r) => r.id);
    const late = await writeFollowUps(db.db, [{
      leadRowId: leadRowId!, taskId, leadsId: 900, remark: '第二次', isInterested: 0, nextFollowTime: null,
      analysis: { status: 'ok', error: null, usage: { inputTokens: 700, outputTokens: 70 } },
    }], '2031-05-01 11:00:00', new Date());
    expect(late).toMatchObject({ created: 0, alreadyDone: 1 });
    const [counts] = await db.db
      .select({ follows: sql<number>`SUM(${taskActivity.followsWritten})`, analyses: sql<number>`SUM(${taskActivity.analyses})`, input: sql<number>`SUM(${taskActivity.inputTokens})` })
      .from(taskActivity)
      .where(eq(taskActivity.taskId, taskId));
    expect([Number(counts!.follows), Number(counts!.analyses), Number(counts!.input)]).toEqual([1, 2, 1200]);
  });
});
