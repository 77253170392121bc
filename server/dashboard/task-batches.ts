// Per-task facts for a page of tasks, each read in ONE statement over the page's task ids (never one
// query per task): lead progress, lease, latest runs, pause. Shared by the task list and /stuck.
import { and, eq, inArray, isNotNull, or, sql } from 'drizzle-orm';
import type mysql from 'mysql2/promise';
import type { Db } from '../db/client.ts';
import { leadStates, taskLeases } from '../db/schema/app.ts';
import { leadsTaskList as lead } from '../db/schema/crm.ts';
import { countIf, hasFinalStatus, hasJobId, lacksFinalStatus, lacksJobId } from '../pipeline/lead-conditions.ts';
import { leaseIsLive } from '../pipeline/leases.ts';
import { LEAD_FILTER_CONDITIONS, leadStatesJoin } from './lead-states.ts';

export interface TaskProgressCounts {
  total: number;
  /** has call_job_id */
  synced: number;
  /** Succeeded | Failed */
  final: number;
  succeeded: number;
  failed: number;
  /** job id, no final status */
  calling: number;
  waitingConversation: number;
  /** leads_follow_id set */
  followed: number;
  /** is_interested = 1 */
  interested: number;
  analysisFailed: number;
  notInGroup: number;
  notSynced: number;
  handledOutside: number;
}

export const EMPTY_PROGRESS: TaskProgressCounts = {
  total: 0, synced: 0, final: 0, succeeded: 0, failed: 0, calling: 0, waitingConversation: 0, followed: 0, interested: 0,
  analysisFailed: 0, notInGroup: 0, notSynced: 0, handledOutside: 0,
};

/**
 * Counts per task; the per-state ones use the lead-list filters' own conditions, so they agree.
 * Three statements, each answered from an index (af_idx_task_progress, idx_af_lead_states_task)
 * instead of every lead row: the overview polls this for 50 tasks every few seconds.
 * - the lead columns the covering index holds: everything but the conversation and our own states;
 * - leads with a failed analysis or missing from their group (af_lead_states), joined only for those;
 * - Succeeded leads still owed a record, whose conversation (not indexed) is then checked row by row.
 */
export async function readProgressByTask(db: Db, taskIds: number[]): Promise<Map<number, TaskProgressCounts>> {
  if (taskIds.length === 0) return new Map();
  const f = LEAD_FILTER_CONDITIONS;
  const ofTasks = inArray(lead.taskId, taskIds);
  const [columns, states, waiting] = await Promise.all([
    db
      .select({
        taskId: lead.taskId,
        total: sql<number>`CAST(COUNT(*) AS SIGNED)`,
        synced: countIf(hasJobId),
        final: countIf(hasFinalStatus),
        succeeded: countIf(eq(lead.callStatus, 'Succeeded')),
        failed: countIf(f['failed-call']),
        calling: countIf(f.calling),
        followed: countIf(f.followed),
        interested: countIf(eq(lead.isInterested, 1)),
        unsynced: countIf(unsynced),
        handledOutside: countIf(f['handled-outside']),
      })
      .from(lead)
      .where(ofTasks)
      .groupBy(lead.taskId),
    db
      .select({
        taskId: leadStates.taskId,
        analysisFailed: countIf(f['analysis-failed']),
        notInGroup: countIf(f['not-in-group']),
      })
      // Forced (our own index, always there): left alone, the optimiser merges the global
      // analysis and not-in-group indexes over every task, 0.4 s instead of 0.07 at 1,000,000 leads.
      .from(leadStates, { forceIndex: 'idx_af_lead_states_task' })
      .innerJoin(lead, leadStatesJoin)
      .where(and(inArray(leadStates.taskId, taskIds), or(eq(leadStates.analysisStatus, 'failed'), isNotNull(leadStates.notInGroupSince))))
      .groupBy(leadStates.taskId),
    db
      .select({ taskId: lead.taskId, waitingConversation: sql<number>`CAST(COUNT(*) AS SIGNED)` })
      .from(lead)
      .where(and(ofTasks, f['waiting-conversation']))
      .groupBy(lead.taskId),
  ]);
  const extra = new Map(states.map((r) => [r.taskId, r]));
  const waitingOf = new Map(waiting.map((r) => [r.taskId, Number(r.waitingConversation)]));
  return new Map(
    columns.map(({ taskId, unsynced: unsyncedCount, ...counts }) => {
      const notInGroup = Number(extra.get(taskId)?.notInGroup ?? 0);
      return [taskId, numbers({
        ...counts,
        waitingConversation: waitingOf.get(taskId) ?? 0,
        analysisFailed: extra.get(taskId)?.analysisFailed ?? 0,
        notInGroup,
        notSynced: Number(unsyncedCount) - notInGroup,
      })];
    }),
  );
}

