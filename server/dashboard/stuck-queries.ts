// /stuck's reads (dashboard/stuck.ts builds the causes from them). Ages are measured against the
// database's clock (UTC_TIMESTAMP), like leases. Polled every few seconds over a CRM of a million
// leads, so every statement is answered from an index and reads rows only for the few leads or runs
// that match: leases, pauses and analysis failures from small tables or an index; the lead-level
// causes of the stage-2/3 tasks as narrow ranges (Succeeded-unfollowed leads on af_idx_task_progress,
// API errors and cancelled jobs on idx_af_lead_states_attention, leads missing from their group on
// idx_af_lead_states_not_in_group, each checked as a point of af_idx_task_progress); never a MAX over
// all of a task's leads.
import { and, eq, inArray, isNotNull, isNull, lt, min, not, or, sql } from 'drizzle-orm';
import type mysql from 'mysql2/promise';
import type { Db } from '../db/client.ts';
import type { PIPELINE_INDEXES } from '../db/migrate.ts';
import { leadStates, taskLeases, taskPauses } from '../db/schema/app.ts';
import { callTasks, leadsTaskList as lead } from '../db/schema/crm.ts';
import { inIds } from '../db/batch-update.ts';
import { CLOSE_CAUSE_CONDITIONS } from '../pipeline/lead-causes.ts';
import { hasNotInGroupMark, isNotInJobGroup } from '../pipeline/lead-conditions.ts';
import { LEAD_FILTER_CONDITIONS, leadStatesJoin } from '../read-model/lead-states.ts';

export async function databaseNow(db: Db): Promise<Date> {
  const [rows] = (await db.execute(sql`SELECT UTC_TIMESTAMP(3) AS now`)) as unknown as [mysql.RowDataPacket[]];
  return utcDate(rows[0]?.now)!;
}


export interface HeldLease { taskId: number; owner: string; acquiredAt: Date | null; expiresAt: Date | null; expired: boolean; heldSeconds: number }

/** af_task_leases has one row per task ever claimed: small, read whole (owner set only). */
export async function readHeldLeases(db: Db): Promise<HeldLease[]> {
  const rows = await db
    .select({
      taskId: taskLeases.taskId, owner: taskLeases.owner, acquiredAt: taskLeases.acquiredAt, expiresAt: taskLeases.expiresAt,
      expired: sql<number>`(${taskLeases.expiresAt} IS NULL OR ${taskLeases.expiresAt} <= UTC_TIMESTAMP(3))`,
      heldSeconds: sql<number>`TIMESTAMPDIFF(SECOND, ${taskLeases.acquiredAt}, UTC_TIMESTAMP(3))`,
    })
    .from(taskLeases)
    .where(isNotNull(taskLeases.owner));
  return rows.map((r) => ({ ...r, owner: r.owner!, expired: Number(r.expired) === 1, heldSeconds: Number(r.heldSeconds ?? 0) }));
}


/** Leads whose analysis failed, at any stage, through idx_af_lead_states_analysis (no lead row read). */
export async function readAnalysisFailures(db: Db): Promise<Array<{ taskId: number; count: number; since: Date | null }>> {
  const rows = await db
    .select({ taskId: leadStates.taskId, count: sql<number>`CAST(COUNT(*) AS SIGNED)`, since: min(leadStates.analysedAt) })
    .from(leadStates)
    .where(eq(leadStates.analysisStatus, 'failed'))
    .groupBy(leadStates.taskId);
  return rows.map((r) => ({ taskId: r.taskId, count: Number(r.count), since: r.since }));
}


/** The CRM index migrate creates (PIPELINE_INDEXES); InnoDB appends the row id to it. */
const TASK_PROGRESS_INDEX = 'af_idx_task_progress' satisfies (typeof PIPELINE_INDEXES)[number]['name'];

/**
 * How a lead the pipeline never synced looks: every column of af_idx_task_progress NULL. Such a
 * lead, marked, is not in its job group (isNotInJobGroup: open, no job, no interest), and with its task
 * and row id it is one point of that index, found without reading the row.
 */
const neverTouched = and(isNull(lead.callStatus), isNull(lead.leadsFollowId), isNull(lead.isInterested), isNull(lead.callJobId))!;

export type MissingLeads = { taskId: number; count: number; since: Date | null };

/**
 * Leads not in their job group (isNotInJobGroup, as diagnose and close-leads count them), at every stage. Marks stay
 * on finished tasks, so there can be thousands: reading each one's lead row (a random page of a big
 * table) took 0.7 s at 1,000,000 leads. So each mark is first looked up as an untouched lead in
 * af_idx_task_progress (task, NULLs, row id: an index-only point, forced because the optimiser
 * would rather read the row by its primary key); only marks not found that way (a lead changed
 * since, e.g. a job id stored outside the pipeline: rare) have their lead rows read.
 */
