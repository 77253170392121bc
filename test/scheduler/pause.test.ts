// The shared "pause the whole scheduler" switch (af_settings): scheduled ticks and delayed re-runs
// wait while it is on, an operator's explicit "run a pass now" does not. Real database; the pass
// and task functions are recording stand-ins, since the scheduler only decides *when*.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PipelineDeps } from '../../server/pipeline/deps.ts';
import type { PassSummary, RunTrigger } from '../../server/pipeline/monitor.ts';
import type { TaskRunResult } from '../../server/pipeline/process-task.ts';
import { createScheduler, type Scheduler } from '../../server/scheduler/scheduler.ts';
import { pauseScheduler, readSchedulerPause, resumeScheduler } from '../../server/scheduler/scheduler-switch.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { captureLog, type CapturedLog } from '../llm/capture-log.ts';

const EVERY_SECOND = '* * * * * *';
const NEVER = '0 0 1 1 *';

let database: TestDatabase;
let deps: PipelineDeps;
let captured: CapturedLog;
let scheduler: Scheduler | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.drop());
beforeEach(async () => {
  await database.reset();
  captured = captureLog();
  deps = { db: database.db, owner: 'pause-test', log: captured.log } as PipelineDeps; // all the scheduler itself touches
});
afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
});

function summary(overrides: Partial<PassSummary> = {}): PassSummary {
  return { pending: 0, processed: 0, skipped: 0, failed: 0, retryLater: [], durationMs: 1, results: [], ...overrides };
}

const skipLines = (what: string) => captured.lines.filter((line) => line.msg.startsWith(`${what} skipped: the scheduler is paused`));

describe('the scheduler switch', () => {
  it('pauses once and resumes once, saying whether it changed, and who paused it since when', async () => {
    const before = Date.now();
    expect(await readSchedulerPause(database.db)).toBeNull();
    expect(await pauseScheduler(database.db, 'alice')).toBe(true);
    expect(await pauseScheduler(database.db, 'bob')).toBe(false);
    const pause = await readSchedulerPause(database.db);
    expect(pause?.pausedBy).toBe('alice'); // bob's click changed nothing
    expect(pause!.pausedAt.getTime()).toBeGreaterThanOrEqual(before - 2000); // the database's UTC clock
    expect(pause!.pausedAt.getTime()).toBeLessThanOrEqual(Date.now() + 2000);

    expect(await resumeScheduler(database.db, 'bob')).toBe(true);
    expect(await resumeScheduler(database.db, 'alice')).toBe(false);
    expect(await readSchedulerPause(database.db)).toBeNull();
  });

  it('lets exactly one of two operators pausing at once change it', async () => {
    const results = await Promise.all([pauseScheduler(database.db, 'alice'), pauseScheduler(database.db, 'bob')]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const both = await Promise.all([resumeScheduler(database.db, 'alice'), resumeScheduler(database.db, 'bob')]);
    expect(both.filter(Boolean)).toHaveLength(1);
  });
});

describe('a paused scheduler', () => {
  it('skips its scheduled passes with one log line each, and runs them again after resume', async () => {
    const triggers: RunTrigger[] = [];
    await pauseScheduler(database.db, 'alice');
    scheduler = createScheduler({ deps, log: captured.log, cron: EVERY_SECOND, timeZone: 'UTC', runPass: async (_d, o) => (triggers.push(o.trigger), summary()) });
    scheduler.start();

    await vi.waitFor(() => expect(skipLines('monitor pass').length).toBeGreaterThanOrEqual(2), { timeout: 5000, interval: 50 });
    expect(triggers).toEqual([]);
    expect(skipLines('monitor pass')[0]!.msg).toMatch(/by alice since \d{4}-/);

    await resumeScheduler(database.db, 'alice');
    await vi.waitFor(() => expect(triggers).toContain('schedule'), { timeout: 3000, interval: 50 });
  });

  it('still runs a pass an operator asks for', async () => {
    const runPass = vi.fn(async () => summary({ pending: 1 }));
    await pauseScheduler(database.db, 'alice');
    scheduler = createScheduler({ deps, log: captured.log, cron: NEVER, timeZone: 'UTC', runPass });
    await expect(scheduler.runNow('dashboard')).resolves.toMatchObject({ pending: 1 });
    expect(runPass).toHaveBeenCalledWith(deps, { trigger: 'dashboard' });
  });

  it('holds a delayed re-run until it is resumed', async () => {
    const processTask = vi.fn(async (_d: PipelineDeps, taskId: number): Promise<TaskRunResult> => ({ taskId, status: 'processed', outcome: 'ok', retryAfterMs: null }));
    scheduler = createScheduler({
      deps, log: captured.log, cron: NEVER, timeZone: 'UTC', processTask,
      runPass: async () => summary({ retryLater: [{ taskId: 7, afterMs: 100 }] }),
    });
    await pauseScheduler(database.db, 'alice');
    await scheduler.runNow('dashboard'); // runs although paused; its re-run must wait

    await vi.waitFor(() => expect(skipLines('re-run of task 7').length).toBeGreaterThanOrEqual(2), { timeout: 3000, interval: 20 });
    expect(processTask).not.toHaveBeenCalled();

    await resumeScheduler(database.db, 'alice');
    await vi.waitFor(() => expect(processTask).toHaveBeenCalledWith(deps, 7, { trigger: 'retry' }), { timeout: 3000, interval: 20 });
    expect(processTask).toHaveBeenCalledTimes(1);
  });

  it('skips a scheduled pass when the switch cannot be read, and says so', async () => {
    const triggers: RunTrigger[] = [];
    scheduler = createScheduler({
      deps, log: captured.log, cron: EVERY_SECOND, timeZone: 'UTC', heartbeatMs: 60_000,
      runPass: async (_d, o) => (triggers.push(o.trigger), summary()),
      readPause: async () => Promise.reject(new Error('connection lost')),
    });
    scheduler.start();
    const unreadable = () => captured.lines.filter((line) => line.msg === 'monitor pass skipped: cannot read the scheduler switch (connection lost)');
    await vi.waitFor(() => expect(unreadable().length).toBeGreaterThanOrEqual(1), { timeout: 3000, interval: 50 });
    expect(triggers).toEqual([]);
  });
});
