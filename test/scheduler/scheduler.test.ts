// The scheduler decides *when* the pipeline runs, never *what* it does: these tests hand it
// stand-in pass and task functions and look only at timing, overlap and shutdown.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../server/log.ts';
import type { PipelineDeps } from '../../server/pipeline/deps.ts';
import type { PassSummary } from '../../server/pipeline/monitor.ts';
import type { TaskRunResult } from '../../server/pipeline/process-task.ts';
import { createScheduler, type Scheduler } from '../../server/scheduler/scheduler.ts';

const log = createLogger('silent', { pretty: false });
const deps = {} as PipelineDeps; // never touched: the pass, task and switch functions below ignore it
// Never paused: the switch itself is tested against the database in pause.test.ts.
const readPause = async () => null;
const NEVER = '0 0 1 1 *';
let scheduler: Scheduler | undefined;

afterEach(async () => {
  vi.useRealTimers();
  await scheduler?.stop();
  scheduler = undefined;
});

function summary(overrides: Partial<PassSummary> = {}): PassSummary {
  return { pending: 0, processed: 0, skipped: 0, failed: 0, retryLater: [], durationMs: 1, results: [], ...overrides };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const processed = (taskId: number, retryAfterMs: number | null = null): TaskRunResult => ({ taskId, status: 'processed', outcome: 'ok', retryAfterMs });

describe('scheduler', () => {
  it('runs a pass on the cron schedule', async () => {
    const ran = deferred<string>();
    scheduler = createScheduler({ deps, log, readPause, cron: '* * * * * *', timeZone: 'Asia/Shanghai', runPass: async (_d, o) => (ran.resolve(o.trigger), summary()) });
    scheduler.start();
    expect(scheduler.nextRun()).toBeInstanceOf(Date);
    expect(await ran.promise).toBe('schedule');
  });

  it('never runs two passes at once: runNow joins the pass in progress', async () => {
    const gate = deferred<void>();
    const runPass = vi.fn(async () => (await gate.promise, summary({ pending: 2 })));
    scheduler = createScheduler({ deps, log, readPause, cron: NEVER, timeZone: 'UTC', runPass });
    const first = scheduler.runNow();
    const second = scheduler.runNow();
    gate.resolve();
    expect(await first).toBe(await second);
    expect(runPass).toHaveBeenCalledTimes(1);
    expect(scheduler.lastPass()).toMatchObject({ trigger: 'api', error: null, summary: { pending: 2 } });
  });

  it('re-runs a task the pass asked to retry, after the delay, with trigger "retry"', async () => {
    vi.useFakeTimers();
    const processTask = vi.fn(async (_d: PipelineDeps, taskId: number) => processed(taskId));
    scheduler = createScheduler({
      deps, log, readPause, cron: NEVER, timeZone: 'UTC', processTask,
      runPass: async () => summary({ retryLater: [{ taskId: 7, afterMs: 60_000 }] }),
    });
    await scheduler.runNow();
    await vi.advanceTimersByTimeAsync(59_999);
    expect(processTask).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(processTask).toHaveBeenCalledWith(deps, 7, { trigger: 'retry' });
  });

  it('stops re-running a task after three re-runs in a row', async () => {
    vi.useFakeTimers();
    const processTask = vi.fn(async (_d: PipelineDeps, taskId: number) => processed(taskId, 30_000));
    scheduler = createScheduler({
      deps, log, readPause, cron: NEVER, timeZone: 'UTC', processTask,
      runPass: async () => summary({ retryLater: [{ taskId: 7, afterMs: 30_000 }] }),
    });
    await scheduler.runNow();
    await vi.advanceTimersByTimeAsync(10 * 30_000);
    expect(processTask).toHaveBeenCalledTimes(3);
  });

  it('clears pending re-runs on stop', async () => {
    vi.useFakeTimers();
    const processTask = vi.fn(async (_d: PipelineDeps, taskId: number) => processed(taskId));
    scheduler = createScheduler({
      deps, log, readPause, cron: NEVER, timeZone: 'UTC', processTask,
      runPass: async () => summary({ retryLater: [{ taskId: 7, afterMs: 1000 }] }),
    });
    await scheduler.runNow();
    expect(scheduler.pendingRetries()).toEqual([7]);
    expect(vi.getTimerCount()).toBe(1);
    await scheduler.stop();
    expect(scheduler.pendingRetries()).toEqual([]);
    expect(vi.getTimerCount(), 'the re-run timer is still set').toBe(0);
    await vi.advanceTimersByTimeAsync(5000);
    expect(processTask).not.toHaveBeenCalled();
  });

  it('waits on stop for the pass in progress, and refuses new work afterwards', async () => {
    const gate = deferred<void>();
    scheduler = createScheduler({ deps, log, readPause, cron: NEVER, timeZone: 'UTC', runPass: async () => (await gate.promise, summary()) });
    const pass = scheduler.runNow();
    let stopped = false;
    const stopping = scheduler.stop().then(() => (stopped = true));
    await Promise.resolve();
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    await pass;
    expect(scheduler.processInBackground(1)).toBe(false);
    await expect(scheduler.runNow()).rejects.toThrow(/stopping/);
  });

  it('waits on stop for a task started in the background', async () => {
    const gate = deferred<void>();
    const processTask = vi.fn(async (_d: PipelineDeps, taskId: number) => (await gate.promise, processed(taskId)));
    scheduler = createScheduler({ deps, log, readPause, cron: NEVER, timeZone: 'UTC', processTask, runPass: async () => summary() });
    expect(scheduler.processInBackground(5, 'api')).toBe(true);
    expect(processTask).toHaveBeenCalledWith(deps, 5, { trigger: 'api' });
    let stopped = false;
    const stopping = scheduler.stop().then(() => (stopped = true));
    await Promise.resolve();
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
  });

  it('records a failed pass and keeps the schedule', async () => {
    scheduler = createScheduler({ deps, log, readPause, cron: NEVER, timeZone: 'UTC', runPass: async () => Promise.reject(new Error('database went away')) });
    scheduler.start();
    await expect(scheduler.runNow('cli')).rejects.toThrow('database went away');
    expect(scheduler.lastPass()).toMatchObject({ trigger: 'cli', summary: null, error: 'database went away' });
    expect(scheduler.nextRun()).toBeInstanceOf(Date);
  });
});
