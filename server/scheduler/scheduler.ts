// croner -> monitor.runPass(), plus the spec's delayed re-runs (DESIGN §3.9), the shared pause switch,
// this process's heartbeat row and background work that shutdown waits for. Timing only: which tasks
// are pending, eligible or due for a retry is the pipeline's business, never decided here.
import { Cron } from 'croner';
import { HEARTBEAT_INTERVAL_MS, startHeartbeat, type Heartbeat } from './heartbeats.ts';
import type { Logger } from '../log.ts';
import { countPass } from '../metrics.ts';
import type { PipelineDeps } from '../pipeline/deps.ts';
import { describePass, runPass, type PassSummary, type RunTrigger } from '../pipeline/monitor.ts';
import { processTask, type TaskRunResult } from '../pipeline/process-task.ts';
import { deleteEndedSessions } from '../access/sessions.ts';
import { pruneRunHistory, RUN_RETENTION_DAYS, RUNS_KEPT_PER_TASK } from '../pipeline/task-runs.ts';
import { readSchedulerPause } from './scheduler-switch.ts';

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
  /** How often this process's af_processes row is refreshed (default HEARTBEAT_INTERVAL_MS). */
  heartbeatMs?: number;
  /** The pipeline's entry points; tests of timing alone may pass their own. */
  runPass?: typeof runPass;
  processTask?: typeof processTask;
  /** Reads the shared pause switch (default readSchedulerPause); timing tests with fake timers pass their own. */
  readPause?: typeof readSchedulerPause;
  /** How often, after a pass, old run history is pruned (default hourly; 0: after every pass). */
  pruneEveryMs?: number;
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
  /** Starts the schedule and this process's heartbeat row (af_processes). */
  start(): void;
  /**
   * Stops the schedule and pending re-runs; resolves once the pass, re-runs and background work in
   * progress have finished and the heartbeat row is deleted.
   */
  stop(): Promise<void>;
  /** True from the moment stop() is called: shutdown has started (GET /readyz answers 503). */
  stopping(): boolean;
  /**
   * Runs a pass now, or joins the one already running: two passes never overlap in one process.
   * An operator's explicit request, so it runs while the scheduler is paused (scheduler-switch.ts).
   */
  runNow(trigger?: RunTrigger): Promise<PassSummary>;
  /**
   * Processes one task in the background (POST /api/tasks/:id/process, dashboard buttons) with the
   * same re-runs after a failed step as a pass; stop() waits for it. False once stopping.
   */
  processInBackground(taskId: number, trigger?: RunTrigger): boolean;
  /**
   * Runs other work in the background (dashboard actions: retry analysis, re-sync) so that stop()
   * waits for it. False once stopping; errors are logged under `label`, never thrown.
   */
  runInBackground(label: string, work: () => Promise<unknown>): boolean;
  nextRun(): Date | null;
  lastPass(): LastPass | null;
  /** Tasks whose re-run waits for its delay, in task id order; stop() clears them. */
  pendingRetries(): number[];
}

let schedulersCreated = 0;

