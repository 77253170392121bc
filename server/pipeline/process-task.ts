// One task, start to end: claim the lease -> the spec's steps in order (renewing the lease between
// them) -> advance the stage -> record the run -> release. No SQL or HTTP of its own; the lease and
// run bookkeeping is leased-run.ts, shared with the dashboard's actions.
import { advanceTaskStage } from './advance-task-stage.ts';
import { createFollowUps } from './create-follow-ups.ts';
import { applyDefaultInterest } from './default-interest.ts';
import type { PipelineDeps } from './deps.ts';
import type { PendingTask } from './find-pending-tasks.ts';
import { runUnderLease, type RunContext, type RunRefusal, type RunTrigger } from './leased-run.ts';
import { createJobIdsWritten } from './job-ids-written.ts';
import type { HeldLease } from './leases.ts';
import type { StepReport } from './step-report.ts';
import { syncCallJobIds } from './sync-call-job-ids.ts';
import { syncCallResults } from './sync-call-results.ts';
import type { RunOutcome } from './task-runs.ts';
import { STAGE, stageName } from './task-stages.ts';

export type { RunTrigger };

export interface TaskRunResult {
  taskId: number;
  /** 'paused': an operator paused the task; nothing was claimed or run (task-pauses.ts). */
  status: 'processed' | RunRefusal;
  runId?: number;
  outcome?: Exclude<RunOutcome, 'running'>;
  stageBefore?: number;
  stageAfter?: number;
  /** When set, the task should be taken up again after this delay (DESIGN §3.9). */
  retryAfterMs?: number | null;
}

export type TaskStep = (deps: PipelineDeps, task: PendingTask, lease: HeldLease) => Promise<StepReport>;

/**
 * The spec's steps in order. Stage 2 syncs job ids; so does stage 3 while some lead still has none
 * (DESIGN §3.6): the step itself returns at once when every lead has one.
 */
export const PROCESS_STEPS: readonly TaskStep[] = [syncCallJobIds, syncCallResults, createFollowUps, applyDefaultInterest];

/** The spec's retry delays (spec 5.4): sync_call_job_ids and create_leads_follow 60 s, query_task_execution 30 s. */
export const RETRY_DELAY_MS = { sync_call_job_ids: 60_000, query_task_execution: 30_000, create_leads_follow: 60_000 } as const;

/** Stages 2 and 3 with a job group: the tasks the pipeline works on. */
export function isProcessable(task: PendingTask): boolean {
  return (task.taskType === STAGE.calling || task.taskType === STAGE.callsDone) && !!task.jobGroupId;
}

export async function processTask(
  deps: PipelineDeps,
  taskId: number,
  /** `steps`: internal, for the dashboard's narrower runs (resync-job-ids.ts); the stage check always follows. */
  options: { trigger: RunTrigger; steps?: readonly TaskStep[] },
): Promise<TaskRunResult> {
  const steps = options.steps ?? PROCESS_STEPS;
  const run = await runUnderLease(deps, taskId, { trigger: options.trigger, eligible: isProcessable, work: (context) => runSteps(deps, context, steps) });
  if (run.status !== 'processed') return { taskId, status: run.status, ...(run.task ? { stageBefore: run.task.taskType } : {}) };
  return {
    taskId,
    status: 'processed',
    runId: run.runId,
    outcome: run.outcome,
    stageBefore: run.task.taskType,
    stageAfter: run.stageAfter,
    retryAfterMs: retryDelay(run.reports, run.outcome),
  };
}

async function runSteps(deps: PipelineDeps, { task, lease, log, record }: RunContext, steps: readonly TaskStep[]): Promise<number> {
  const reports: StepReport[] = [];
  const keep = (report: StepReport) => {
    reports.push(report);
    record(report);
  };
  for (let i = 0; i < steps.length; i++) {
    if (i > 0) await lease.renew();
    if (steps[i] === syncCallJobIds && steps[i + 1] === syncCallResults) {
      await syncJobIdsAlongsideResults(deps, task, lease, keep);
      i++;
    } else {
      keep(await steps[i]!(deps, task, lease));
    }
  }

  const pagesFailed = reports.some((r) => (r.step === 'sync_call_job_ids' || r.step === 'query_task_execution') && r.incomplete);
  const started = deps.clock.now();
  const { stage, changes, progress } = await advanceTaskStage(deps.db, task.id, { allowMove: !pagesFailed });
  record({
    step: 'check_and_update_task_status',
    durationMs: deps.clock.now() - started,
    counts: { stageBefore: task.taskType, stageAfter: stage, called: progress.called, withStatus: progress.withStatus, withFollow: progress.withFollow },
    errors: [],
    incomplete: false,
  });
  for (const change of changes) log.info(`task ${task.id} "${task.name}": stage ${change.from} -> ${change.to} (${stageName(change.to)})`);
  if (pagesFailed) log.warn(`task ${task.id}: a sync or status page failed, so its stage is left at ${stage} until a clean pass`);
  return stage;
}

/**
 * The two sync steps at once (issue 12): query_task_execution asks for the leads whose job ids are
 * written while sync_call_job_ids writes the rest (job-ids-written.ts). Their reports are kept in the
 * spec's order, the first one's also when the second fails. When the first fails, the second stops
 * taking pages, and both have ended before this throws.
 */
async function syncJobIdsAlongsideResults(deps: PipelineDeps, task: PendingTask, lease: HeldLease, keep: (report: StepReport) => void): Promise<void> {
  const jobIds = createJobIdsWritten();
  const [ids, results] = await Promise.allSettled([
    syncCallJobIds(deps, task, lease, jobIds).then(
      (report) => (jobIds.writtenThrough(Infinity), report),
      (error: unknown) => {
        jobIds.failed(error);
        throw error;
      },
    ),
    syncCallResults(deps, task, lease, jobIds),
  ]);
  if (ids.status === 'rejected') throw ids.reason;
  keep(ids.value);
  if (results.status === 'rejected') throw results.reason;
  keep(results.value);
}

/** The spec's delay for the earliest failing step; nothing when the run went through. */
function retryDelay(reports: StepReport[], outcome: RunOutcome): number | null {
  if (outcome === 'failed') return RETRY_DELAY_MS.create_leads_follow;
  // A business error (spec 5.4: bad parameters, unknown job group, auth) would fail the same way in
  // 60 s: it waits for the next scheduled pass, or a person. Only transient failures come back soon.
  const failed = reports.filter((r) => r.errors.some((e) => !e.business)).map((r) => r.step);
  if (failed.includes('sync_call_job_ids')) return RETRY_DELAY_MS.sync_call_job_ids;
  if (failed.includes('query_task_execution')) return RETRY_DELAY_MS.query_task_execution;
  if (failed.includes('create_leads_follow')) return RETRY_DELAY_MS.create_leads_follow;
  return null;
}
