// Why a lead is not progressing (diagnose's reasons, DESIGN §4 reasonCodes): one CASE, first match
// wins, so the counts and the listed leads always agree. The counts are read from indexes: only the
// leads whose reason depends on a column no index holds (the conversation, our own states) are read
// row by row, and those are the few still in flight; the rest is counted from af_idx_task_progress.
import { and, eq, isNotNull, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { leadStates } from '../db/schema/app.ts';
import { leadsTaskList as lead } from '../db/schema/crm.ts';
import {
  hasFinalStatus, isAwaitingJobId, isHandledOutside, isJobCancelled, isNotInJobGroup, isOpen, isOpenWithoutJob, isUnfollowed,
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
 * The one reason a lead is listed under, or NULL. Reads leads_task_list LEFT JOIN af_lead_states
 * (leadStatesJoin), so a lead without a state row gets its reason too. An open lead without a job
 * that is neither of the first two is absent from its group with its interest set by a person.
 */
export const leadReasonColumn = sql<LeadReason | null>`CASE
  WHEN ${isNotInJobGroup} THEN 'not-in-job-group'
  WHEN ${isAwaitingJobId} THEN 'not-synced'
  WHEN ${isOpenWithoutJob} THEN 'handled-outside'
  WHEN ${and(isOpen, apiError)} THEN 'api-error'
  WHEN ${and(isOpen, isJobCancelled)} THEN 'job-cancelled'
  WHEN ${isOpen} THEN 'still-calling'
  WHEN ${isHandledOutside} THEN 'handled-outside'
  WHEN ${and(waiting, apiError)} THEN 'api-error'
  WHEN ${and(waiting, isNotNull(leadStates.conversationCheckedAt))} THEN 'no-conversation'
  WHEN ${waiting} THEN 'waiting-for-conversation'
  WHEN ${and(hasFinalStatus, isUnfollowed)} THEN 'follow-pending'
  WHEN ${eq(leadStates.analysisStatus, 'failed')} THEN 'analysis-failed'
  END`;

/**
 * Leads whose reason needs their row or state row: those still open (their state says api error,
 * cancelled or missing from the group) and Succeeded ones owed a record (their conversation decides).
 * Every other lead is settled, and its branch of the CASE reads only indexed columns:
 * - no follow record, interest set: handled-outside;
 * - Failed, no follow record, no interest: follow-pending;
 * - a follow record: analysis-failed when its state says so, else no reason.
 */
const readRowByRow = or(isOpen, and(eq(lead.callStatus, 'Succeeded'), isUnfollowed))!;

export type LeadReasonCounts = Record<LeadReason, number> & {
  /** Waiting for the conversation since before `stuckBefore` (DESIGN §3.4). */
  stuck: number;
};

/** Exact counts per reason (every lead under at most one), and how many waited too long for a conversation. */
export async function countLeadReasons(db: Db, taskId: number, stuckBefore: string): Promise<LeadReasonCounts> {
  const count = sql<number>`CAST(COUNT(*) AS SIGNED)`;
  const [inFlight, [handled], [failedUnfollowed], [analysis], [stuck]] = await Promise.all([
    db
      .select({ reason: leadReasonColumn, count })
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
    db
      .select({ n: count })
      .from(lead)
      .where(and(leadOfTask(taskId), waiting, sql`${lead.updatedTime} < ${stuckBefore}`)),
  ]);
  const counts = Object.fromEntries(LEAD_REASONS.map((r) => [r, 0])) as LeadReasonCounts;
  for (const row of inFlight) if (row.reason) counts[row.reason] += Number(row.count);
  counts['handled-outside'] += Number(handled?.n ?? 0);
  counts['follow-pending'] += Number(failedUnfollowed?.n ?? 0);
  counts['analysis-failed'] += Number(analysis?.n ?? 0);
  counts.stuck = Number(stuck?.n ?? 0);
  return counts;
}
