// What every run on a task shares, whatever its steps (processing, "re-sync job ids", "retry
// analysis"): load the task, refuse it when it is not eligible or paused, claim its lease without
// waiting for another owner (DESIGN §3.8), keep the lease renewed, record the run in af_task_runs
// with its step reports, and release the lease at the end. No SQL or HTTP of its own.
import type { Logger } from '../log.ts';
import { errorCodeOf } from '../outboundbot/errors.ts';
import type { PipelineDeps } from './deps.ts';
import { loadTask, type PendingTask } from './find-pending-tasks.ts';
import { claimLease, keepLease, LeaseLostError, releaseLease, type HeldLease } from './leases.ts';
import { changedAnything, describeStep, type StepReport } from './step-report.ts';
import { readTaskPause } from './task-pauses.ts';
import { discardRun, finishRun, startRun, type RunOutcome } from './task-runs.ts';

export type RunTrigger = 'schedule' | 'api' | 'cli' | 'retry' | 'demo' | 'dashboard';

export type RunRefusal = 'not-found' | 'not-eligible' | 'paused' | 'leased-elsewhere';

export interface RunContext {
  task: PendingTask;
  lease: HeldLease;
  log: Logger;
  /** Keeps a step's report for the run history and logs it as one line. */
  record(report: StepReport): void;
}

export type LeasedRun =
  | { status: RunRefusal; task: PendingTask | null }
  | {
      status: 'processed';
      task: PendingTask;
      runId: number;
      outcome: Exclude<RunOutcome, 'running'>;
      stageAfter: number;
      reports: StepReport[];
    };

export async function runUnderLease(
  deps: PipelineDeps,
  taskId: number,
  options: {
    trigger: RunTrigger;
    eligible(task: PendingTask): boolean;
    /** The run's steps; returns the task's stage after them. */
    work(context: RunContext): Promise<number>;
  },
): Promise<LeasedRun> {
  const task = await loadTask(deps.db, taskId);
  if (!task) return { status: 'not-found', task: null };
  if (!options.eligible(task)) return { status: 'not-eligible', task };
  // Checked before the claim, so a paused task's lease is never taken; a pause that lands after
  // this check lets this one run finish, as any run under way does (task-pauses.ts).
  if (await readTaskPause(deps.db, taskId)) return { status: 'paused', task };
  const here = `${deps.owner}\0${taskId}`;
  if (runningHere.has(here)) return { status: 'leased-elsewhere', task };
  runningHere.add(here);
  try {
    if (!(await claimLease(deps.db, taskId, deps.owner, deps.config.leaseSeconds))) return { status: 'leased-elsewhere', task };
    return await runClaimed(deps, task, options);
  } finally {
    runningHere.delete(here);
  }
}

/**
 * Runs of this process by owner and task. The lease names the process, not the run: after an
 * operator breaks a lease whose run is still working, a second run here would claim it under the
 * same name, the first would go on renewing it as its own (never noticing the break) and its release
 * would free the second's. Across processes the lease alone decides; this only keeps one process
 * from running one task twice at once.
 */
const runningHere = new Set<string>();

async function runClaimed(
  deps: PipelineDeps,
  task: PendingTask,
  options: { trigger: RunTrigger; work(context: RunContext): Promise<number> },
): Promise<LeasedRun> {
  const taskId = task.id;
  const log = deps.log.child({ taskId });
  const lease = keepLease(deps.db, taskId, deps.owner, deps.config.leaseSeconds, (error) => log.warn({ err: error }, 'lease renewal failed; retrying'));
  const runId = await startRun(deps.db, { taskId, owner: deps.owner, trigger: options.trigger, stageBefore: task.taskType }).catch(async (error) => {
    lease.stop();
    await releaseLease(deps.db, taskId, deps.owner).catch(() => undefined);
    throw error;
  });
  const reports: StepReport[] = [];
  const record = (report: StepReport) => {
    reports.push(report);
    log.info(`task ${task.id} ${describeStep(report)}`);
  };
  let outcome: Exclude<RunOutcome, 'running'> = 'ok';
  let stageAfter = task.taskType;
  let error: unknown = null;
  try {
    stageAfter = await options.work({ task, lease, log, record });
    if (reports.some((r) => r.errors.length > 0)) outcome = 'partial';
  } catch (caught) {
    error = caught;
    outcome = caught instanceof LeaseLostError ? 'lease-lost' : 'failed';
    log.error({ err: caught }, `task ${taskId}: run ${outcome}: ${(caught as Error).message}`);
  } finally {
    lease.stop();
  }
  try {
    if (outcome === 'ok' && stageAfter === task.taskType && !changedAnything(reports)) {
      await discardRun(deps.db, runId, { outcome, steps: reports });
    } else {
      await finishRun(deps.db, runId, {
        outcome,
        stageAfter,
        steps: reports,
        errorCode: error ? errorCodeOf(error) : firstErrorCode(reports),
        errorMessage: error ? (error as Error).message : null,
      });
    }
  } finally {
    if (outcome !== 'lease-lost') await releaseLease(deps.db, taskId, deps.owner);
  }
  return { status: 'processed', task, runId, outcome, stageAfter, reports };
}

function firstErrorCode(reports: StepReport[]): string | null {
  return reports.flatMap((r) => r.errors)[0]?.code ?? null;
}
