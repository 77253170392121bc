// The leads the pipeline cannot finish by itself, by cause (DESIGN §3.12): each cause is written once
// here and read by close-leads (a person's decision), diagnose and /stuck. Every condition reads
// leads_task_list joined (LEFT JOIN) with af_lead_states on the lead's row id.
import { and, eq, sql, type SQL } from 'drizzle-orm';
import { leadsTaskList as lead } from '../db/schema/crm.ts';
import {
  hasJobId, isConversationMissing, isJobCancelled, isNotInJobGroup, isUnfollowed, lacksFinalStatus,
} from './lead-conditions.ts';

export const CLOSE_CAUSES = ['cancelled', 'not-in-group', 'no-conversation'] as const;
export type CloseCause = (typeof CLOSE_CAUSES)[number];

export const CLOSE_CAUSE_CONDITIONS: Record<CloseCause, SQL> = {
  /** Outbound Bot cancelled the job: it will never be called (DESIGN §3.1). */
  cancelled: and(hasJobId, lacksFinalStatus, isUnfollowed, isJobCancelled)!,
  /** A complete listing of the job group does not contain the lead: it was never called (DESIGN §3.6). */
  'not-in-group': isNotInJobGroup,
  /** Succeeded, but neither ListJobs nor DescribeJob after STUCK_AFTER gave a conversation (DESIGN §3.4). */
  'no-conversation': isConversationMissing,
};

/** The cause a person could close a lead for now, or NULL: one CASE over the conditions above. */
export const closeCauseColumn = sql<CloseCause | null>`CASE ${sql.join(
  CLOSE_CAUSES.map((cause) => sql`WHEN ${CLOSE_CAUSE_CONDITIONS[cause]} THEN ${cause}`),
  sql` `,
)} END`;

/**
 * Leads a re-call may give a new job (issue 10): no follow record and no person's interest, and a
 * call that was cancelled, never made (not in the job group), or failed without its record yet.
 */
export const RECALL_CAUSES = ['cancelled', 'not-in-group', 'failed'] as const;
export type RecallCause = (typeof RECALL_CAUSES)[number];

export function isRecallCause(value: unknown): value is RecallCause {
  return typeof value === 'string' && (RECALL_CAUSES as readonly string[]).includes(value);
}

export const RECALL_CAUSE_CONDITIONS: Record<RecallCause, SQL> = {
  cancelled: CLOSE_CAUSE_CONDITIONS.cancelled,
  'not-in-group': CLOSE_CAUSE_CONDITIONS['not-in-group'],
  failed: and(eq(lead.callStatus, 'Failed'), isUnfollowed)!,
};

/** The cause a lead could be re-called for now, or NULL: one CASE over the conditions above. */
export const recallCauseColumn = sql<RecallCause | null>`CASE ${sql.join(
  RECALL_CAUSES.map((cause) => sql`WHEN ${RECALL_CAUSE_CONDITIONS[cause]} THEN ${cause}`),
  sql` `,
)} END`;
