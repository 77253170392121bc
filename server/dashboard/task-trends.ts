// The task page's trends (issue 11): calls finished and follow records written per hour over the
// last 48 hours (af_task_activity, a primary-key range of at most 48 rows) and the interest split
// (the read model's progress: the task page passes the one diagnose read), shaped for server-rendered
// SVG: no script, nothing inline.
import { and, eq, gte } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { taskActivity } from '../db/schema/app.ts';
import { toCrmDateTime } from '../crm-time.ts';
import { readTaskProgress, type TaskProgress } from '../read-model/task-progress.ts';

export const TREND_HOURS = 48;
const HOUR_MS = 3_600_000;
export const CHART = { width: 480, height: 100, bar: 4 } as const;

export interface HourBar {
  label: string;
  x: number;
  calls: { y: number; h: number; n: number };
  follows: { y: number; h: number; n: number };
  /** A tick label under the bar (every 12 hours), else null. */
  tick: string | null;
}

export interface InterestPart {
  key: '1' | '2' | '0' | 'none';
  n: number;
  x: number;
  w: number;
}

export interface TaskTrends {
  hours: HourBar[];
  peak: number;
  totals: { calls: number; follows: number };
  interest: InterestPart[];
  total: number;
}

type InterestCounts = Pick<TaskProgress, 'total' | 'interested' | 'notInterested' | 'interestUnclear'>;

/** The task's trends; its interest split from `progress` when the caller has read it already. */
export async function readTaskTrends(db: Db, taskId: number, nowMs: number, timeZone: string, progress?: InterestCounts): Promise<TaskTrends> {
  const firstHourMs = Math.floor(nowMs / HOUR_MS) * HOUR_MS - (TREND_HOURS - 1) * HOUR_MS;
  const [activity, counts] = await Promise.all([
    db
      .select({ hour: taskActivity.hour, calls: taskActivity.callsFinished, follows: taskActivity.followsWritten })
      .from(taskActivity)
      .where(and(eq(taskActivity.taskId, taskId), gte(taskActivity.hour, new Date(firstHourMs)))),
    progress ?? readTaskProgress(db, taskId),
  ]);
  const byHour = new Map(activity.map((a) => [a.hour.getTime(), a]));
  const peak = Math.max(1, ...activity.map((a) => Math.max(a.calls, a.follows)));
  const slot = CHART.width / TREND_HOURS;
  const height = (n: number) => (n === 0 ? 0 : Math.max(1, Math.round((n / peak) * CHART.height)));
  const hours = Array.from({ length: TREND_HOURS }, (_, i): HourBar => {
    const at = firstHourMs + i * HOUR_MS;
    const row = byHour.get(at);
    const calls = row?.calls ?? 0;
    const follows = row?.follows ?? 0;
    const label = toCrmDateTime(at, timeZone).slice(5, 16);
    return {
      label,
      x: Math.round(i * slot),
      calls: { n: calls, h: height(calls), y: CHART.height - height(calls) },
      follows: { n: follows, h: height(follows), y: CHART.height - height(follows) },
      tick: i % 12 === 0 ? label : null,
    };
  });
  const parts = [
    { key: '1' as const, n: counts.interested },
    { key: '2' as const, n: counts.notInterested },
    { key: '0' as const, n: counts.interestUnclear },
    // Not yet decided, or a value the CRM set outside 0-2.
    { key: 'none' as const, n: counts.total - counts.interested - counts.notInterested - counts.interestUnclear },
  ];
  const total = parts.reduce((s, p) => s + p.n, 0);
  let x = 0;
  const interest = parts.map((p) => {
    const w = total === 0 ? 0 : Math.round((p.n / total) * CHART.width);
    const part = { ...p, x, w };
    x += w;
    return part;
  });
  return {
    hours,
    peak: activity.length === 0 ? 0 : peak,
    totals: { calls: activity.reduce((s, a) => s + a.calls, 0), follows: activity.reduce((s, a) => s + a.follows, 0) },
    interest,
    total,
  };
}
