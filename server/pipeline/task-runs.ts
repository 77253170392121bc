// Run history (af_task_runs): one row per processing of a task, written when the run starts so a
// crash leaves a visible "running" row behind, and completed with the steps' reports at the end.
import { and, desc, eq, getTableColumns, getTableName, lt, sql } from 'drizzle-orm';
import { bound } from '../db/batch-update.ts';
import mysql from 'mysql2';
import type { Db } from '../db/client.ts';
import { writeResult } from '../db/client.ts';
import { taskRuns } from '../db/schema/app.ts';
import { countTaskRun } from '../metrics.ts';
import { capErrorMessage, type ChangeCount, type StepName, type StepReport } from './step-report.ts';

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

export type RunRow = typeof taskRuns.$inferSelect;

/** A run row with its duration (null while it runs). */
export interface RunFacts extends RunRow {
  durationMs: number | null;
}

const RUN_COLUMN_LIST = mysql.format('??', [Object.values(getTableColumns(taskRuns)).map((column) => column.name)]);
/** What runMoved reads, and which run it is and when it started (the order of runs): the "has it moved" lookups need no more. */
const MOVE_COLUMN_LIST = mysql.format('??', [[taskRuns.id, taskRuns.taskId, taskRuns.startedAt, taskRuns.outcome, taskRuns.stageBefore, taskRuns.stageAfter, taskRuns.steps].map((c) => c.name)]);

/**
 * The latest `perTask` runs of each task (started before `before`, when given), newest first in each
 * task's rows: one statement of per-task index dives (UNION ALL of ORDER BY ... LIMIT on
 * idx_af_runs_task), so a task with years of history costs the same as a new one (a window function
 * would read every run of every task asked for). The rows come back raw from the union. One text bound
 * in one go (db/batch-update.ts): /stuck asks about hundreds of tasks, and a query builder per task cost
 * more CPU than the database spends on the dives.
 */
async function readLatestRows(db: Db, columnList: string, taskIds: number[], perTask: number, before?: Date): Promise<mysql.RowDataPacket[]> {
  const dive = `(SELECT ${columnList} FROM ?? WHERE ?? = ?${before ? ' AND ?? < ?' : ''} ORDER BY ?? DESC, ?? DESC LIMIT ?)`;
  const values = taskIds.flatMap((taskId) => [
    getTableName(taskRuns), taskRuns.taskId.name, taskId, ...(before ? [taskRuns.startedAt.name, before] : []),
    taskRuns.startedAt.name, taskRuns.id.name, perTask,
  ]);
  const [found] = (await db.execute(bound(Array(taskIds.length).fill(dive).join(' UNION ALL '), values))) as unknown as [mysql.RowDataPacket[]];
  // A UNION's order is not its parts' order.
  return found.sort((a, b) => String(b.started_at).localeCompare(String(a.started_at)) || Number(b.id) - Number(a.id));
}

/** The latest `perTask` runs of each task (started before `before`, when given), newest first. */
export async function readLatestRunsByTask(db: Db, taskIds: number[], perTask: number, options: { before?: Date } = {}): Promise<Map<number, RunFacts[]>> {
  const runs = new Map<number, RunFacts[]>();
  if (taskIds.length === 0 || perTask <= 0) return runs;
  for (const raw of await readLatestRows(db, RUN_COLUMN_LIST, taskIds, perTask, options.before)) {
    const row = runRowOf(raw);
    const run: RunFacts = { ...row, durationMs: row.finishedAt ? row.finishedAt.getTime() - row.startedAt.getTime() : null };
    const list = runs.get(row.taskId);
    if (list) list.push(run);
    else runs.set(row.taskId, [run]);
  }
  return runs;
}

/** When a task last moved, as far back as its runs were read. */
export interface LastMoveInRuns {
  /** The newest run that moved it (runMoved), or null when none of those read did. */
  movedAt: Date | null;
  /** How many runs were read (at most the lookback). */
  runs: number;
  /** The oldest run read. */
  oldestAt: Date;
}

/**
 * Of each task's latest `lookback` runs started before `before`, the newest that moved it (/stuck's
 * "no progress since"); a task without such runs is absent. Only the columns runMoved reads.
 */
export async function readLastMoves(db: Db, taskIds: number[], lookback: number, before: Date): Promise<Map<number, LastMoveInRuns>> {
  const moves = new Map<number, LastMoveInRuns>();
  if (taskIds.length === 0 || lookback <= 0) return moves;
  for (const raw of await readLatestRows(db, MOVE_COLUMN_LIST, taskIds, lookback, before)) {
    const taskId = Number(raw.task_id);
    const startedAt = taskRuns.startedAt.mapFromDriverValue(raw.started_at) as Date;
    const move = moves.get(taskId) ?? { movedAt: null, runs: 0, oldestAt: startedAt };
    move.runs++;
    move.oldestAt = startedAt; // newest first: the last one seen is the oldest
    if (!move.movedAt && runMoved(moveFactsOf(raw))) move.movedAt = startedAt;
    moves.set(taskId, move);
  }
  return moves;
}

