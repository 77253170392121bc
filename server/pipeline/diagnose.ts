// Spec 2.1.4 diagnose_task: whether a task is eligible for processing, why not, its statistics, and a
// reason for every lead that is not progressing (DESIGN §4 "Diagnose JSON"). Reads only.
import { and, asc, eq, isNotNull, or, sql } from 'drizzle-orm';
import { leadStates } from '../db/schema/app.ts';
import { leadsTaskList as lead } from '../db/schema/crm.ts';
import { maskPhone } from '../log.ts';
import { toCrmDateTime } from './crm-time.ts';
import type { PipelineDeps } from './deps.ts';
import { isPending, loadTask } from './find-pending-tasks.ts';
import {
  countIf, hasFinalStatus, hasJobId, isHandledOutside, isNotInJobGroup, isUnfollowed, lacksFinalStatus, lacksJobId,
  leadOfTask, waitsForConversation,
} from './lead-conditions.ts';
import { readLease } from './leases.ts';
import type { StepReport } from './step-report.ts';
import { describePause, readTaskPause } from './task-pauses.ts';
import { readTaskProgress, type TaskProgress } from './task-progress.ts';
import { lastRuns } from './task-runs.ts';
import { STAGE, stageName } from './task-stages.ts';

export type LeadReason =
  | 'not-synced' | 'not-in-job-group' | 'still-calling' | 'job-cancelled' | 'api-error'
  | 'waiting-for-conversation' | 'follow-pending' | 'analysis-failed' | 'handled-outside';

export const LEAD_REASON_TEXT: Record<LeadReason, string> = {
  'not-synced': 'not synced: no call_job_id yet',
  'not-in-job-group': 'not in job group: a complete listing of the job group does not contain this phone',
  'still-calling': 'still calling: the job has no final status yet',
  'job-cancelled': 'job cancelled in Outbound Bot: it will never reach a final status; needs a person',
  'api-error': 'API error while reading its job',
  'waiting-for-conversation': 'waiting for conversation: call Succeeded, conversation not available yet',
  'follow-pending': 'follow record due: will be written in the next pass',
  'analysis-failed': 'analysis failed: a basic follow record was written; re-run the analysis',
  'handled-outside': 'handled outside autofollow: is_interested was set by a person; no follow record',
};

export interface BlockedLead {
  leadRowId: number;
  leadsId: number;
  name: string | null;
  phone: string; // masked
  reason: LeadReason;
  detail: string | null;
}

export interface Diagnosis {
  task: { id: number; name: string; taskType: number; stageName: string; jobGroupId: string | null };
  eligible: boolean;
  reasons: string[];
  stats: Pick<TaskProgress, 'total' | 'called' | 'withStatus' | 'succeeded' | 'failed' | 'withConversation' | 'withFollow' | 'withInterest'>;
  progress: TaskProgress;
  leadReasons: Record<LeadReason, number>;
  /** Leads waiting for their conversation for longer than STUCK_AFTER (DESIGN §3.4). */
  stuckWaitingForConversation: number;
  blockedLeads: BlockedLead[];
  lease: { owner: string; acquiredAt: string; expiresAt: string; expired: boolean } | null;
  lastRuns: Array<{
    id: number; trigger: string; startedAt: string; finishedAt: string | null; outcome: string; stageBefore: number;
    stageAfter: number | null; durationMs: number | null; errorCode: string | null; errorMessage: string | null; steps: StepReport[];
  }>;
}

/** At most this many leads are listed one by one; the counts are always complete. */
export const BLOCKED_LEADS_LISTED = 200;

type DiagnoseDeps = Pick<PipelineDeps, 'db' | 'config' | 'clock'>;

