// Spec 2.1.4 diagnose_task: whether a task is eligible for processing, why not, its statistics, and a
// reason for every lead that is not progressing (DESIGN §4 "Diagnose JSON"). Reads only.
import { asc, eq } from 'drizzle-orm';
import { supersededJobs } from '../db/schema/app.ts';
import { maskPhone } from '../log.ts';
import { countLeadReasons, LEAD_REASONS, listLeadsWithReasons, type LeadReason, type LeadWithReason } from '../read-model/lead-reasons.ts';
import { readTaskProgress, type TaskProgress } from '../read-model/task-progress.ts';
import { toCrmDateTime } from '../crm-time.ts';
import type { PipelineDeps } from './deps.ts';
import { isPending, loadTask } from './find-pending-tasks.ts';
import { readLease } from './leases.ts';
import type { StepReport } from './step-report.ts';
import { readTaskPause } from './task-pauses.ts';
import { lastRuns } from './task-runs.ts';
import { STAGE, stageName } from './task-stages.ts';

export { LEAD_REASONS, type LeadReason } from '../read-model/lead-reasons.ts';

/**
 * Why a task is or is not moving, as a code with the facts its sentence needs (DESIGN §4 reasonCodes).
 * The sentences, in the reader's language, come from the catalogue in web/i18n/reasons.ts, not from
 * here. Times are ISO instants.
 */
export type DiagnosisReason =
  | { code: 'paused'; by: string; since: string }
  | { code: 'stage-not-started' }
  | { code: 'stage-done' }
  | { code: 'stage-unknown'; taskType: number }
  | { code: 'no-job-group' }
  | { code: 'nothing-left' }
  | { code: 'lease-held'; owner: string; until: string }
  | { code: 'lease-expired'; owner: string; expiredAt: string }
  | { code: LeadReason; count: number; leadIds: number[] }
  | { code: 'no-leads' }
  | { code: 'stuck-waiting'; count: number; stuckAfterSeconds: number }
  | { code: 'last-run'; outcome: string; errorCode: string | null; errorMessage: string | null };

export type ReasonCode = DiagnosisReason['code'];

export const REASON_CODES: readonly ReasonCode[] = [
  'paused', 'stage-not-started', 'stage-done', 'stage-unknown', 'no-job-group', 'nothing-left', 'lease-held', 'lease-expired',
  ...LEAD_REASONS, 'no-leads', 'stuck-waiting', 'last-run',
];

export interface BlockedLead {
  leadRowId: number;
  leadsId: number;
  name: string | null;
  phone: string; // masked
  /** The job the lead follows now, if any. */
  jobId: string | null;
  reason: LeadReason;
  /** What more there is to say about it, as facts (rendered by web/i18n/render-reason.ts); the JSON's `detail` is its English text. */
  detail: LeadDetail | null;
}

/** A blocked lead's detail as a code with facts; times are CRM-zone text, errors as recorded (not translated). */
export type LeadDetail =
  | { code: 'not-in-job-group'; since: string }
  | { code: 'api-error'; errorCode: string; message: string | null }
  | { code: 'job-cancelled'; jobId: string }
  | { code: 'still-calling'; jobStatus: string }
  | { code: 'not-fetched' }
  | { code: 'handled-outside'; interest: number }
  | { code: 'no-conversation'; succeededAt: string; checkedAt: string | null }
  | { code: 'waiting-for-conversation'; succeededAt: string }
  | { code: 'waiting-stuck'; succeededAt: string }
  | { code: 'follow-pending'; status: string }
  | { code: 'analysis-failed'; error: string };

export type LeadDetailCode = LeadDetail['code'];

export const LEAD_DETAIL_CODES: readonly LeadDetailCode[] = [
  'not-in-job-group', 'api-error', 'job-cancelled', 'still-calling', 'not-fetched', 'handled-outside', 'no-conversation',
  'waiting-for-conversation', 'waiting-stuck', 'follow-pending', 'analysis-failed',
];

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
  /** Every reason, in the order diagnose prints them; `reasons` in the JSON are their English sentences. */
  reasonCodes: DiagnosisReason[];
  stats: Pick<TaskProgress, 'total' | 'called' | 'withStatus' | 'succeeded' | 'failed' | 'withFollow' | 'withInterest'> & { withConversation: number };
  progress: TaskProgress;
  leadReasons: Record<LeadReason, number>;
  /** Leads waiting for their conversation for longer than STUCK_AFTER (DESIGN §3.4). */
  stuckWaitingForConversation: number;
  blockedLeads: BlockedLead[];
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

export interface DiagnoseOptions {
  /**
   * List the blocked leads and superseded jobs (default). The task page shows the counts and
   * sentences only (its leads table lists the leads, by filter), so it skips the lists: then
   * blockedLeads and supersededJobs are empty and no reason carries lead ids.
   */
  listLeads?: boolean;
}