const PRUNE_EVERY_MS = 3_600_000;

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { deps, log } = options;
  const pass = options.runPass ?? runPass;
  const processOne = options.processTask ?? processTask;
  const maxRetryRuns = options.maxRetryRuns ?? 3;
  const readPause = options.readPause ?? readSchedulerPause;
  const pruneEveryMs = options.pruneEveryMs ?? PRUNE_EVERY_MS;
  let prunedAt = -Infinity; // only paces this process; any number of copies may prune at once
  let cron: Cron | null = null;
  let heartbeat: Heartbeat | null = null;
  let stopped = false;
  let stopping: Promise<void> | null = null;
  let running: Promise<PassSummary> | null = null;
  let last: LastPass | null = null;
  const retryTimers = new Map<number, NodeJS.Timeout>();
  const background = new Set<Promise<void>>();

  function runPassOnce(trigger: RunTrigger): Promise<PassSummary> {
    if (running) return running;
    const startedAt = new Date();
    heartbeat?.passStarted();
    running = pass(deps, { trigger })
      .then((summary) => {
        const finishedAt = new Date();
        last = { trigger, startedAt, finishedAt, summary, error: null };
        countPass(trigger, 'ok', summary.durationMs);
        heartbeat?.passFinished({ durationMs: finishedAt.getTime() - startedAt.getTime(), processed: summary.processed, error: null });
        const retries = summary.retryLater.map((r) => `${r.taskId} in ${Math.round(r.afterMs / 1000)} s`);
        log.info({ trigger, ...countsOf(summary) }, `${describePass(summary)}${retries.length > 0 ? `; re-running task ${retries.join(', ')}` : ''}`);
        for (const retry of summary.retryLater) scheduleRetry(retry.taskId, retry.afterMs, 1);
        if (Date.now() - prunedAt >= pruneEveryMs) {
          prunedAt = Date.now();
          track(prune());
        }
        return summary;
      })
      .catch((error: unknown) => {
        const finishedAt = new Date();
        last = { trigger, startedAt, finishedAt, summary: null, error: messageOf(error) };
        countPass(trigger, 'failed');
        heartbeat?.passFinished({ durationMs: finishedAt.getTime() - startedAt.getTime(), processed: null, error: messageOf(error) });
        log.error({ trigger, err: error }, `monitor pass failed: ${messageOf(error)}`);
        throw error;
      })
      .finally(() => {
        running = null;
      });
    return running;
  }

  /** A cron tick: a pass unless the scheduler is paused. Errors are logged in runPassOnce; the schedule goes on. */
  async function scheduledPass(): Promise<void> {
    if (await pausedFor('monitor pass')) {
      countPass('schedule', 'paused');
      return;
    }
    if (stopped) return; // stop() came while the switch was read
    await runPassOnce('schedule').catch(() => undefined);
  }

  /**
   * True, after one log line, while the shared switch says paused. Also true when the switch cannot
   * be read: the pass would need that same database, and running while an operator may have paused
   * everything is the worse mistake.
   */
  async function pausedFor(what: string, then = ''): Promise<boolean> {
    try {
      const pause = await readPause(deps.db);
      if (pause) log.info({ pausedBy: pause.pausedBy, pausedAt: pause.pausedAt }, `${what} skipped: the scheduler is paused (by ${pause.pausedBy} since ${pause.pausedAt.toISOString()})${then}`);
      return pause !== null;
    } catch (error) {
      log.error({ err: error }, `${what} skipped: cannot read the scheduler switch (${messageOf(error)})${then}`);
      return true;
    }
  }

  function scheduleRetry(taskId: number, afterMs: number, attempt: number): void {
    // One pending re-run per task is enough: a second would find the same work done.
    if (stopped || retryTimers.has(taskId)) return;
    const timer = setTimeout(() => {
      track(
        (async () => {
          const paused = await pausedFor(`re-run of task ${taskId}`, `; it waits another ${Math.round(afterMs / 1000)} s`);
          retryTimers.delete(taskId);
          if (stopped) return;
          if (paused) scheduleRetry(taskId, afterMs, attempt);
          else await runTask(taskId, 'retry', attempt);
        })(),
      );
    }, afterMs);
    timer.unref();
    retryTimers.set(taskId, timer);
  }

  /** Run history and the sessions table stay bounded. Never rejects: a failure waits for the next pass. */
  async function prune(): Promise<void> {
    try {
      const deleted = await pruneRunHistory(deps.db);
      if (deleted > 0) log.info(`run history: deleted ${deleted} run rows older than ${RUN_RETENTION_DAYS} days beyond the newest ${RUNS_KEPT_PER_TASK} of their task`);
    } catch (error) {
      log.warn({ err: error }, `pruning the run history failed: ${messageOf(error)}`);
    }
    try {
      const ended = await deleteEndedSessions(deps.db);
      if (ended > 0) log.info(`sessions: deleted ${ended} expired or idle dashboard sessions`);
    } catch (error) {
      log.warn({ err: error }, `deleting ended sessions failed: ${messageOf(error)}`);
    }
  }

  /** Work stop() must wait for. `work` never rejects. */
  function track(work: Promise<void>): void {
    const tracked = work.finally(() => background.delete(tracked));
    background.add(tracked);
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
          // croner's names are process-wide: a second scheduler in one process (tests) needs its own.
          name: `autofollow-monitor-${++schedulersCreated}`,
          timezone: options.timeZone,
          // A tick that finds the previous pass still running is skipped, not queued (DESIGN §1).
          protect: () => log.warn('monitor tick skipped: the previous pass is still running'),
        },
        () => {
          const tick = scheduledPass();
          track(tick);
          return tick;
        },
      );
      const current = cron;
      heartbeat = startHeartbeat({
        db: deps.db,
        owner: deps.owner,
        intervalMs: options.heartbeatMs ?? HEARTBEAT_INTERVAL_MS,
        log,
        nextPassAt: () => current.nextRun(),
      });
    },
    stop() {
      stopping ??= (async () => {
        stopped = true;
        cron?.stop();
        for (const timer of retryTimers.values()) clearTimeout(timer);
        retryTimers.clear();
        // The heartbeat goes on until the last work is done: the process is alive until then.
        await Promise.allSettled([running ?? Promise.resolve(), ...background]);
        await heartbeat?.stop();
      })();
      return stopping;
    },
    stopping() {
      return stopped;
    },
    runNow(trigger = 'api') {
      if (stopped) return Promise.reject(new Error('the scheduler is stopping; no new pass is started'));
      return runPassOnce(trigger);
    },
    processInBackground(taskId, trigger = 'api') {
      if (stopped) return false;
      track(runTask(taskId, trigger, 0));
      return true;
    },
    runInBackground(label, work) {
      if (stopped) return false;
      track(
        Promise.resolve()
          .then(work)
          .then(
            () => log.debug(`${label}: done`),
            (error: unknown) => log.error({ err: error }, `${label} failed: ${messageOf(error)}`),
          ),
      );
      return true;
    },
    nextRun() {
      return cron?.nextRun() ?? null;
    },
    lastPass() {
      return last;
    },
    pendingRetries() {
      return [...retryTimers.keys()].sort((a, b) => a - b);
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
