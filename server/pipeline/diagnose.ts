// Spec 2.1.4 diagnose_task: whether a task is eligible for processing, why not, its statistics, and a
// reason for every lead that is not progressing (DESIGN §4 "Diagnose JSON"). Reads only.
import { and, asc, eq, sql } from 'drizzle-orm';
import { leadStates, supersededJobs } from '../db/schema/app.ts';
import { leadsTaskList as lead } from '../db/schema/crm.ts';
import { maskPhone } from '../log.ts';
import { countLeadReasons, LEAD_REASONS, leadReasonColumn, type LeadReason } from '../read-model/lead-reasons.ts';
import { readTaskProgress, type TaskProgress } from '../read-model/task-progress.ts';
import { toCrmDateTime } from './crm-time.ts';
import type { PipelineDeps } from './deps.ts';
import { isPending, loadTask } from './find-pending-tasks.ts';
import { leadOfTask } from './lead-conditions.ts';
import { readLease } from './leases.ts';
import type { StepReport } from './step-report.ts';
import { describePause, readTaskPause } from './task-pauses.ts';
import { lastRuns } from './task-runs.ts';
import { STAGE, stageName } from './task-stages.ts';

export { LEAD_REASONS, type LeadReason } from '../read-model/lead-reasons.ts';

export const LEAD_REASON_TEXT: Record<LeadReason, string> = {
  'not-synced': 'not synced: no call_job_id yet',
  'not-in-job-group': 'not in job group: a complete listing of the job group does not contain this phone; needs a person: assign it in Outbound Bot and re-sync, or close it (autofollow close-leads --cause not-in-group)',
  'still-calling': 'still calling: the job has no final status yet',
  'job-cancelled': 'job cancelled in Outbound Bot: it will never be called; needs a person: re-call it in Outbound Bot (the lead follows the new job), or close it (autofollow close-leads --cause cancelled)',
  'api-error': 'API error while reading its job',
  'waiting-for-conversation': 'waiting for conversation: call Succeeded, conversation not available yet',
  'no-conversation': 'conversation never arrived: call Succeeded, but neither ListJobs nor DescribeJob after STUCK_AFTER has one; needs a person (autofollow close-leads --cause no-conversation)',
  'follow-pending': 'follow record due: will be written in the next pass',
  'analysis-failed': 'analysis failed: a basic follow record was written; re-run the analysis',
  'handled-outside': 'handled outside autofollow: is_interested was set by a person; no follow record',
};

export interface BlockedLead {
  leadRowId: number;
  leadsId: number;
  name: string | null;
  phone: string; // masked
  /** The job the lead follows now, if any. */
  jobId: string | null;
  reason: LeadReason;
  detail: string | null;
}

/** A job a lead followed before a newer job for its phone appeared in its group (DESIGN §3.6). */
export interface SupersededJob {
  leadRowId: number;
  jobId: string;
  lastJobStatus: string | null;
  supersededBy: string;
  at: string;
}

