// Why a lead is not progressing (diagnose's reasons, DESIGN §4 reasonCodes): one CASE, first match
// wins, so the counts and the listed leads always agree. The counts are read from indexes: only the
// Succeeded leads still owed a record are read row by row (their conversation, in no index, decides);
// open leads are counted from af_idx_task_progress and their state rows, the rest from the index alone.
import { and, asc, eq, inArray, isNotNull, isNull, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { leadStates } from '../db/schema/app.ts';
import { leadsTaskList as lead } from '../db/schema/crm.ts';
import {
  countIf, hasFinalStatus, isAwaitingJobId, isHandledOutside, isJobCancelled, isNotInJobGroup, isOpen, isOpenWithoutJob, isUnfollowed,
  leadOfTask, waitsForConversation,
} from '../pipeline/lead-conditions.ts';
import { leadStatesJoin } from './lead-states.ts';

export type LeadReason =
  | 'not-synced' | 'not-in-job-group' | 'still-calling' | 'job-cancelled' | 'api-error'
  | 'waiting-for-conversation' | 'no-conversation' | 'follow-pending' | 'analysis-failed' | 'handled-outside';

export const LEAD_REASONS: readonly LeadReason[] = [
  'not-synced', 'not-in-job-group', 'still-calling', 'job-cancelled', 'api-error',
  'waiting-for-conversation', 'no-conversation', 'follow-pending', 'analysis-failed', 'handled-outside',
];

const waiting = and(waitsForConversation, isUnfollowed)!;
const apiError = isNotNull(leadStates.apiErrorCode);

/**
 * The branches an open lead (isOpen) stops at: each needs isOpen, and the last catches every open
 * lead, so for those leads the branches after them never count. They read af_idx_task_progress's
 * columns and the state row only, never the lead row.
 */
const OPEN_BRANCHES: Array<[SQL, LeadReason]> = [
  [isNotInJobGroup, 'not-in-job-group'],
  [isAwaitingJobId, 'not-synced'],
  // An open lead without a job that is neither of the first two: absent, with its interest set by a person.
  [isOpenWithoutJob, 'handled-outside'],
  [and(isOpen, apiError)!, 'api-error'],
  [and(isOpen, isJobCancelled)!, 'job-cancelled'],
  [isOpen, 'still-calling'],
];

/** The branches of leads no longer open; the waiting ones read the conversation (lead row). */
const SETTLED_BRANCHES: Array<[SQL, LeadReason]> = [
  [isHandledOutside, 'handled-outside'],
  [and(waiting, apiError)!, 'api-error'],
  [and(waiting, isNotNull(leadStates.conversationCheckedAt))!, 'no-conversation'],
  [waiting, 'waiting-for-conversation'],
  [and(hasFinalStatus, isUnfollowed)!, 'follow-pending'],
  [eq(leadStates.analysisStatus, 'failed'), 'analysis-failed'],
];

const reasonCase = (branches: Array<[SQL, LeadReason]>) =>
  sql<LeadReason | null>`CASE ${sql.join(branches.map(([condition, reason]) => sql`WHEN ${condition} THEN ${sql.raw(`'${reason}'`)}`), sql` `)} END`;

/**
 * The one reason a lead is listed under, or NULL: the first branch that matches. Reads
 * leads_task_list LEFT JOIN af_lead_states (leadStatesJoin), so a lead without a state row gets its
 * reason too.
 */
export const leadReasonColumn = reasonCase([...OPEN_BRANCHES, ...SETTLED_BRANCHES]);

/** leadReasonColumn for open leads only: the same answer, from the index and the state row. */
const openLeadReasonColumn = reasonCase(OPEN_BRANCHES);

/**
 * Settled leads whose reason needs their row: Succeeded ones owed a record, whose conversation
 * decides. Every other settled lead's branch reads only indexed columns:
 * - no follow record, interest set: handled-outside;
 * - Failed, no follow record, no interest: follow-pending;
 * - a follow record: analysis-failed when its state says so, else no reason.
 */
const readRowByRow = and(eq(lead.callStatus, 'Succeeded'), isUnfollowed)!;

export type LeadReasonCounts = Record<LeadReason, number> & {
  /** Waiting for the conversation since before `stuckBefore` (DESIGN §3.4). */
  stuck: number;
};

/** Exact counts per reason (every lead under at most one), and how many waited too long for a conversation. */
export async function countLeadReasons(db: Db, taskId: number, stuckBefore: string): Promise<LeadReasonCounts> {
  const count = sql<number>`CAST(COUNT(*) AS SIGNED)`;
  const [open, owed, [handled], [failedUnfollowed], [analysis]] = await Promise.all([
    // Forced: left alone, the optimiser reads every open lead's row through the task index.
    db
      .select({ reason: openLeadReasonColumn, count })
      .from(lead, { forceIndex: 'af_idx_task_progress' })
      .leftJoin(leadStates, leadStatesJoin)
      .where(and(leadOfTask(taskId), isOpen))
      .groupBy(openLeadReasonColumn),
    db
      .select({ reason: leadReasonColumn, count, stuck: countIf(and(waiting, sql`${lead.updatedTime} < ${stuckBefore}`)) })
      .from(lead)
      .leftJoin(leadStates, leadStatesJoin)
      .where(and(leadOfTask(taskId), readRowByRow))
      .groupBy(leadReasonColumn),
    // Two narrow ranges of af_idx_task_progress (task, status, follow, interest), not a pass over every lead.
    db.select({ n: count }).from(lead).where(and(leadOfTask(taskId), hasFinalStatus, isHandledOutside)),
    db.select({ n: count }).from(lead).where(and(leadOfTask(taskId), eq(lead.callStatus, 'Failed'), isUnfollowed)),
    db
      .select({ n: count })
      .from(leadStates)
      .innerJoin(lead, leadStatesJoin)
      .where(and(eq(leadStates.taskId, taskId), eq(leadStates.analysisStatus, 'failed'), isNotNull(lead.leadsFollowId))),
  ]);
  const counts = Object.fromEntries(LEAD_REASONS.map((r) => [r, 0])) as LeadReasonCounts;
  for (const row of [...open, ...owed]) if (row.reason) counts[row.reason] += Number(row.count);
  counts['handled-outside'] += Number(handled?.n ?? 0);
  counts['follow-pending'] += Number(failedUnfollowed?.n ?? 0);
  counts['analysis-failed'] += Number(analysis?.n ?? 0);
  counts.stuck = owed.reduce((sum, row) => sum + Number(row.stuck), 0);
  return counts;
}

/** The columns of a lead with a reason that diagnose lists it with (its row and its state row). */
export interface LeadWithReason {
  id: number; leadsId: number; name: string | null; phone: string; jobId: string | null; status: string | null;
  interest: number | null; updatedTime: string | null; reason: LeadReason;
  notInGroupSince: Date | null; lastJobStatus: string | null; apiErrorCode: string | null; apiErrorMessage: string | null;
  analysisError: string | null; conversationCheckedAt: Date | null;
}

/**
 * The first `limit` leads of the task by id that have a reason. Every branch of leadReasonColumn but
 * the last needs a lead without a follow record, and the last a failed analysis: the first `limit` ids
 * of each of those two index ranges hold the answer, so only those rows are read, not every lead up to
 * the last one listed (settled leads come first in id order: 0.05 s instead of 0.01 at 50,000 leads).
 */
export async function listLeadsWithReasons(db: Db, taskId: number, limit: number): Promise<LeadWithReason[]> {
  const [unfollowed, failedAnalyses] = await Promise.all([
    // Forced: for ORDER BY id LIMIT the optimiser prefers walking the primary key from the first lead
    // of every task (2 s at 1,000,000 leads).
    db.select({ id: lead.id }).from(lead, { forceIndex: 'af_idx_task_progress' })
      .where(and(leadOfTask(taskId), isNull(lead.leadsFollowId))).orderBy(asc(lead.id)).limit(limit),
    db.select({ id: leadStates.leadRowId }).from(leadStates)
      .where(and(eq(leadStates.taskId, taskId), eq(leadStates.analysisStatus, 'failed'))).orderBy(asc(leadStates.leadRowId)).limit(limit),
  ]);
  const candidates = [...new Set([...unfollowed, ...failedAnalyses].map((r) => r.id))].sort((a, b) => a - b).slice(0, limit);
  if (candidates.length === 0) return [];
  const rows = await db
    .select({
      id: lead.id, leadsId: lead.leadsId, name: lead.leadsName, phone: lead.leadsPhone, jobId: lead.callJobId, status: lead.callStatus,
      interest: lead.isInterested, updatedTime: lead.updatedTime, reason: leadReasonColumn,
      notInGroupSince: leadStates.notInGroupSince, lastJobStatus: leadStates.lastJobStatus, apiErrorCode: leadStates.apiErrorCode,
      apiErrorMessage: leadStates.apiErrorMessage, analysisError: leadStates.analysisError, conversationCheckedAt: leadStates.conversationCheckedAt,
    })
    .from(lead)
    .leftJoin(leadStates, leadStatesJoin)
    .where(and(inArray(lead.id, candidates), leadOfTask(taskId), sql`${leadReasonColumn} IS NOT NULL`))
    .orderBy(asc(lead.id));
  return rows as LeadWithReason[];
}