export async function diagnoseTask(deps: DiagnoseDeps, taskId: number): Promise<Diagnosis | null> {
  const task = await loadTask(deps.db, taskId);
  if (!task) return null;
  const stuckBefore = toCrmDateTime(deps.clock.now() - deps.config.stuckAfterSeconds * 1000, deps.config.timeZone);
  const [progress, { stuck, ...leadReasons }, blockedLeads, lease, runs, pending, pause] = await Promise.all([
    readTaskProgress(deps.db, taskId),
    countLeadReasons(deps, taskId, stuckBefore),
    listBlockedLeads(deps, taskId, stuckBefore),
    readLease(deps.db, taskId),
    lastRuns(deps.db, taskId, 5),
    isPending(deps.db, task),
    readTaskPause(deps.db, taskId),
  ]);
  const reasons = eligibilityReasons(task, pending, lease);
  if (pause) reasons.unshift(`${describePause(pause)}: passes and "process now" leave it alone until it is resumed`);
  const liveLease = lease && !lease.expired;
  reasons.push(...progressReasons(progress, leadReasons));
  if (stuck > 0) reasons.push(`${stuck} of them waiting for the conversation for longer than STUCK_AFTER (${deps.config.stuckAfterSeconds} s): stuck`);
  const lastRun = runs[0];
  if (lastRun && lastRun.outcome !== 'ok' && lastRun.outcome !== 'running') {
    reasons.push(`last run ${lastRun.outcome}${lastRun.errorCode ? ` (${lastRun.errorCode}${lastRun.errorMessage ? `: ${lastRun.errorMessage}` : ''})` : ''}`);
  }
  return {
    task: { id: task.id, name: task.name, taskType: task.taskType, stageName: stageName(task.taskType), jobGroupId: task.jobGroupId },
    eligible: pending && !liveLease && !pause,
    reasons,
    stats: {
      total: progress.total, called: progress.called, withStatus: progress.withStatus, succeeded: progress.succeeded,
      failed: progress.failed, withConversation: progress.withConversation, withFollow: progress.withFollow, withInterest: progress.withInterest,
    },
    progress,
    leadReasons,
    stuckWaitingForConversation: stuck,
    blockedLeads,
    lease: lease ? { owner: lease.owner, acquiredAt: lease.acquiredAt.toISOString(), expiresAt: lease.expiresAt.toISOString(), expired: lease.expired } : null,
    lastRuns: runs.map((run) => ({
      id: run.id,
      trigger: run.trigger,
      startedAt: run.startedAt.toISOString(),
      finishedAt: run.finishedAt?.toISOString() ?? null,
      outcome: run.outcome,
      stageBefore: run.stageBefore,
      stageAfter: run.stageAfter,
      durationMs: run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : null,
      errorCode: run.errorCode,
      errorMessage: run.errorMessage,
      steps: run.steps ? (JSON.parse(run.steps) as StepReport[]) : [],
    })),
  };
}

function eligibilityReasons(task: { taskType: number; jobGroupId: string | null }, pending: boolean, lease: Awaited<ReturnType<typeof readLease>>): string[] {
  const reasons: string[] = [];
  if (task.taskType === STAGE.notStarted) reasons.push('stage 1 (待开始): calls have not been assigned to Outbound Bot yet');
  else if (task.taskType === STAGE.followedUp) reasons.push('stage 4 (跟进完成): the task is done');
  else if (task.taskType !== STAGE.calling && task.taskType !== STAGE.callsDone) reasons.push(`task_type ${task.taskType} is not a stage autofollow knows (1-4)`);
  if (!task.jobGroupId?.trim()) reasons.push('job_group_id is empty: nothing to read from Outbound Bot');
  if (task.taskType === STAGE.callsDone && task.jobGroupId && !pending) reasons.push('stage 3 with no unfinished lead: nothing left to do');
  if (lease && !lease.expired) reasons.push(`being processed by ${lease.owner} (lease until ${lease.expiresAt.toISOString()})`);
  if (lease?.expired) reasons.push(`lease of ${lease.owner} expired at ${lease.expiresAt.toISOString()}: the next pass takes it over`);
  return reasons;
}

function progressReasons(p: TaskProgress, counts: Record<LeadReason, number>): string[] {
  const reasons: string[] = [];
  for (const [reason, n] of Object.entries(counts) as Array<[LeadReason, number]>) {
    if (n > 0) reasons.push(`${n} lead${n === 1 ? '' : 's'} ${LEAD_REASON_TEXT[reason]}`);
  }
  if (p.total === 0) reasons.push('the task has no leads in leads_task_list');
  return reasons;
}

