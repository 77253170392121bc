// Spec 2.1.1 get_pending_tasks: stage 2 tasks with a job group, and stage 3 tasks that still have
// unfinished leads; minus tasks another live process holds a lease on (DESIGN §3.8 replaces the
// spec's in-memory set) and tasks an operator paused (task-pauses.ts).
import { and, asc, eq, exists, inArray, isNotNull, isNull, ne, not, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { taskLeases } from '../db/schema/app.ts';
import { callTasks as task, leadsTaskList as lead } from '../db/schema/crm.ts';
import { lacksFinalStatus } from './lead-conditions.ts';
import { leaseIsLive } from './leases.ts';
import { isTaskPaused } from './task-pauses.ts';
import { STAGE } from './task-stages.ts';

export interface PendingTask {
  id: number;
  name: string;
  taskType: number;
  jobGroupId: string | null;
}

const taskColumns = { id: task.id, name: task.taskName, taskType: task.taskType, jobGroupId: task.jobGroupId };

export const hasJobGroup = and(isNotNull(task.jobGroupId), ne(task.jobGroupId, ''))!;

/** Spec 2.1.1: a stage 3 task counts only while some lead lacks call_status, leads_follow_id or is_interested. */
async function hasUnfinishedLead(db: Db, taskId: number): Promise<boolean> {
  const unfinished = or(lacksFinalStatus, isNull(lead.leadsFollowId), isNull(lead.isInterested));
  // Asked per task with LIMIT 1 rather than as an EXISTS over all tasks: the optimiser may turn the
  // latter into a semi-join that scans the whole of leads_task_list.
  const rows = await db.select({ one: sql`1` }).from(lead).where(and(eq(lead.taskId, taskId), unfinished)).limit(1);
  return rows.length > 0;
}

function isLeasedElsewhere(db: Db) {
  return exists(db.select({ one: sql`1` }).from(taskLeases).where(and(eq(taskLeases.taskId, task.id), leaseIsLive)));
}

export async function findPendingTasks(db: Db): Promise<PendingTask[]> {
  const candidates = await db
    .select(taskColumns)
    .from(task)
    .where(and(inArray(task.taskType, [STAGE.calling, STAGE.callsDone]), hasJobGroup, not(isLeasedElsewhere(db)), not(isTaskPaused(db))))
    .orderBy(asc(task.id));
  const pending: PendingTask[] = [];
  for (const candidate of candidates) {
    if (candidate.taskType === STAGE.calling || (await hasUnfinishedLead(db, candidate.id))) pending.push(candidate);
  }
  return pending;
}

/** Whether a loaded task meets the spec's conditions, ignoring leases; used to explain a skipped task. */
export async function isPending(db: Db, candidate: PendingTask): Promise<boolean> {
  if ((candidate.taskType !== STAGE.calling && candidate.taskType !== STAGE.callsDone) || !candidate.jobGroupId?.trim()) return false;
  return candidate.taskType === STAGE.calling || hasUnfinishedLead(db, candidate.id);
}

export async function loadTask(db: Db, taskId: number): Promise<PendingTask | null> {
  const [row] = await db.select(taskColumns).from(task).where(eq(task.id, taskId));
  return row ?? null;
}

