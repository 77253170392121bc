// The conditions on leads_task_list that the steps, the stage check and diagnose share. Each is
// written once here (STYLE §3) so "final", "followed" and "synced" mean the same thing everywhere.
import { and, eq, inArray, isNotNull, isNull, ne, not, notInArray, or, sql } from 'drizzle-orm';
import { leadStates } from '../db/schema/app.ts';
import { leadsTaskList as lead } from '../db/schema/crm.ts';

/** The only job statuses autofollow stores in call_status (DESIGN §3.1). */
export const FINAL_STATUSES = ['Succeeded', 'Failed'] as const;
export type FinalStatus = (typeof FINAL_STATUSES)[number];

export function isFinalStatus(status: string | null | undefined): status is FinalStatus {
  return status === 'Succeeded' || status === 'Failed';
}

export const leadOfTask = (taskId: number) => eq(lead.taskId, taskId);

export const hasJobId = and(isNotNull(lead.callJobId), ne(lead.callJobId, ''))!;
export const lacksJobId = or(isNull(lead.callJobId), eq(lead.callJobId, ''))!;

export const hasFinalStatus = inArray(lead.callStatus, [...FINAL_STATUSES]);
export const lacksFinalStatus = or(isNull(lead.callStatus), notInArray(lead.callStatus, [...FINAL_STATUSES]))!;

export const hasConversation = and(isNotNull(lead.callConversation), ne(lead.callConversation, ''))!;
export const lacksConversation = or(isNull(lead.callConversation), eq(lead.callConversation, ''))!;

/** No final status and no follow record: its call has not settled and no one closed it. */
export const isOpen = and(lacksFinalStatus, isNull(lead.leadsFollowId))!;

/** Succeeded, but the conversation has not arrived yet: fetched again later (DESIGN §3.4). */
export const waitsForConversation = and(eq(lead.callStatus, 'Succeeded'), lacksConversation)!;

/** No follow record and no interest: the spec's pre-check for creating one (spec 3.3 step 1). */
export const isUnfollowed = and(isNull(lead.leadsFollowId), isNull(lead.isInterested))!;

/** Someone outside autofollow set is_interested: such a lead gets no follow record (DESIGN §3.7). */
export const isHandledOutside = and(isNull(lead.leadsFollowId), isNotNull(lead.isInterested))!;

/** Leads whose job must be fetched (again): no final status yet, or a conversation still missing; never one a person closed. */
export const needsCallResult = and(hasJobId, isNull(lead.leadsFollowId), or(lacksFinalStatus, waitsForConversation))!;

/** Leads a follow record can be written for now: Failed, or Succeeded with its conversation. */
export const isReadyForFollowUp = and(hasFinalStatus, isUnfollowed, or(eq(lead.callStatus, 'Failed'), hasConversation))!;

/**
 * A complete listing of the job group did not contain the lead (DESIGN §3.6): the mark alone, which
 * stays on a lead closed since and goes when "re-sync job ids" clears it. Read it through the two below.
 */
export const hasNotInGroupMark = isNotNull(leadStates.notInGroupSince);

/** No job id, no final status, no follow record: not at Outbound Bot, and no one closed it. */
export const isOpenWithoutJob = and(lacksJobId, isOpen)!;

/**
 * Still waiting for a job id its group may yet list (no mark): holds the task at stage 3 (DESIGN §3.7).
 * A lead closed by a person (follow record) never does, with or without its mark.
 */
export const isAwaitingJobId = and(isOpenWithoutJob, not(hasNotInGroupMark))!;

/**
 * Not in job group (DESIGN §3.6, §3.12): open, without a job, absent from a complete listing, and no
 * person decided about it (no interest): the pipeline cannot finish it, a person closes or re-calls
 * it. The one definition of diagnose's reason, /stuck's cause, close-leads' candidates, the lead
 * filter and progress.notInJobGroup. An absent lead whose interest a person set is handled outside.
 */
export const isNotInJobGroup = and(isOpenWithoutJob, hasNotInGroupMark, isNull(lead.isInterested))!;

/**
 * Outbound Bot cancelled the lead's job: terminal, but not a call result (DESIGN §3.1). Read from
 * af_lead_states, so these need the lead joined with its state row; a lead without one is not cancelled.
 */
export const isJobCancelled = eq(leadStates.lastJobStatus, 'Cancelled');
export const isNotJobCancelled = or(isNull(leadStates.lastJobStatus), ne(leadStates.lastJobStatus, 'Cancelled'))!;

/** Succeeded, no conversation even from DescribeJob after STUCK_AFTER: a person must decide (DESIGN §3.4). */
export const isConversationMissing = and(waitsForConversation, isUnfollowed, isNotNull(leadStates.conversationCheckedAt))!;

/** 1 when the condition holds, for SUM() counts. */
export const countIf = (condition: ReturnType<typeof and>) => sql<number>`CAST(COALESCE(SUM(CASE WHEN ${condition} THEN 1 ELSE 0 END), 0) AS SIGNED)`;
