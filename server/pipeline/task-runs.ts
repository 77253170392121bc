// Run history (af_task_runs): one row per processing of a task, written when the run starts so a
// crash leaves a visible "running" row behind, and completed with the steps' reports at the end.
import { desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { writeResult } from '../db/client.ts';
import { taskRuns } from '../db/schema/app.ts';
import { countTaskRun } from '../metrics.ts';
import type { StepReport } from './step-report.ts';

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
      errorMessage: end.errorMessage?.slice(0, 2000) ?? null,
    })
    .where(eq(taskRuns.id, runId));
  // Counted once the row is written, so /metrics and af_task_runs tell the same story.
  countTaskRun(end.outcome, end.steps);
}

export async function lastRuns(db: Db, taskId: number, limit = 5) {
  return db.select().from(taskRuns).where(eq(taskRuns.taskId, taskId)).orderBy(desc(taskRuns.startedAt), desc(taskRuns.id)).limit(limit);
}