export async function readLeadsNotInGroup(db: Db): Promise<MissingLeads[]> {
  const found = and(eq(lead.taskId, leadStates.taskId), leadStatesJoin, neverTouched);
  // One row per task with marks (a thousand at 1,000,000 leads, every finished task's never-called
  // leads): read as the driver gives them, since drizzle's mapping of them cost /stuck 3 ms of CPU.
  const [first] = (await db.execute(db
    .select({
      taskId: sql`${leadStates.taskId}`.as('task_id'),
      marks: sql`CAST(COUNT(*) AS SIGNED)`.as('marks'),
      count: sql`CAST(COUNT(${lead.id}) AS SIGNED)`.as('count'),
      since: sql`MIN(CASE WHEN ${lead.id} IS NOT NULL THEN ${leadStates.notInGroupSince} END)`.as('since'),
    })
    .from(leadStates)
    .leftJoin(lead, found, { forceIndex: TASK_PROGRESS_INDEX })
    .where(hasNotInGroupMark)
    .groupBy(leadStates.taskId))) as unknown as [mysql.RowDataPacket[]];
  const byTask = new Map(first.map((r) => [Number(r.task_id), { taskId: Number(r.task_id), count: Number(r.count), since: utcDate(r.since) }]));
  const rest = first.filter((r) => Number(r.marks) > Number(r.count)).map((r) => Number(r.task_id));
  if (rest.length > 0) {
    const others = await db
      .select({ taskId: leadStates.taskId, count: sql<number>`CAST(COUNT(*) AS SIGNED)`, since: min(leadStates.notInGroupSince) })
      .from(leadStates)
      .innerJoin(lead, leadStatesJoin)
      .where(and(inArray(leadStates.taskId, rest), isNotInJobGroup, not(and(eq(lead.taskId, leadStates.taskId), neverTouched)!)))
      .groupBy(leadStates.taskId);
    for (const r of others) {
      const entry = byTask.get(r.taskId)!;
      entry.count += Number(r.count);
      if (r.since && (!entry.since || r.since < entry.since)) entry.since = r.since;
    }
  }
  return [...byTask.values()].filter((m) => m.count > 0);
}


export interface WaitingLeads { count: number; oldest: string | null }

/**
 * As diagnose counts them (DESIGN §3.4): Succeeded, no follow record, no conversation, for longer than
 * STUCK_AFTER. Succeeded-and-unfollowed is a narrow range of af_idx_task_progress; only those rows are
 * read (the conversation and updated_time are not in the index).
 */
export async function readStuckWithoutConversation(db: Db, taskIds: number[], stuckBeforeCrm: string): Promise<Map<number, WaitingLeads>> {
  if (taskIds.length === 0) return new Map();
  const rows = await db
    .select({ taskId: lead.taskId, count: sql<number>`CAST(COUNT(*) AS SIGNED)`, oldest: min(lead.updatedTime) })
    .from(lead)
    .where(and(inArray(lead.taskId, taskIds), LEAD_FILTER_CONDITIONS['waiting-conversation'], lt(lead.updatedTime, stuckBeforeCrm)))
    .groupBy(lead.taskId);
  return new Map(rows.map((r) => [r.taskId, { count: Number(r.count), oldest: r.oldest }]));
}


export interface ApiErrorLeads { count: number; since: Date | null; lastCode: string | null }

/** API errors on leads still waiting for Outbound Bot (being called, or owed their conversation). */
export async function readApiErrors(db: Db, taskIds: number[]): Promise<Map<number, ApiErrorLeads>> {
  if (taskIds.length === 0) return new Map();
  const waitingForOutboundBot = or(LEAD_FILTER_CONDITIONS.calling, LEAD_FILTER_CONDITIONS['waiting-conversation']);
  const rows = await db
    .select({
      taskId: leadStates.taskId,
      count: sql<number>`CAST(COUNT(*) AS SIGNED)`,
      since: min(leadStates.apiErrorAt),
      lastCode: sql<string | null>`MAX(${leadStates.apiErrorCode})`,
    })
    .from(leadStates)
    .innerJoin(lead, leadStatesJoin)
    .where(and(inArray(leadStates.taskId, taskIds), isNotNull(leadStates.apiErrorCode), waitingForOutboundBot))
    .groupBy(leadStates.taskId);
  return new Map(rows.map((r) => [r.taskId, { count: Number(r.count), since: r.since, lastCode: r.lastCode }]));
}

/**
 * Leads whose job Outbound Bot cancelled and that no person has closed yet (lead-causes.ts), at every
 * stage: they hold no stage any more, so a finished task can have them. Without an API error (that
 * cause says more). A narrow range of idx_af_lead_states_job_status.
 */
export async function readCancelledJobs(db: Db): Promise<Map<number, number>> {
  const rows = await db
    .select({ taskId: leadStates.taskId, count: sql<number>`CAST(COUNT(*) AS SIGNED)` })
    .from(leadStates)
    .innerJoin(lead, leadStatesJoin)
    .where(and(eq(leadStates.lastJobStatus, 'Cancelled'), isNull(leadStates.apiErrorCode), CLOSE_CAUSE_CONDITIONS.cancelled))
    .groupBy(leadStates.taskId);
  return new Map(rows.map((r) => [r.taskId, Number(r.count)]));
}


/** Which of these task ids still have their call_tasks row (a lease or lead state can outlive its task): ids only. */
export async function readExistingTaskIds(db: Db, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const [rows] = (await db.execute(sql`SELECT ${callTasks.id} AS id FROM ${callTasks} WHERE ${inIds(callTasks.id, ids)}`)) as unknown as [mysql.RowDataPacket[]];
  return new Set(rows.map((r) => Number(r.id)));
}


export type Pauses = Map<number, { pausedAt: Date; pausedBy: string }>;

export async function readPauses(db: Db): Promise<Pauses> {
  const rows = await db.select().from(taskPauses);
  return new Map(rows.map((r) => [r.taskId, { pausedAt: r.pausedAt, pausedBy: r.pausedBy }]));
}


/** A DATETIME read through db.execute (the pool returns date strings): UTC by convention for af_*. */
function utcDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  return new Date(`${String(value).replace(' ', 'T')}Z`);
}
