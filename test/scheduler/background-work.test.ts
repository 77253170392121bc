// runInBackground: dashboard actions (retry analysis, re-sync) run beside the schedule, and shutdown
// waits for them like it waits for a pass. Timing only: the work functions are stand-ins.
import { afterEach, describe, expect, it } from 'vitest';
import type { PipelineDeps } from '../../server/pipeline/deps.ts';
import { createScheduler, type Scheduler } from '../../server/scheduler/scheduler.ts';
import { captureLog, type CapturedLog } from '../llm/capture-log.ts';

const deps = {} as PipelineDeps; // never touched: no pass runs and start() is never called
let scheduler: Scheduler | undefined;

afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
});

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function schedulerWith(captured: CapturedLog): Scheduler {
  scheduler = createScheduler({ deps, log: captured.log, cron: '0 0 1 1 *', timeZone: 'UTC' });
  return scheduler;
}

const errorsOf = (captured: CapturedLog) => captured.lines.filter((line) => line.level === 50).map((line) => line.msg);

describe('runInBackground', () => {
  it('runs the work and makes stop() wait for it', async () => {
    const gate = deferred<void>();
    let finished = false;
    const s = schedulerWith(captureLog());
    expect(s.runInBackground('re-sync of task 3', async () => (await gate.promise, (finished = true)))).toBe(true);
    let stopped = false;
    const stopping = s.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    expect(finished).toBe(true);
  });

  it('logs a failure under its label instead of throwing, also when the work throws at once', async () => {
    const captured = captureLog();
    const s = schedulerWith(captured);
    expect(s.runInBackground('retry analysis of lead 9', async () => Promise.reject(new Error('LLM down')))).toBe(true);
    expect(s.runInBackground('re-sync of task 3', () => {
      throw new Error('not a promise');
    })).toBe(true);
    await s.stop();
    expect(errorsOf(captured).sort()).toEqual(['re-sync of task 3 failed: not a promise', 'retry analysis of lead 9 failed: LLM down']);
  });

  it('refuses new work once stopping, without running it', async () => {
    const s = schedulerWith(captureLog());
    const stopping = s.stop();
    let ran = false;
    expect(s.runInBackground('late', async () => (ran = true))).toBe(false);
    await stopping;
    expect(ran).toBe(false);
  });
});