const unsynced = and(lacksJobId, lacksFinalStatus)!;

function numbers(counts: Record<keyof TaskProgressCounts, unknown>): TaskProgressCounts {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Number(v ?? 0)])) as unknown as TaskProgressCounts;
}

export interface LeaseFacts {
  owner: string;
  acquiredAt: Date;
  expiresAt: Date;
  expired: boolean;
}

/** Held leases (owner set) of these tasks, expired ones included: an operator must see those. */
export async function readLeasesByTask(db: Db, taskIds: number[]): Promise<Map<number, LeaseFacts>> {
  if (taskIds.length === 0) return new Map();
  const rows = await db
    .select({
      taskId: taskLeases.taskId, owner: taskLeases.owner, acquiredAt: taskLeases.acquiredAt, expiresAt: taskLeases.expiresAt,
      live: sql<number>`${leaseIsLive}`,
    })
    .from(taskLeases)
    .where(and(inArray(taskLeases.taskId, taskIds), isNotNull(taskLeases.owner)));
  const leases = new Map<number, LeaseFacts>();
  for (const row of rows) {
    if (!row.owner || !row.acquiredAt || !row.expiresAt) continue;
    leases.set(row.taskId, { owner: row.owner, acquiredAt: row.acquiredAt, expiresAt: row.expiresAt, expired: Number(row.live) !== 1 });
  }
  return leases;
}

export interface RunFacts {
  id: number;
  trigger: string;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  outcome: string;
  errorCode: string | null;
  errorMessage: string | null;
}

/**
 * The latest `perTask` runs of each task, newest first. One statement of per-task index dives
 * (UNION ALL of ORDER BY ... LIMIT on idx_af_runs_task), so a task with years of history costs the
 * same as a new one; a window function would read every run of every task on the page.
 */
export async function readLatestRunsByTask(db: Db, taskIds: number[], perTask: number): Promise<Map<number, RunFacts[]>> {
  const runs = new Map<number, RunFacts[]>();
  if (taskIds.length === 0) return runs;
  const parts = taskIds.map(
    (taskId) => sql`(SELECT id, task_id, \`trigger\`, started_at, finished_at, outcome, error_code, error_message
       FROM af_task_runs WHERE task_id = ${taskId} ORDER BY started_at DESC, id DESC LIMIT ${perTask})`,
  );
  const [rows] = (await db.execute(sql.join(parts, sql` UNION ALL `))) as unknown as [mysql.RowDataPacket[]];
  for (const row of rows) {
    const startedAt = utcDate(row.started_at)!;
    const finishedAt = utcDate(row.finished_at);
    const run: RunFacts = {
      id: Number(row.id), trigger: String(row.trigger), startedAt, finishedAt,
      durationMs: finishedAt ? finishedAt.getTime() - startedAt.getTime() : null,
      outcome: String(row.outcome), errorCode: row.error_code ?? null, errorMessage: row.error_message ?? null,
    };
    const list = runs.get(Number(row.task_id)) ?? [];
    list.push(run);
    runs.set(Number(row.task_id), list);
  }
  for (const list of runs.values()) list.sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime() || b.id - a.id);
  return runs;
}

/** An af_* DATETIME read through db.execute (the pool returns date strings): UTC by convention. */
export function utcDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  return new Date(`${String(value).replace(' ', 'T')}Z`);
}