/** runMoved's input from a raw row of MOVE_COLUMN_LIST (or the whole row). */
function moveFactsOf(raw: mysql.RowDataPacket): Pick<RunRow, 'outcome' | 'stageBefore' | 'stageAfter' | 'steps'> {
  return { outcome: raw.outcome, stageBefore: Number(raw.stage_before), stageAfter: raw.stage_after === null ? null : Number(raw.stage_after), steps: raw.steps ?? null };
}

/**
 * A raw af_task_runs row (column names; DATETIME as text, as the pool returns it to drizzle) as a
 * select gives it. Field by field, typed as the row: a new column fails to compile here. The times
 * go through the columns' own mappers.
 */
function runRowOf(raw: mysql.RowDataPacket): RunRow {
  return {
    id: Number(raw.id), taskId: Number(raw.task_id), owner: raw.owner, trigger: raw.trigger,
    startedAt: taskRuns.startedAt.mapFromDriverValue(raw.started_at) as Date,
    finishedAt: raw.finished_at === null ? null : (taskRuns.finishedAt.mapFromDriverValue(raw.finished_at) as Date),
    outcome: raw.outcome, stageBefore: Number(raw.stage_before), stageAfter: raw.stage_after === null ? null : Number(raw.stage_after),
    steps: raw.steps ?? null, errorCode: raw.error_code ?? null, errorMessage: raw.error_message ?? null,
  };
}

/** One task's latest runs, newest first. */
export async function lastRuns(db: Db, taskId: number, limit = 5): Promise<RunFacts[]> {
  return (await readLatestRunsByTask(db, [taskId], limit)).get(taskId) ?? [];
}

/**
 * The step counts that say a run wrote something (see the pipeline's steps): any above 0 is a move.
 * Typed: a count renamed in step-report.ts fails to compile here instead of going quiet.
 */
export const RUN_WRITES: Record<StepName, readonly ChangeCount[]> = {
  sync_call_job_ids: ['matched'],
  query_task_execution: ['statusesStored'],
  create_leads_follow: ['created', 'succeeded'], // succeeded: retry-analysis rewrote a record
  default_is_interested: ['defaulted'],
  check_and_update_task_status: [], // a stage change is in the run row's stage_after
  launch: ['jobsCreated'],
  recall: ['jobsCreated'],
};

/**
 * Whether a run moved its task (/stuck's "no progress"): it ended 'ok' (a task whose runs keep
 * succeeding while Outbound Bot is still calling is waiting, not stuck), changed the stage, or its
 * steps counted writes. Every write autofollow makes to a lead happens inside a recorded run.
 */
export function runMoved(run: Pick<RunRow, 'outcome' | 'stageBefore' | 'stageAfter' | 'steps'>): boolean {
  if (run.outcome === 'ok') return true;
  if (run.stageAfter !== null && run.stageAfter !== run.stageBefore) return true;
  return stepsWrote(run.steps);
}

function stepsWrote(steps: string | null): boolean {
  if (!steps) return false;
  let reports: StepReport[];
  try {
    reports = JSON.parse(steps) as StepReport[];
  } catch {
    return false; // a run row we cannot read tells nothing either way; the task row and other runs still count
  }
  if (!Array.isArray(reports)) return false;
  return reports.some((r) => (RUN_WRITES[r?.step] ?? []).some((name) => Number(r.counts?.[name] ?? 0) > 0));
}

/**
 * Of these tasks, those that a run started since `since` moved (runMoved): a range of idx_af_runs_task
 * per task. Only what runMoved reads, as the driver gives it: /stuck asks this of every stage-2/3 task,
 * ~1,000 runs at 1,000,000 leads, and whole rows through drizzle's mapping cost it 6 ms of CPU.
 */
export async function readTasksMovedSince(db: Db, taskIds: number[], since: Date): Promise<Set<number>> {
  const moved = new Set<number>();
  if (taskIds.length === 0) return moved;
  const [rows] = (await db.execute(bound(`SELECT ${MOVE_COLUMN_LIST} FROM ?? WHERE ?? IN (?) AND ?? >= ?`, [
    getTableName(taskRuns), taskRuns.taskId.name, taskIds, taskRuns.startedAt.name, since,
  ]))) as unknown as [mysql.RowDataPacket[]];
  for (const raw of rows) {
    const taskId = Number(raw.task_id);
    if (moved.has(taskId)) continue;
    if (runMoved(moveFactsOf(raw))) moved.add(taskId);
  }
  return moved;
}