/** Exact counts per reason; each lead counts under one reason, in the order classify() uses. */
async function countLeadReasons(deps: DiagnoseDeps, taskId: number, stuckBefore: string): Promise<Record<LeadReason | 'stuck', number>> {
  const apiError = isNotNull(leadStates.apiErrorCode);
  const cancelled = eq(leadStates.lastJobStatus, 'Cancelled');
  const calling = and(hasJobId, lacksFinalStatus);
  const [row] = await deps.db
    .select({
      'not-synced': countIf(and(lacksJobId, lacksFinalStatus, sql`NOT (${isNotInJobGroup})`)),
      'not-in-job-group': countIf(and(lacksJobId, lacksFinalStatus, isNotInJobGroup)),
      'api-error': countIf(and(or(calling, and(waitsForConversation, isUnfollowed)), apiError)),
      'job-cancelled': countIf(and(calling, sql`NOT (${apiError})`, cancelled)),
      'still-calling': countIf(and(calling, sql`NOT (${apiError})`, sql`NOT (${cancelled})`)),
      'waiting-for-conversation': countIf(and(waitsForConversation, isUnfollowed, sql`NOT (${apiError})`)),
      'follow-pending': countIf(and(hasFinalStatus, isUnfollowed, sql`NOT (${waitsForConversation})`)),
      'analysis-failed': countIf(eq(leadStates.analysisStatus, 'failed')),
      'handled-outside': countIf(isHandledOutside),
      stuck: countIf(and(waitsForConversation, isUnfollowed, sql`${lead.updatedTime} < ${stuckBefore}`)),
    })
    .from(lead)
    .leftJoin(leadStates, eq(leadStates.leadRowId, lead.id))
    .where(leadOfTask(taskId));
  return Object.fromEntries(Object.entries(row ?? {}).map(([k, v]) => [k, Number(v ?? 0)])) as Record<LeadReason | 'stuck', number>;
}

async function listBlockedLeads(deps: DiagnoseDeps, taskId: number, stuckBefore: string): Promise<BlockedLead[]> {
  const rows = await deps.db
    .select({
      id: lead.id, leadsId: lead.leadsId, name: lead.leadsName, phone: lead.leadsPhone, jobId: lead.callJobId,
      status: lead.callStatus, followId: lead.leadsFollowId, interest: lead.isInterested, updatedTime: lead.updatedTime,
      hasConversation: sql<number>`(${lead.callConversation} IS NOT NULL AND ${lead.callConversation} <> '')`,
      notInGroupSince: leadStates.notInGroupSince, lastJobStatus: leadStates.lastJobStatus, apiErrorCode: leadStates.apiErrorCode,
      apiErrorMessage: leadStates.apiErrorMessage, analysisStatus: leadStates.analysisStatus, analysisError: leadStates.analysisError,
    })
    .from(lead)
    .leftJoin(leadStates, eq(leadStates.leadRowId, lead.id))
    .where(and(leadOfTask(taskId), or(lacksFinalStatus, isUnfollowed, isHandledOutside, eq(leadStates.analysisStatus, 'failed'))))
    .orderBy(asc(lead.id))
    .limit(BLOCKED_LEADS_LISTED);
  return rows.map((row) => {
    const { reason, detail } = classify(row, deps.config.timeZone, stuckBefore);
    return { leadRowId: row.id, leadsId: row.leadsId, name: row.name, phone: maskPhone(row.phone), reason, detail };
  });
}

type LeadRow = {
  jobId: string | null; status: string | null; followId: number | null; interest: number | null; updatedTime: string | null;
  hasConversation: number; notInGroupSince: Date | null; lastJobStatus: string | null; apiErrorCode: string | null;
  apiErrorMessage: string | null; analysisStatus: string | null; analysisError: string | null;
};

function classify(row: LeadRow, timeZone: string, stuckBefore: string): { reason: LeadReason; detail: string | null } {
  const final = row.status === 'Succeeded' || row.status === 'Failed';
  const apiError = row.apiErrorCode ? `${row.apiErrorCode}${row.apiErrorMessage ? `: ${row.apiErrorMessage}` : ''}` : null;
  if (!row.jobId && !final) {
    return row.notInGroupSince
      ? { reason: 'not-in-job-group', detail: `since ${toCrmDateTime(row.notInGroupSince.getTime(), timeZone)}` }
      : { reason: 'not-synced', detail: null };
  }
  if (!final) {
    if (apiError) return { reason: 'api-error', detail: apiError };
    if (row.lastJobStatus === 'Cancelled') return { reason: 'job-cancelled', detail: `job ${row.jobId}` };
    return { reason: 'still-calling', detail: row.lastJobStatus ? `job status ${row.lastJobStatus}` : 'not fetched yet' };
  }
  if (row.followId === null && row.interest !== null) return { reason: 'handled-outside', detail: `is_interested=${row.interest}` };
  if (row.followId === null && row.status === 'Succeeded' && !Number(row.hasConversation)) {
    if (apiError) return { reason: 'api-error', detail: apiError };
    const stuck = row.updatedTime !== null && row.updatedTime < stuckBefore;
    return { reason: 'waiting-for-conversation', detail: row.updatedTime ? `Succeeded at ${row.updatedTime}${stuck ? ' (stuck: longer than STUCK_AFTER)' : ''}` : null };
  }
  if (row.followId === null) return { reason: 'follow-pending', detail: row.status };
  return { reason: 'analysis-failed', detail: row.analysisError };
}

