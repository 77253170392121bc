// Tasks an operator paused from the dashboard (af_task_pauses). A paused task is left out of every
// pass (findPendingTasks) and refused by processTask, resyncJobIds and retryFailedAnalyses before
// they claim its lease, until an operator resumes it.
//
// A pause does not stop work already under way: a run that holds the task's lease when the pause
// arrives finishes its steps (killing it between a page's API call and its write would only leave
// work half done); the next run is the one refused. Like leases, the pause lives in the database,
// so every running copy of the service sees it.
import { eq, exists, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { writeResult } from '../db/client.ts';
import { taskPauses } from '../db/schema/app.ts';
import { callTasks } from '../db/schema/crm.ts';

export interface TaskPause {
  taskId: number;
  pausedAt: Date;
  pausedBy: string;
}

const PAUSED_BY_LENGTH = 128; // af_task_pauses.paused_by

/** True when the task was not paused before; a second pause keeps the first one's time and name. */
export async function pauseTask(db: Db, taskId: number, by: string): Promise<boolean> {
  const result = await db
    .insert(taskPauses)
    .ignore()
    .values({ taskId, pausedAt: sql`UTC_TIMESTAMP(3)`, pausedBy: by.slice(0, PAUSED_BY_LENGTH) });
  return writeResult(result).affectedRows === 1;
}

/** True when the task was paused. */
export async function resumeTask(db: Db, taskId: number): Promise<boolean> {
  const result = await db.delete(taskPauses).where(eq(taskPauses.taskId, taskId));
  return writeResult(result).affectedRows === 1;
}

export async function readTaskPauses(db: Db, taskIds: number[]): Promise<Map<number, TaskPause>> {
  if (taskIds.length === 0) return new Map();
  const rows = await db.select().from(taskPauses).where(inArray(taskPauses.taskId, [...new Set(taskIds)]));
  return new Map(rows.map((row) => [row.taskId, row]));
}

export async function readTaskPause(db: Db, taskId: number): Promise<TaskPause | null> {
  return (await readTaskPauses(db, [taskId])).get(taskId) ?? null;
}

/** For queries over call_tasks: the task has a pause row (a primary-key lookup per task). */
export function isTaskPaused(db: Db) {
  return exists(db.select({ one: sql`1` }).from(taskPauses).where(eq(taskPauses.taskId, callTasks.id)));
}
