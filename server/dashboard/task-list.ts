// The overview "/": a page of tasks, newest first, each with its lead progress, lease, last run and
// pause. call_tasks is small (about a thousand rows): filtering and counting it exactly is cheap;
// everything about leads is read for the page's tasks only, in one grouped statement.
import { and, count, desc, eq, like, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { callTasks as task } from '../db/schema/crm.ts';
import { readTaskPauses } from '../pipeline/task-pauses.ts';
import { readLeasesByTask, type LeaseView } from '../pipeline/leases.ts';
import { readLatestRunsByTask, type RunFacts } from '../pipeline/task-runs.ts';
import { EMPTY_PROGRESS, readProgressByTask, type TaskProgress } from '../read-model/task-progress.ts';

export const STAGES = [1, 2, 3, 4] as const;
export type Stage = (typeof STAGES)[number];

export interface TaskListFilter {
  stage?: Stage;
  /** task name substring */
  q?: string;
  /** 1-based */
  page: number;
  pageSize: number;
}

export interface TaskListRow {
  id: number;
  name: string;
  stage: number;
  jobGroupId: string | null;
  /** CRM zone, as the CRM stores it */
  createdTime: string | null;
  progress: TaskProgress;
  lease: LeaseView | null;
  lastRun: RunFacts | null;
  paused: { pausedAt: Date; pausedBy: string } | null;
}

export const MAX_PAGE_SIZE = 200;

const taskColumns = { id: task.id, name: task.taskName, stage: task.taskType, jobGroupId: task.jobGroupId, createdTime: task.createdTime };
type TaskBase = { id: number; name: string; stage: number; jobGroupId: string | null; createdTime: string | null };

export async function listTasks(db: Db, filter: TaskListFilter): Promise<{ rows: TaskListRow[]; hasNext: boolean; matching: number }> {
  const { limit, offset } = pageWindow(filter);
  const where = taskFilter(filter);
  const [found, [counted]] = await Promise.all([
    db.select(taskColumns).from(task).where(where).orderBy(desc(task.id)).limit(limit + 1).offset(offset),
    db.select({ n: count() }).from(task).where(where),
  ]);
  return { rows: await withTaskFacts(db, found.slice(0, limit)), hasNext: found.length > limit, matching: Number(counted?.n ?? 0) };
}

export async function countTasksByStage(db: Db): Promise<Record<Stage, number>> {
  const rows = await db.select({ stage: task.taskType, n: count() }).from(task).groupBy(task.taskType);
  const counts: Record<Stage, number> = { 1: 0, 2: 0, 3: 0, 4: 0 };
  for (const row of rows) if ((STAGES as readonly number[]).includes(row.stage)) counts[row.stage as Stage] = Number(row.n);
  return counts;
}

/**
 * One task in the list's shape (task page header, fragment refresh); null when it does not exist.
 * `progress`: the task's progress already read (the task page's diagnosis), not read again.
 */
/** One task's row; its progress from `known.progress` when the caller reads it anyway (it may still be on its way). */
export async function readTaskRow(db: Db, taskId: number, known: { progress?: Promise<TaskProgress> } = {}): Promise<TaskListRow | null> {
  const found = await db.select(taskColumns).from(task).where(eq(task.id, taskId));
  const [row] = await withTaskFacts(db, found, known.progress?.then((progress) => new Map([[taskId, progress]])));
  return row ?? null;
}

/** Page numbers and sizes from a query string: clamped, never a page of 0 rows or 10,000. */
export function pageWindow(filter: { page: number; pageSize: number }): { limit: number; offset: number } {
  const limit = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.trunc(filter.pageSize) || 1));
  const page = Math.max(1, Math.trunc(filter.page) || 1);
  return { limit, offset: (page - 1) * limit };
}

/** A LIKE pattern matching `text` anywhere, its own % and _ taken literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function taskFilter(filter: TaskListFilter): SQL | undefined {
  const q = filter.q?.trim();
  return and(
    filter.stage !== undefined ? eq(task.taskType, filter.stage) : undefined,
    q ? like(task.taskName, containsPattern(q)) : undefined,
  );
}

async function withTaskFacts(db: Db, tasks: TaskBase[], knownProgress?: Promise<Map<number, TaskProgress>>): Promise<TaskListRow[]> {
  const ids = tasks.map((t) => t.id);
  const [progress, leases, runs, pauses] = await Promise.all([
    knownProgress ?? readProgressByTask(db, ids),
    readLeasesByTask(db, ids),
    readLatestRunsByTask(db, ids, 1),
    readTaskPauses(db, ids),
  ]);
  return tasks.map((t) => ({
    ...t,
    progress: progress.get(t.id) ?? { ...EMPTY_PROGRESS },
    lease: leases.get(t.id) ?? null,
    lastRun: runs.get(t.id)?.[0] ?? null,
    paused: pauses.get(t.id) ?? null,
  }));
}
