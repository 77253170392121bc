// The overview's sparklines (issue 11): per task on the page, follow records written per day over the
// last 14 days in the CRM's zone, drawn as a small server-rendered SVG polyline (no script, nothing
// inline). One grouped statement for the whole page, a primary-key range of af_task_activity per task
// (at most 14 rows per task come back), never a lead or follow row.
import { and, gte, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { taskActivity } from '../db/schema/app.ts';
import { toCrmDateTime } from '../crm-time.ts';

export const SPARK_DAYS = 14;
export const SPARK = { width: 112, height: 24 } as const;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export interface Sparkline {
  /** follow records per day, oldest first, today (CRM zone) last */
  days: number[];
  total: number;
  /** SVG polyline points in a SPARK.width x SPARK.height box */
  points: string;
}

/** The zone's offset from UTC at `atMs`, in minutes (Asia/Shanghai: 480). */
export function zoneOffsetMinutes(atMs: number, timeZone: string): number {
  const wall = Date.parse(`${toCrmDateTime(atMs, timeZone).replace(' ', 'T')}Z`);
  return Math.round((wall - Math.floor(atMs / 1000) * 1000) / 60_000);
}

export async function readSparklines(db: Db, taskIds: number[], nowMs: number, timeZone: string): Promise<Map<number, Sparkline>> {
  const result = new Map<number, Sparkline>();
  if (taskIds.length === 0) return result;
  const offset = zoneOffsetMinutes(nowMs, timeZone);
  const dayLabels = Array.from({ length: SPARK_DAYS }, (_, i) => toCrmDateTime(nowMs - (SPARK_DAYS - 1 - i) * DAY_MS, timeZone).slice(0, 10));
  // The first hour (UTC) of the oldest day shown: its local midnight less the zone's offset.
  const fromMs = Date.parse(`${dayLabels[0]}T00:00:00Z`) - offset * 60_000;
  const day = sql<string>`DATE_FORMAT(${taskActivity.hour} + INTERVAL ${offset} MINUTE, '%Y-%m-%d')`;
  const rows = await db
    .select({ taskId: taskActivity.taskId, day, follows: sql<number>`SUM(${taskActivity.followsWritten})` })
    .from(taskActivity)
    .where(and(inArray(taskActivity.taskId, taskIds), gte(taskActivity.hour, new Date(Math.floor(fromMs / HOUR_MS) * HOUR_MS))))
    .groupBy(taskActivity.taskId, day);
  const byTask = new Map<number, Map<string, number>>();
  for (const row of rows) {
    const days = byTask.get(row.taskId) ?? new Map<string, number>();
    days.set(row.day, Number(row.follows));
    byTask.set(row.taskId, days);
  }
  for (const taskId of taskIds) {
    const counts = byTask.get(taskId);
    const days = dayLabels.map((label) => counts?.get(label) ?? 0);
    result.set(taskId, { days, total: days.reduce((s, n) => s + n, 0), points: pointsOf(days) });
  }
  return result;
}

/** A polyline through the days, the highest at the top, a flat line along the bottom when all are 0. */
export function pointsOf(days: number[]): string {
  const peak = Math.max(1, ...days);
  const step = SPARK.width / Math.max(1, days.length - 1);
  const usable = SPARK.height - 2;
  return days.map((n, i) => `${Math.round(i * step)},${1 + Math.round(usable - (n / peak) * usable)}`).join(' ');
}
