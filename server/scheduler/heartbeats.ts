// "Processes alive": every running scheduler keeps one af_processes row fresh (owner = the lease
// owner name), with its last pass and its next one. Liveness is judged by the database clock
// (UTC_TIMESTAMP), never a process clock, like leases (DESIGN §3.8), so copies on hosts whose
// clocks disagree still see each other right.
import { desc, eq, sql } from 'drizzle-orm';
import type { MySqlUpdateSetSource } from 'drizzle-orm/mysql-core';
import type { Db } from '../db/client.ts';
import { processes } from '../db/schema/app.ts';
import type { Logger } from '../log.ts';

export interface ProcessView {
  owner: string;
  startedAt: Date;
  heartbeatAt: Date;
  alive: boolean;
  lastPassStartedAt: Date | null;
  /** Null while the pass that started at lastPassStartedAt is still running. */
  lastPassFinishedAt: Date | null;
  lastPassMs: number | null;
  lastPassProcessed: number | null;
  lastPassError: string | null;
  nextPassAt: Date | null;
}

export const HEARTBEAT_INTERVAL_MS = 15_000;
/** A process is alive while its heartbeat is younger than this many intervals: one lost beat is not death. */
const ALIVE_WITHIN_INTERVALS = 3;
const ALIVE_WITHIN_SECONDS = (HEARTBEAT_INTERVAL_MS * ALIVE_WITHIN_INTERVALS) / 1000;
/** Rows of processes dead this long are deleted by listProcesses: crashed copies do not pile up. */
const FORGET_AFTER_DAYS = 1;

/** Alive first, newest first; rows dead for more than a day are deleted on the way. */
export async function listProcesses(db: Db): Promise<ProcessView[]> {
  await db.delete(processes).where(sql`${processes.heartbeatAt} < UTC_TIMESTAMP(3) - INTERVAL ${sql.raw(String(FORGET_AFTER_DAYS))} DAY`);
  const alive = sql<number>`(${processes.heartbeatAt} >= UTC_TIMESTAMP(3) - INTERVAL ${sql.raw(String(ALIVE_WITHIN_SECONDS))} SECOND)`;
  const rows = await db
    .select({
      owner: processes.owner,
      startedAt: processes.startedAt,
      heartbeatAt: processes.heartbeatAt,
      alive,
      lastPassStartedAt: processes.lastPassStartedAt,
      lastPassFinishedAt: processes.lastPassFinishedAt,
      lastPassMs: processes.lastPassMs,
      lastPassProcessed: processes.lastPassProcessed,
      lastPassError: processes.lastPassError,
      nextPassAt: processes.nextPassAt,
    })
    .from(processes)
    .orderBy(desc(alive), desc(processes.startedAt), processes.owner);
  return rows.map((row) => ({ ...row, alive: Number(row.alive) === 1 }));
}

export interface PassRecord {
  durationMs: number;
  processed: number | null;
  error: string | null;
}

export interface Heartbeat {
  passStarted(): void;
  passFinished(pass: PassRecord): void;
  /** Stops beating and deletes the row; resolves once every write has settled. */
  stop(): Promise<void>;
}

export interface HeartbeatOptions {
  db: Db;
  owner: string;
  intervalMs: number;
  log: Logger;
  /** The scheduler's next pass, stored with every write. */
  nextPassAt: () => Date | null;
}

/**
 * Writes the row now, beats every intervalMs on an unref'd timer (it never keeps the process up),
 * and records passes. Writes run one after another, so a stop's delete always comes last; a failed
 * write logs a warning and never throws: the dashboard showing us dead must not stop the work.
 */
export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  const { db, owner, log } = options;
  let writes: Promise<void> = Promise.resolve();
  let beatPending = false;
  let stopped = false;

  function write(what: string, statement: () => Promise<unknown>): void {
    writes = writes.then(statement).then(
      () => undefined,
      (error: unknown) => log.warn({ err: error, owner }, `process heartbeat: cannot record ${what} in af_processes: ${(error as Error)?.message}`),
    );
  }

  const now = sql`UTC_TIMESTAMP(3)`;
  // An upsert each time: a row deleted behind our back (listProcesses after a day without beats,
  // e.g. a suspended VM) comes back with the next beat.
  const upsert = (set: MySqlUpdateSetSource<typeof processes>) =>
    db
      .insert(processes)
      .values({ owner, startedAt: now, heartbeatAt: now, nextPassAt: options.nextPassAt() })
      .onDuplicateKeyUpdate({ set: { heartbeatAt: now, nextPassAt: options.nextPassAt(), ...set } });

  // The owner name is unique per process, so a row of that name can only be a stale one: start afresh.
  write('the start', () => upsert({ startedAt: now, lastPassStartedAt: null, lastPassFinishedAt: null, lastPassMs: null, lastPassProcessed: null, lastPassError: null }));

  const timer = setInterval(() => {
    // A beat still waiting behind a slow write would only repeat it.
    if (beatPending) return;
    beatPending = true;
    write('a heartbeat', async () => {
      try {
        await upsert({});
      } finally {
        beatPending = false;
      }
    });
  }, options.intervalMs);
  timer.unref();

  return {
    passStarted() {
      if (stopped) return;
      write('a pass start', () =>
        db
          .update(processes)
          .set({ lastPassStartedAt: now, lastPassFinishedAt: null, lastPassMs: null, lastPassProcessed: null, lastPassError: null })
          .where(eq(processes.owner, owner)),
      );
    },
    passFinished(pass) {
      if (stopped) return;
      write('a pass end', () =>
        db
          .update(processes)
          .set({
            lastPassFinishedAt: now,
            lastPassMs: Math.max(0, Math.round(pass.durationMs)),
            lastPassProcessed: pass.processed,
            lastPassError: pass.error?.slice(0, 2000) ?? null,
            nextPassAt: options.nextPassAt(),
          })
          .where(eq(processes.owner, owner)),
      );
    },
    async stop() {
      if (!stopped) {
        stopped = true;
        clearInterval(timer);
        write('the stop', () => db.delete(processes).where(eq(processes.owner, owner)));
      }
      await writes;
    },
  };
}