export interface Diagnosis {
  task: { id: number; name: string; taskType: number; stageName: string; jobGroupId: string | null };
  eligible: boolean;
  reasons: string[];
  stats: Pick<TaskProgress, 'total' | 'called' | 'withStatus' | 'succeeded' | 'failed' | 'withFollow' | 'withInterest'> & { withConversation: number };
  progress: TaskProgress;
  leadReasons: Record<LeadReason, number>;
  /** Leads waiting for their conversation for longer than STUCK_AFTER (DESIGN §3.4). */
  stuckWaitingForConversation: number;
  blockedLeads: BlockedLead[];
  /** Each lead reason with a count, as a code with its facts (the first BLOCKED_LEADS_LISTED lead row ids). */
  reasonCodes: Array<{ code: LeadReason; count: number; leadIds: number[] }>;
  supersededJobs: SupersededJob[];
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
  const [progress, { stuck, ...leadReasons }, blockedLeads, superseded, lease, runs, pending, pause] = await Promise.all([
    readTaskProgress(deps.db, taskId, { withConversation: true }),
    countLeadReasons(deps.db, taskId, stuckBefore),
    listBlockedLeads(deps, taskId, stuckBefore),
    listSupersededJobs(deps, taskId),
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
      failed: progress.failed, withConversation: progress.withConversation ?? 0, withFollow: progress.withFollow, withInterest: progress.withInterest,
    },
    progress,
    leadReasons,
    stuckWaitingForConversation: stuck,
    blockedLeads,
    reasonCodes: LEAD_REASONS.filter((code) => leadReasons[code] > 0).map((code) => ({
      code, count: leadReasons[code], leadIds: blockedLeads.filter((b) => b.reason === code).map((b) => b.leadRowId),
    })),
    supersededJobs: superseded,
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

async function listBlockedLeads(deps: DiagnoseDeps, taskId: number, stuckBefore: string): Promise<BlockedLead[]> {
  const rows = await deps.db
    .select({
      id: lead.id, leadsId: lead.leadsId, name: lead.leadsName, phone: lead.leadsPhone, jobId: lead.callJobId, status: lead.callStatus,
      interest: lead.isInterested, updatedTime: lead.updatedTime, reason: leadReasonColumn,
      notInGroupSince: leadStates.notInGroupSince, lastJobStatus: leadStates.lastJobStatus, apiErrorCode: leadStates.apiErrorCode,
      apiErrorMessage: leadStates.apiErrorMessage, analysisError: leadStates.analysisError, conversationCheckedAt: leadStates.conversationCheckedAt,
    })
    .from(lead)
    .leftJoin(leadStates, eq(leadStates.leadRowId, lead.id))
    .where(and(leadOfTask(taskId), sql`${leadReasonColumn} IS NOT NULL`))
    .orderBy(asc(lead.id))
    .limit(BLOCKED_LEADS_LISTED);
  return rows.map((row) => ({
    leadRowId: row.id, leadsId: row.leadsId, name: row.name, phone: maskPhone(row.phone), jobId: row.jobId || null,
    reason: row.reason!, detail: detailOf(row as LeadRow, deps.config.timeZone, stuckBefore),
  }));
}

type LeadRow = {
  reason: LeadReason; jobId: string | null; status: string | null; interest: number | null; updatedTime: string | null;
  notInGroupSince: Date | null; lastJobStatus: string | null; apiErrorCode: string | null; apiErrorMessage: string | null;
  analysisError: string | null; conversationCheckedAt: Date | null;
};

function detailOf(row: LeadRow, timeZone: string, stuckBefore: string): string | null {
  const at = (date: Date) => toCrmDateTime(date.getTime(), timeZone);
  switch (row.reason) {
    case 'not-in-job-group':
      return row.notInGroupSince ? `since ${at(row.notInGroupSince)}` : null;
    case 'not-synced':
      return null;
    case 'api-error':
      return `${row.apiErrorCode}${row.apiErrorMessage ? `: ${row.apiErrorMessage}` : ''}`;
    case 'job-cancelled':
      return `job ${row.jobId}`;
    case 'still-calling':
      return row.lastJobStatus ? `job status ${row.lastJobStatus}` : 'not fetched yet';
    case 'handled-outside':
      return `is_interested=${row.interest}`;
    case 'no-conversation':
      return `Succeeded at ${row.updatedTime}; DescribeJob asked at ${row.conversationCheckedAt ? at(row.conversationCheckedAt) : '?'}`;
    case 'waiting-for-conversation': {
      const stuck = row.updatedTime !== null && row.updatedTime < stuckBefore;
      return row.updatedTime ? `Succeeded at ${row.updatedTime}${stuck ? ' (stuck: longer than STUCK_AFTER)' : ''}` : null;
    }
    case 'follow-pending':
      return row.status;
    case 'analysis-failed':
      return row.analysisError;
  }
}

async function listSupersededJobs(deps: DiagnoseDeps, taskId: number): Promise<SupersededJob[]> {
  const rows = await deps.db
    .select()
    .from(supersededJobs)
    .where(eq(supersededJobs.taskId, taskId))
    .orderBy(asc(supersededJobs.leadRowId), asc(supersededJobs.supersededAt))
    .limit(BLOCKED_LEADS_LISTED);
  return rows.map((r) => ({ leadRowId: r.leadRowId, jobId: r.jobId, lastJobStatus: r.lastJobStatus, supersededBy: r.supersededBy, at: toCrmDateTime(r.supersededAt.getTime(), deps.config.timeZone) }));
}
