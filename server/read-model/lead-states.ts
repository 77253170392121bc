// What the dashboard calls a lead's state, written once over the pipeline's own conditions
// (pipeline/lead-conditions.ts), so the count shown next to a filter on the task list and the rows
// that filter shows on the task page are the same leads. Every condition reads leads_task_list
// joined (LEFT JOIN) with af_lead_states.
import { and, eq, isNotNull, sql, type SQL } from 'drizzle-orm';
import { leadStates } from '../db/schema/app.ts';
import { leadsTaskList as lead } from '../db/schema/crm.ts';
import {
  hasFinalStatus, hasJobId, isAwaitingJobId, isHandledOutside, isNotInJobGroup, isUnfollowed, lacksFinalStatus, waitsForConversation,
} from '../pipeline/lead-conditions.ts';

export const LEAD_FILTERS = ['not-synced', 'calling', 'waiting-conversation', 'followed', 'analysis-failed', 'not-in-group', 'failed-call', 'handled-outside'] as const;
export type LeadFilterState = (typeof LEAD_FILTERS)[number];
export type LeadState = LeadFilterState | 'final-unfollowed';

export function isLeadFilter(value: unknown): value is LeadFilterState {
  return typeof value === 'string' && (LEAD_FILTERS as readonly string[]).includes(value);
}

/**
 * The leads each filter shows. Filters are sets and may overlap (a Failed call is also followed once
 * its record is written); the badge below picks one state per lead.
 */
export const LEAD_FILTER_CONDITIONS: Record<LeadFilterState, SQL> = {
  'not-synced': isAwaitingJobId,
  'not-in-group': isNotInJobGroup,
  calling: and(hasJobId, lacksFinalStatus)!,
  'waiting-conversation': and(waitsForConversation, isUnfollowed)!,
  followed: isNotNull(lead.leadsFollowId),
  'analysis-failed': eq(leadStates.analysisStatus, 'failed'),
  'failed-call': eq(lead.callStatus, 'Failed'),
  'handled-outside': isHandledOutside,
};

/**
 * The one state a lead is in, most urgent first: not yet at Outbound Bot, being called, handled by a
 * person, waiting for its conversation, owed a follow record, then the kinds of finished lead. Every
 * lead falls in exactly one branch: after the first three, its call_status is final, or a person
 * decided about it (its interest or its follow record: a closed lead shows as followed).
 */
export const leadStateColumn = sql<LeadState>`CASE
  WHEN ${LEAD_FILTER_CONDITIONS['not-in-group']} THEN 'not-in-group'
  WHEN ${LEAD_FILTER_CONDITIONS['not-synced']} THEN 'not-synced'
  WHEN ${LEAD_FILTER_CONDITIONS.calling} THEN 'calling'
  WHEN ${LEAD_FILTER_CONDITIONS['handled-outside']} THEN 'handled-outside'
  WHEN ${LEAD_FILTER_CONDITIONS['waiting-conversation']} THEN 'waiting-conversation'
  WHEN ${and(hasFinalStatus, isUnfollowed)} THEN 'final-unfollowed'
  WHEN ${LEAD_FILTER_CONDITIONS['analysis-failed']} THEN 'analysis-failed'
  WHEN ${LEAD_FILTER_CONDITIONS['failed-call']} THEN 'failed-call'
  ELSE 'followed' END`;

/** The lead's row joined with its af_lead_states row, as every condition above expects. */
export const leadStatesJoin = eq(leadStates.leadRowId, lead.id);
