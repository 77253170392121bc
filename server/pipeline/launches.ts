// af_launches: one row per launch or re-call attempt (issue 10), its job group and progress, so an
// interrupted attempt is picked up where it stopped and the dashboard shows how far it got.
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { launches } from '../db/schema/app.ts';
import { errorCodeOf } from '../outboundbot/errors.ts';
import { capErrorMessage, type startStep } from './step-report.ts';

export type LaunchKind = 'launch' | 'recall';
export type LaunchRow = typeof launches.$inferSelect;

/** The attempt an interrupted process left running (under the task's lease, so no one else runs it), or a new one. */
export async function startOrResumeLaunch(
  db: Db,
  input: { taskId: number; kind: LaunchKind; startedBy: string; scriptId: string | null; callingNumbers: string[]; now: Date },
): Promise<LaunchRow> {
  const [running] = await db
    .select()
    .from(launches)
    .where(and(eq(launches.taskId, input.taskId), eq(launches.kind, input.kind), eq(launches.status, 'running')))
    .orderBy(desc(launches.id))
    .limit(1);
  if (running) return running;
  const [result] = await db.insert(launches).values({
    taskId: input.taskId, kind: input.kind, status: 'running', scriptId: input.scriptId, callingNumbers: JSON.stringify(input.callingNumbers),
    startedBy: input.startedBy, startedAt: input.now, updatedAt: input.now,
  });
  const [row] = await db.select().from(launches).where(eq(launches.id, Number(result.insertId)));
  return row!;
}

export async function updateLaunch(db: Db, id: number, set: Partial<Omit<LaunchRow, 'id' | 'taskId' | 'kind'>>): Promise<void> {
  await db.update(launches).set(set).where(eq(launches.id, id));
}

/** Counted as it happens, so a killed process leaves the true figures behind. */
export async function countBatch(db: Db, id: number, jobsCreated: number, now: Date): Promise<void> {
  await db
    .update(launches)
    .set({ batchesSent: sql`${launches.batchesSent} + 1`, jobsCreated: sql`${launches.jobsCreated} + ${jobsCreated}`, updatedAt: now })
    .where(eq(launches.id, id));
}

export interface FailedAttempt {
  status: 'failed';
  launchId: number;
  code: string;
  message: string;
  /** The service refused (bad script id, ended group): nothing of the refused request was created. */
  business: boolean;
}

/** Records the error on the step and the attempt's row; an attempt that may have created jobs is reconciled when run again. */
export async function failLaunch(db: Db, id: number, step: ReturnType<typeof startStep>, error: unknown, now: Date): Promise<FailedAttempt> {
  step.failed(error);
  const code = errorCodeOf(error);
  const message = (error as Error)?.message ?? String(error);
  await updateLaunch(db, id, { status: 'failed', errorCode: code.slice(0, 128), errorMessage: capErrorMessage(message), finishedAt: now, updatedAt: now });
  return { status: 'failed', launchId: id, code, message, business: step.errors.at(-1)?.business === true };
}

/** The task's attempts, newest first (the dashboard shows the latest few). */
export async function readLaunches(db: Db, taskId: number, limit = 5): Promise<LaunchRow[]> {
  return db.select().from(launches).where(eq(launches.taskId, taskId)).orderBy(desc(launches.startedAt), desc(launches.id)).limit(limit);
}

/** Whether any attempt for the task may have sent CreateJobGroup without learning the group's id. */
export async function groupRequestsOf(db: Db, taskId: number): Promise<Array<{ name: string }>> {
  const rows = await db
    .select({ name: launches.jobGroupName, requested: launches.groupRequestedAt, id: launches.jobGroupId })
    .from(launches)
    .where(eq(launches.taskId, taskId));
  return rows.filter((r) => r.requested !== null && r.name !== null).map((r) => ({ name: r.name! }));
}
