// croner -> monitor.runPass(), plus the spec's delayed re-runs (DESIGN §3.9). Timing only: which tasks
// are pending, eligible or due for a retry is the pipeline's business, never decided here.
import { Cron } from 'croner';
import type { Logger } from './log.ts';
import type { PipelineDeps } from './pipeline/deps.ts';
import { describePass, runPass, type PassSummary, type RunTrigger } from './pipeline/monitor.ts';
import { processTask, type TaskRunResult } from './pipeline/process-task.ts';

export interface SchedulerOptions {
  deps: PipelineDeps;
  /** MONITOR_CRON, read in the CRM's zone (config TZ) so "0 9 * * *" means 9:00 for the operators. */
  cron: string;
  timeZone: string;
  log: Logger;
  /**
   * Re-runs of one task in a row before leaving it to the next scheduled pass: the spec retries a
   * failed step at most 3 times (automation-flow §5.4).
   */
  maxRetryRuns?: number;
  /** The pipeline's entry points; tests of timing alone may pass their own. */
  runPass?: typeof runPass;
  processTask?: typeof processTask;
}

export interface LastPass {
  trigger: RunTrigger;
  startedAt: Date;
  finishedAt: Date;
  summary: PassSummary | null;
  /** Set when the pass failed as a whole (per-task failures are in the summary). */
  error: string | null;
}

export interface Scheduler {
  start(): void;
  /** Stops the schedule and pending re-runs; resolves once the pass or re-run in progress has finished. */
  stop(): Promise<void>;
  /** Runs a pass now, or joins the one already running: two passes never overlap in one process. */
  runNow(trigger?: RunTrigger): Promise<PassSummary>;
  /**
   * Processes one task in the background (POST /api/tasks/:id/process, dashboard buttons) with the
   * same re-runs after a failed step as a pass; stop() waits for it. False once stopping.
   */
  processInBackground(taskId: number, trigger?: RunTrigger): boolean;
  nextRun(): Date | null;
  lastPass(): LastPass | null;
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { deps, log } = options;
  const pass = options.runPass ?? runPass;
  const processOne = options.processTask ?? processTask;
  const maxRetryRuns = options.maxRetryRuns ?? 3;
  let cron: Cron | null = null;
  let stopped = false;
  let running: Promise<PassSummary> | null = null;
  let last: LastPass | null = null;
  const retryTimers = new Map<number, NodeJS.Timeout>();
  const taskRuns = new Set<Promise<void>>();

  function runPassOnce(trigger: RunTrigger): Promise<PassSummary> {
    if (running) return running;
    const startedAt = new Date();
    running = pass(deps, { trigger })
      .then((summary) => {
        last = { trigger, startedAt, finishedAt: new Date(), summary, error: null };
        const retries = summary.retryLater.map((r) => `${r.taskId} in ${Math.round(r.afterMs / 1000)} s`);
        log.info({ trigger, ...countsOf(summary) }, `${describePass(summary)}${retries.length > 0 ? `; re-running task ${retries.join(', ')}` : ''}`);
        for (const retry of summary.retryLater) scheduleRetry(retry.taskId, retry.afterMs, 1);
        return summary;
      })
      .catch((error: unknown) => {
        last = { trigger, startedAt, finishedAt: new Date(), summary: null, error: messageOf(error) };
        log.error({ trigger, err: error }, `monitor pass failed: ${messageOf(error)}`);
        throw error;
      })
      .finally(() => {
        running = null;
      });
    return running;
  }

  function scheduleRetry(taskId: number, afterMs: number, attempt: number): void {
    // One pending re-run per task is enough: a second would find the same work done.
    if (stopped || retryTimers.has(taskId)) return;
    const timer = setTimeout(() => {
      retryTimers.delete(taskId);
      track(taskId, 'retry', attempt);
    }, afterMs);
    timer.unref();
    retryTimers.set(taskId, timer);
  }

  function track(taskId: number, trigger: RunTrigger, attempt: number): void {
    const run = runTask(taskId, trigger, attempt).finally(() => taskRuns.delete(run));
    taskRuns.add(run);
  }

  /** attempt 0 is a first run (API), 1..maxRetryRuns are re-runs. Never rejects. */
  async function runTask(taskId: number, trigger: RunTrigger, attempt: number): Promise<void> {
    const label = attempt === 0 ? `task ${taskId} (${trigger})` : `re-run of task ${taskId} (${attempt} of ${maxRetryRuns})`;
    try {
      const result = await processOne(deps, taskId, { trigger });
      log.info({ taskId, trigger, attempt, status: result.status, outcome: result.outcome }, `${label}: ${describeRun(result)}`);
      if (result.retryAfterMs != null && attempt < maxRetryRuns) scheduleRetry(taskId, result.retryAfterMs, attempt + 1);
    } catch (error) {
      log.error({ taskId, trigger, attempt, err: error }, `${label} failed: ${messageOf(error)}`);
    }
  }

  return {
    start() {
      if (cron || stopped) return;
      cron = new Cron(
        options.cron,
        {
          name: 'autofollow-monitor',
          timezone: options.timeZone,
          // A tick that finds the previous pass still running is skipped, not queued (DESIGN §1).
          protect: () => log.warn('monitor tick skipped: the previous pass is still running'),
        },
        // Errors are logged in runPassOnce; the schedule keeps going.
        () => runPassOnce('schedule').then(() => undefined, () => undefined),
      );
    },
    async stop() {
      stopped = true;
      cron?.stop();
      for (const timer of retryTimers.values()) clearTimeout(timer);
      retryTimers.clear();
      await Promise.allSettled([running ?? Promise.resolve(), ...taskRuns]);
    },
    runNow(trigger = 'api') {
      if (stopped) return Promise.reject(new Error('the scheduler is stopping; no new pass is started'));
      return runPassOnce(trigger);
    },
    processInBackground(taskId, trigger = 'api') {
      if (stopped) return false;
      track(taskId, trigger, 0);
      return true;
    },
    nextRun() {
      return cron?.nextRun() ?? null;
    },
    lastPass() {
      return last;
    },
  };
}

function describeRun(result: TaskRunResult): string {
  if (result.status !== 'processed') return result.status;
  const stage = result.stageAfter != null && result.stageAfter !== result.stageBefore ? `, stage ${result.stageBefore} -> ${result.stageAfter}` : '';
  return `${result.outcome ?? 'done'}${stage}`;
}

function countsOf(summary: PassSummary) {
  const { pending, processed, skipped, failed, durationMs } = summary;
  return { pending, processed, skipped, failed, retryLater: summary.retryLater.length, durationMs };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