export async function diagnoseTask(deps: DiagnoseDeps, taskId: number, options: DiagnoseOptions = {}): Promise<Diagnosis | null> {
  const task = await loadTask(deps.db, taskId);
  if (!task) return null;
  const listLeads = options.listLeads ?? true;
  const stuckBefore = toCrmDateTime(deps.clock.now() - deps.config.stuckAfterSeconds * 1000, deps.config.timeZone);
  const [progress, { stuck, ...leadReasons }, blockedLeads, superseded, lease, runs, pending, pause] = await Promise.all([
    readTaskProgress(deps.db, taskId, { withConversation: true }),
    countLeadReasons(deps.db, taskId, stuckBefore),
    listLeads ? listBlockedLeads(deps, taskId, stuckBefore) : [],
    listLeads ? listSupersededJobs(deps, taskId) : [],
    readLease(deps.db, taskId),
    lastRuns(deps.db, taskId, 5),
    isPending(deps.db, task),
    readTaskPause(deps.db, taskId),
  ]);
  const reasons = eligibilityReasons(task, pending, lease);
  if (pause) reasons.unshift({ code: 'paused', by: pause.pausedBy, since: pause.pausedAt.toISOString() });
  const liveLease = lease && !lease.expired;
  reasons.push(...progressReasons(progress, leadReasons, blockedLeads));
  if (stuck > 0) reasons.push({ code: 'stuck-waiting', count: stuck, stuckAfterSeconds: deps.config.stuckAfterSeconds });
  const lastRun = runs[0];
  if (lastRun && lastRun.outcome !== 'ok' && lastRun.outcome !== 'running') {
    reasons.push({ code: 'last-run', outcome: lastRun.outcome, errorCode: lastRun.errorCode, errorMessage: lastRun.errorMessage });
  }
  return {
    task: { id: task.id, name: task.name, taskType: task.taskType, stageName: stageName(task.taskType), jobGroupId: task.jobGroupId },
    eligible: pending && !liveLease && !pause,
    reasonCodes: reasons,
    stats: {
      total: progress.total, called: progress.called, withStatus: progress.withStatus, succeeded: progress.succeeded,
      failed: progress.failed, withConversation: progress.withConversation ?? 0, withFollow: progress.withFollow, withInterest: progress.withInterest,
    },
    progress,
    leadReasons,
    stuckWaitingForConversation: stuck,
    blockedLeads,
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

function eligibilityReasons(task: { taskType: number; jobGroupId: string | null }, pending: boolean, lease: Awaited<ReturnType<typeof readLease>>): DiagnosisReason[] {
  const reasons: DiagnosisReason[] = [];
  if (task.taskType === STAGE.notStarted) reasons.push({ code: 'stage-not-started' });
  else if (task.taskType === STAGE.followedUp) reasons.push({ code: 'stage-done' });
  else if (task.taskType !== STAGE.calling && task.taskType !== STAGE.callsDone) reasons.push({ code: 'stage-unknown', taskType: task.taskType });
  if (!task.jobGroupId?.trim()) reasons.push({ code: 'no-job-group' });
  if (task.taskType === STAGE.callsDone && task.jobGroupId && !pending) reasons.push({ code: 'nothing-left' });
  if (lease && !lease.expired) reasons.push({ code: 'lease-held', owner: lease.owner, until: lease.expiresAt.toISOString() });
  if (lease?.expired) reasons.push({ code: 'lease-expired', owner: lease.owner, expiredAt: lease.expiresAt.toISOString() });
  return reasons;
}

/** Each lead reason with a count, with the first BLOCKED_LEADS_LISTED lead row ids under it. */
function progressReasons(p: TaskProgress, counts: Record<LeadReason, number>, blockedLeads: BlockedLead[]): DiagnosisReason[] {
  const reasons: DiagnosisReason[] = LEAD_REASONS.filter((code) => counts[code] > 0).map((code) => ({
    code, count: counts[code], leadIds: blockedLeads.filter((b) => b.reason === code).map((b) => b.leadRowId),
  }));
  if (p.total === 0) reasons.push({ code: 'no-leads' });
  return reasons;
}

async function listBlockedLeads(deps: DiagnoseDeps, taskId: number, stuckBefore: string): Promise<BlockedLead[]> {
  const rows = await listLeadsWithReasons(deps.db, taskId, BLOCKED_LEADS_LISTED);
  return rows.map((row) => ({
    leadRowId: row.id, leadsId: row.leadsId, name: row.name, phone: maskPhone(row.phone), jobId: row.jobId || null,
    reason: row.reason, detail: detailOf(row, deps.config.timeZone, stuckBefore),
  }));
}


function detailOf(row: LeadWithReason, timeZone: string, stuckBefore: string): LeadDetail | null {
  const at = (date: Date) => toCrmDateTime(date.getTime(), timeZone);
  switch (row.reason) {
    case 'not-in-job-group':
      return row.notInGroupSince ? { code: 'not-in-job-group', since: at(row.notInGroupSince) } : null;
    case 'not-synced':
      return null;
    case 'api-error':
      return row.apiErrorCode ? { code: 'api-error', errorCode: row.apiErrorCode, message: row.apiErrorMessage } : null;
    case 'job-cancelled':
      return row.jobId ? { code: 'job-cancelled', jobId: row.jobId } : null;
    case 'still-calling':
      return row.lastJobStatus ? { code: 'still-calling', jobStatus: row.lastJobStatus } : { code: 'not-fetched' };
    case 'handled-outside':
      return row.interest !== null ? { code: 'handled-outside', interest: row.interest } : null;
    case 'no-conversation':
      return row.updatedTime
        ? { code: 'no-conversation', succeededAt: row.updatedTime, checkedAt: row.conversationCheckedAt ? at(row.conversationCheckedAt) : null }
        : null;
    case 'waiting-for-conversation':
      if (!row.updatedTime) return null;
      return { code: row.updatedTime < stuckBefore ? 'waiting-stuck' : 'waiting-for-conversation', succeededAt: row.updatedTime };
    case 'follow-pending':
      return row.status ? { code: 'follow-pending', status: row.status } : null;
    case 'analysis-failed':
      return row.analysisError ? { code: 'analysis-failed', error: row.analysisError } : null;
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
