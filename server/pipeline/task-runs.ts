// Run history (af_task_runs): one row per processing of a task, written when the run starts so a
// crash leaves a visible "running" row behind, and completed with the steps' reports at the end.
import { and, desc, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { writeResult } from '../db/client.ts';
import { taskRuns } from '../db/schema/app.ts';
import { countTaskRun } from '../metrics.ts';
import { capErrorMessage, type StepReport } from './step-report.ts';

export type RunOutcome = 'running' | 'ok' | 'partial' | 'failed' | 'lease-lost';

export async function startRun(db: Db, run: { taskId: number; owner: string; trigger: string; stageBefore: number }): Promise<number> {
  const result = await db.insert(taskRuns).values({ ...run, startedAt: sql`UTC_TIMESTAMP(3)`, outcome: 'running' });
  return writeResult(result).insertId;
}

export async function finishRun(
  db: Db,
  runId: number,
  end: { outcome: Exclude<RunOutcome, 'running'>; stageAfter: number | null; steps: StepReport[]; errorCode?: string | null; errorMessage?: string | null },
): Promise<void> {
  await db
    .update(taskRuns)
    .set({
      finishedAt: sql`UTC_TIMESTAMP(3)`,
      outcome: end.outcome,
      stageAfter: end.stageAfter,
      steps: JSON.stringify(end.steps),
      errorCode: end.errorCode ?? null,
      errorMessage: end.errorMessage ? capErrorMessage(end.errorMessage) : null,
    })
    .where(eq(taskRuns.id, runId));
  // Counted once the row is written, so /metrics and af_task_runs tell the same story.
  countTaskRun(end.outcome, end.steps);
}

/**
 * A run that changed nothing leaves no row (issue 7): its "running" row goes, and the task's
 * last_checked_at (af_task_leases, set on release) says it was looked at. Counted like any run.
 */
export async function discardRun(db: Db, runId: number, end: { outcome: Exclude<RunOutcome, 'running'>; steps: StepReport[] }): Promise<void> {
  await db.delete(taskRuns).where(eq(taskRuns.id, runId));
  countTaskRun(end.outcome, end.steps);
}

/** Runs kept per task whatever their age, and the age beyond which older ones go (issue 7). */
export const RUNS_KEPT_PER_TASK = 200;
export const RUN_RETENTION_DAYS = 30;

/**
 * Deletes run rows older than RUN_RETENTION_DAYS beyond the newest RUNS_KEPT_PER_TASK of their task.
 * Safe from any number of processes at once: each DELETE is bounded by what it re-reads.
 */
export async function pruneRunHistory(db: Db): Promise<number> {
  const cutoff = sql`UTC_TIMESTAMP(3) - INTERVAL ${RUN_RETENTION_DAYS} DAY`;
  const tasks = await db.selectDistinct({ taskId: taskRuns.taskId }).from(taskRuns).where(lt(taskRuns.startedAt, cutoff));
  let deleted = 0;
  for (const { taskId } of tasks) {
    // Ids grow with start times (a row is inserted when its run starts): the newest N are the N highest.
    const [oldestKept] = await db
      .select({ id: taskRuns.id })
      .from(taskRuns)
      .where(eq(taskRuns.taskId, taskId))
      .orderBy(desc(taskRuns.id))
      .limit(1)
      .offset(RUNS_KEPT_PER_TASK - 1);
    if (!oldestKept) continue;
    const result = await db.delete(taskRuns).where(and(eq(taskRuns.taskId, taskId), lt(taskRuns.startedAt, cutoff), lt(taskRuns.id, oldestKept.id)));
    deleted += writeResult(result).affectedRows;
  }
  return deleted;
}

export async function lastRuns(db: Db, taskId: number, limit = 5) {
  return db.select().from(taskRuns).where(eq(taskRuns.taskId, taskId)).orderBy(desc(taskRuns.startedAt), desc(taskRuns.id)).limit(limit);
}
