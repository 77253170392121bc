// One task, start to end: claim the lease -> the spec's steps in order (renewing the lease between
// them) -> advance the stage -> record the run -> release. No SQL or HTTP of its own.
import { errorCodeOf } from '../outboundbot/errors.ts';
import { advanceTaskStage } from './advance-task-stage.ts';
import { createFollowUps } from './create-follow-ups.ts';
import { applyDefaultInterest } from './default-interest.ts';
import type { PipelineDeps } from './deps.ts';
import { loadTask, type PendingTask } from './find-pending-tasks.ts';
import { claimLease, keepLease, LeaseLostError, releaseLease, type HeldLease } from './leases.ts';
import { describeStep, type StepReport } from './step-report.ts';
import { syncCallJobIds } from './sync-call-job-ids.ts';
import { syncCallResults } from './sync-call-results.ts';
import { finishRun, startRun, type RunOutcome } from './task-runs.ts';
import { STAGE, stageName } from './task-stages.ts';

export type RunTrigger = 'schedule' | 'api' | 'cli' | 'retry' | 'demo' | 'dashboard';

export interface TaskRunResult {
  taskId: number;
  status: 'processed' | 'leased-elsewhere' | 'not-eligible' | 'not-found';
  runId?: number;
  outcome?: Exclude<RunOutcome, 'running'>;
  stageBefore?: number;
  stageAfter?: number;
  /** When set, the task should be taken up again after this delay (DESIGN §3.9). */
  retryAfterMs?: number | null;
}

/** The spec's retry delays (spec 5.4): sync_call_job_ids and create_leads_follow 60 s, query_task_execution 30 s. */
export const RETRY_DELAY_MS = { sync_call_job_ids: 60_000, query_task_execution: 30_000, create_leads_follow: 60_000 } as const;

export async function processTask(deps: PipelineDeps, taskId: number, options: { trigger: RunTrigger }): Promise<TaskRunResult> {
  const task = await loadTask(deps.db, taskId);
  if (!task) return { taskId, status: 'not-found' };
  if ((task.taskType !== STAGE.calling && task.taskType !== STAGE.callsDone) || !task.jobGroupId) {
    return { taskId, status: 'not-eligible', stageBefore: task.taskType };
  }
  if (!(await claimLease(deps.db, taskId, deps.owner, deps.config.leaseSeconds))) {
    return { taskId, status: 'leased-elsewhere', stageBefore: task.taskType };
  }
  const log = deps.log.child({ taskId });
  const lease = keepLease(deps.db, taskId, deps.owner, deps.config.leaseSeconds, (error) => log.warn({ err: error }, 'lease renewal failed; retrying'));
  const runId = await startRun(deps.db, { taskId, owner: deps.owner, trigger: options.trigger, stageBefore: task.taskType }).catch(async (error) => {
    lease.stop();
    await releaseLease(deps.db, taskId, deps.owner).catch(() => undefined);
    throw error;
  });
  const reports: StepReport[] = [];
  let outcome: Exclude<RunOutcome, 'running'> = 'ok';
  let stageAfter: number | null = task.taskType;
  let error: unknown = null;
  try {
    stageAfter = await runSteps(deps, task, lease, reports, log);
    if (reports.some((r) => r.errors.length > 0)) outcome = 'partial';
  } catch (caught) {
    error = caught;
    outcome = caught instanceof LeaseLostError ? 'lease-lost' : 'failed';
    log.error({ err: caught }, `task ${taskId}: run ${outcome}: ${(caught as Error).message}`);
  } finally {
    lease.stop();
  }
  try {
    await finishRun(deps.db, runId, {
      outcome,
      stageAfter,
      steps: reports,
      errorCode: error ? errorCodeOf(error) : firstErrorCode(reports),
      errorMessage: error ? (error as Error).message : null,
    });
  } finally {
    if (outcome !== 'lease-lost') await releaseLease(deps.db, taskId, deps.owner);
  }
  return { taskId, status: 'processed', runId, outcome, stageBefore: task.taskType, stageAfter: stageAfter ?? task.taskType, retryAfterMs: retryDelay(reports, outcome) };
}

async function runSteps(deps: PipelineDeps, task: PendingTask, lease: HeldLease, reports: StepReport[], log: PipelineDeps['log']): Promise<number> {
  const record = (report: StepReport) => {
    reports.push(report);
    log.info(`task ${task.id} ${describeStep(report)}`);
  };
  // Stage 2 syncs job ids; so does stage 3 while some lead still has none (DESIGN §3.6). The step
  // itself returns at once when every lead has one.
  record(await syncCallJobIds(deps, task, lease));
  await lease.renew();
  record(await syncCallResults(deps, task, lease));
  await lease.renew();
  record(await createFollowUps(deps, task, lease));
  await lease.renew();
  record(await applyDefaultInterest(deps, task));

  const pagesFailed = reports.some((r) => (r.step === 'sync_call_job_ids' || r.step === 'query_task_execution') && r.incomplete);
  const started = deps.clock.now();
  const { stage, changes, progress } = await advanceTaskStage(deps.db, task.id, { allowMove: !pagesFailed });
  reports.push({
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

function firstErrorCode(reports: StepReport[]): string | null {
  return reports.flatMap((r) => r.errors)[0]?.code ?? null;
}

/** The spec's delay for the earliest failing step; nothing when the run went through. */
function retryDelay(reports: StepReport[], outcome: RunOutcome): number | null {
  if (outcome === 'failed') return RETRY_DELAY_MS.create_leads_follow;
  const failed = reports.filter((r) => r.errors.length > 0).map((r) => r.step);
  if (failed.includes('sync_call_job_ids')) return RETRY_DELAY_MS.sync_call_job_ids;
  if (failed.includes('query_task_execution')) return RETRY_DELAY_MS.query_task_execution;
  if (failed.includes('create_leads_follow')) return RETRY_DELAY_MS.create_leads_follow;
  return null;
}
