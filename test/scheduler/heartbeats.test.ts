// "Processes alive" (af_processes): every started scheduler keeps its row fresh, records its passes,
// and removes the row when it stops; listProcesses judges liveness by the database clock.
import { eq, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../server/db/client.ts';
import { processes } from '../../server/db/schema/app.ts';
import { listProcesses } from '../../server/scheduler/heartbeats.ts';
import type { PipelineDeps } from '../../server/pipeline/deps.ts';
import type { PassSummary } from '../../server/pipeline/monitor.ts';
import { createScheduler, type Scheduler, type SchedulerOptions } from '../../server/scheduler/scheduler.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { captureLog } from '../llm/capture-log.ts';

const NEVER = '0 0 1 1 *';
const FAST_BEAT = 200;

let database: TestDatabase;
const schedulers: Scheduler[] = [];
const { log } = captureLog();

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.drop());
beforeEach(async () => database.reset());
afterEach(async () => {
  await Promise.all(schedulers.splice(0).map((s) => s.stop()));
});

function summary(overrides: Partial<PassSummary> = {}): PassSummary {
  return { pending: 0, processed: 0, skipped: 0, failed: 0, retryLater: [], durationMs: 1, results: [], ...overrides };
}

function started(owner: string, options: Partial<SchedulerOptions> = {}): Scheduler {
  const deps = { db: database.db, owner } as PipelineDeps; // all the scheduler itself touches
  const scheduler = createScheduler({ deps, log, cron: NEVER, timeZone: 'UTC', heartbeatMs: FAST_BEAT, runPass: async () => summary(), ...options });
  scheduler.start();
  schedulers.push(scheduler);
  return scheduler;
}

async function rowOf(owner: string) {
  const [row] = await database.db.select().from(processes).where(eq(processes.owner, owner));
  return row;
}

describe('processes alive', () => {
  it('lists two schedulers on one database as alive, and keeps their heartbeats moving', async () => {
    started('host-a:1:aaaa');
    started('host-b:2:bbbb');
    await vi.waitFor(async () => expect((await listProcesses(database.db)).map((p) => p.owner).sort()).toEqual(['host-a:1:aaaa', 'host-b:2:bbbb']), { timeout: 3000, interval: 50 });
    const listed = await listProcesses(database.db);
    expect(listed.every((p) => p.alive)).toBe(true);
    expect(listed[0]!.nextPassAt?.getUTCMonth()).toBe(0); // NEVER: 1 January, 00:00

    const first = (await rowOf('host-a:1:aaaa'))!.heartbeatAt.getTime();
    await vi.waitFor(async () => expect((await rowOf('host-a:1:aaaa'))!.heartbeatAt.getTime()).toBeGreaterThan(first), { timeout: 3000, interval: 50 });
  });

  it('removes a stopped scheduler and leaves the other', async () => {
    const a = started('host-a:1:aaaa');
    started('host-b:2:bbbb');
    await vi.waitFor(async () => expect(await listProcesses(database.db)).toHaveLength(2), { timeout: 3000, interval: 50 });
    await a.stop();
    expect((await listProcesses(database.db)).map((p) => p.owner)).toEqual(['host-b:2:bbbb']);
    // No late beat of the stopped one brings its row back while the other one beats on.
    const beat = (await rowOf('host-b:2:bbbb'))!.heartbeatAt.getTime();
    await vi.waitFor(async () => expect((await rowOf('host-b:2:bbbb'))!.heartbeatAt.getTime()).toBeGreaterThan(beat + FAST_BEAT), { timeout: 3000, interval: 50 });
    expect(await rowOf('host-a:1:aaaa')).toBeUndefined();
  });

  it('shows a process whose heartbeat is older than three intervals as dead, after the alive ones, and forgets it after a day', async () => {
    const stale = { startedAt: sql`UTC_TIMESTAMP(3) - INTERVAL 2 HOUR` };
    await database.db.insert(processes).values([
      { owner: 'crashed-recently', ...stale, heartbeatAt: sql`UTC_TIMESTAMP(3) - INTERVAL 46 SECOND` },
      { owner: 'crashed-long-ago', startedAt: sql`UTC_TIMESTAMP(3) - INTERVAL 3 DAY`, heartbeatAt: sql`UTC_TIMESTAMP(3) - INTERVAL 25 HOUR` },
      { owner: 'beating', ...stale, heartbeatAt: sql`UTC_TIMESTAMP(3) - INTERVAL 40 SECOND` },
    ]);
    const listed = await listProcesses(database.db);
    expect(listed.map((p) => [p.owner, p.alive])).toEqual([['beating', true], ['crashed-recently', false]]);
    expect(await rowOf('crashed-long-ago')).toBeUndefined();
  });

  it('records each pass: start, end, duration, tasks processed, error', async () => {
    let fail = false;
    const scheduler = started('host-a:1:aaaa', {
      runPass: async () => {
        if (fail) throw new Error('database went away');
        return summary({ pending: 4, processed: 3 });
      },
    });
    await scheduler.runNow('dashboard');
    await vi.waitFor(async () => expect((await rowOf('host-a:1:aaaa'))?.lastPassFinishedAt).toBeInstanceOf(Date), { timeout: 3000, interval: 20 });
    let row = (await rowOf('host-a:1:aaaa'))!;
    expect(row).toMatchObject({ lastPassProcessed: 3, lastPassError: null });
    expect(row.lastPassMs).toBeGreaterThanOrEqual(0);
    expect(row.lastPassFinishedAt!.getTime()).toBeGreaterThanOrEqual(row.lastPassStartedAt!.getTime());
    expect(row.nextPassAt?.getTime()).toBe(scheduler.nextRun()?.getTime());

    fail = true;
    await expect(scheduler.runNow('dashboard')).rejects.toThrow('database went away');
    await vi.waitFor(async () => expect((await rowOf('host-a:1:aaaa'))?.lastPassError).toBe('database went away'), { timeout: 3000, interval: 20 });
    row = (await rowOf('host-a:1:aaaa'))!;
    expect(row.lastPassProcessed).toBeNull();
  });

  it('logs a failed beat as a warning and keeps running passes', async () => {
    const broken = openDatabase(database.url);
    await broken.close(); // every statement on it now fails
    const captured = captureLog();
    const runPass = vi.fn(async () => summary({ processed: 1 }));
    const scheduler = createScheduler({ deps: { db: broken.db, owner: 'broken' } as PipelineDeps, log: captured.log, cron: NEVER, timeZone: 'UTC', heartbeatMs: 50, runPass });
    schedulers.push(scheduler);
    scheduler.start();
    await vi.waitFor(() => expect(captured.warnings().filter((w) => w.msg.startsWith('process heartbeat: cannot record a heartbeat')).length).toBeGreaterThanOrEqual(2), { timeout: 3000, interval: 20 });
    await expect(scheduler.runNow('dashboard')).resolves.toMatchObject({ processed: 1 });
    await expect(scheduler.stop()).resolves.toBeUndefined();
  });
});
