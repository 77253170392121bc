// The LLM's tokens and their estimated cost (issue 12), per task and per day, read from the hourly
// counts in af_task_activity (written with each analysis, first ones and re-runs): per task a
// primary-key range, per day a range of idx_af_task_activity_hour. Days are the dashboard's time
// zone's; the price is LLM_PRICE_PER_1K_INPUT / _OUTPUT, in yuan, as in /metrics (costOf).
import { eq, gte, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { taskActivity } from '../db/schema/app.ts';
import { costOf, type LlmPrices } from '../metrics.ts';
import { toCrmDateTime } from '../crm-time.ts';

export const USAGE_DAYS = 30;
const DAY_MS = 86_400_000;

export interface LlmUsage {
  analyses: number;
  inputTokens: number;
  outputTokens: number;
  /** Estimated, in yuan. */
  cost: number;
}

export interface DailyLlmUsage extends LlmUsage {
  /** YYYY-MM-DD in the dashboard's time zone. */
  day: string;
}

const sums = {
  analyses: sql<string>`COALESCE(SUM(${taskActivity.analyses}), 0)`,
  inputTokens: sql<string>`COALESCE(SUM(${taskActivity.inputTokens}), 0)`,
  outputTokens: sql<string>`COALESCE(SUM(${taskActivity.outputTokens}), 0)`,
};

function usageOf(row: { analyses: string | number; inputTokens: string | number; outputTokens: string | number } | undefined, prices: LlmPrices): LlmUsage {
  const counts = { analyses: Number(row?.analyses ?? 0), inputTokens: Number(row?.inputTokens ?? 0), outputTokens: Number(row?.outputTokens ?? 0) };
  return { ...counts, cost: costOf(counts, prices) };
}

export async function readTaskLlmUsage(db: Db, taskId: number, prices: LlmPrices): Promise<LlmUsage> {
  const [row] = await db.select(sums).from(taskActivity).where(eq(taskActivity.taskId, taskId));
  return usageOf(row, prices);
}

/** The last USAGE_DAYS days, newest first, every day listed (a day without analyses as zeros), and their total. */
export async function readDailyLlmUsage(db: Db, nowMs: number, timeZone: string, prices: LlmPrices): Promise<{ days: DailyLlmUsage[]; total: LlmUsage }> {
  // Calendar days back from today in the CRM's zone (not 24-hour steps: a DST day has 23 or 25 hours).
  const [y, m, d] = toCrmDateTime(nowMs, timeZone).slice(0, 10).split('-').map(Number) as [number, number, number];
  const days = Array.from({ length: USAGE_DAYS }, (_, i) => new Date(Date.UTC(y, m - 1, d - i)).toISOString().slice(0, 10));
  // Hours are UTC: a day's first local hour may lie up to a day before its UTC midnight (and a DST day is longer).
  const from = new Date(Math.floor((nowMs - (USAGE_DAYS + 1) * DAY_MS) / 3_600_000) * 3_600_000);
  const hours = await db
    .select({ hour: taskActivity.hour, ...sums })
    .from(taskActivity)
    .where(gte(taskActivity.hour, from))
    .groupBy(taskActivity.hour);
  const byDay = new Map(days.map((day) => [day, { analyses: 0, inputTokens: 0, outputTokens: 0 }]));
  for (const h of hours) {
    const day = byDay.get(toCrmDateTime(h.hour.getTime(), timeZone).slice(0, 10));
    if (!day) continue; // before the first day listed
    day.analyses += Number(h.analyses);
    day.inputTokens += Number(h.inputTokens);
    day.outputTokens += Number(h.outputTokens);
  }
  const listed = days.map((day) => ({ day, ...usageOf(byDay.get(day), prices) }));
  const total = usageOf(
    listed.reduce((t, d) => ({ analyses: t.analyses + d.analyses, inputTokens: t.inputTokens + d.inputTokens, outputTokens: t.outputTokens + d.outputTokens }), { analyses: 0, inputTokens: 0, outputTokens: 0 }),
    prices,
  );
  return { days: listed, total };
}
