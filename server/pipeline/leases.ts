// Leases replace the spec's in-memory "processing" set (DESIGN §3.8): one process works on a task at
// a time, decided by conditional updates against the database's clock, never a process clock.
import { and, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { writeResult } from '../db/client.ts';
import { taskLeases } from '../db/schema/app.ts';

const nowUtc = sql`UTC_TIMESTAMP(3)`;

/** A lease held by someone and not yet expired. */
export const leaseIsLive = and(isNotNull(taskLeases.owner), sql`${taskLeases.expiresAt} > ${nowUtc}`)!;

/** Takes the task's lease when it is free or expired; false when another live process holds it. */
export async function claimLease(db: Db, taskId: number, owner: string, seconds: number): Promise<boolean> {
  // The row must exist before the conditional UPDATE can decide who wins.
  await db.insert(taskLeases).ignore().values({ taskId });
  const result = await db
    .update(taskLeases)
    .set({ owner, acquiredAt: nowUtc, renewedAt: nowUtc, expiresAt: sql`${nowUtc} + INTERVAL ${seconds} SECOND` })
    .where(and(eq(taskLeases.taskId, taskId), sql`(${taskLeases.owner} IS NULL OR ${taskLeases.expiresAt} <= ${nowUtc})`));
  return writeResult(result).affectedRows === 1;
}

/** Pushes the expiry out; false when the lease is no longer ours (broken or taken over). */
export async function renewLease(db: Db, taskId: number, owner: string, seconds: number): Promise<boolean> {
  const result = await db
    .update(taskLeases)
    .set({ renewedAt: nowUtc, expiresAt: sql`${nowUtc} + INTERVAL ${seconds} SECOND` })
    .where(and(eq(taskLeases.taskId, taskId), eq(taskLeases.owner, owner)));
  return writeResult(result).affectedRows === 1;
}

export async function releaseLease(db: Db, taskId: number, owner: string): Promise<void> {
  await db
    .update(taskLeases)
    // The end of every run: the task was looked at now, whether or not its run row is kept.
    .set({ owner: null, expiresAt: null, lastCheckedAt: sql`UTC_TIMESTAMP(3)` })
    .where(and(eq(taskLeases.taskId, taskId), eq(taskLeases.owner, owner)));
}

/**
 * An operator frees a task: whatever holds it, or only `owner`'s lease (the one the operator saw,
 * not one another process took over since). False when there was no such lease.
 */
export async function breakLease(db: Db, taskId: number, owner?: string): Promise<boolean> {
  const result = await db
    .update(taskLeases)
    .set({ owner: null, expiresAt: null })
    .where(and(eq(taskLeases.taskId, taskId), owner === undefined ? isNotNull(taskLeases.owner) : eq(taskLeases.owner, owner)));
  return writeResult(result).affectedRows === 1;
}

export interface LeaseView {
  owner: string;
  acquiredAt: Date;
  renewedAt: Date | null;
  expiresAt: Date;
  expired: boolean;
}

/** The held lease (owner set) of a task, expired or not: an operator must see an expired one. */
export async function readLease(db: Db, taskId: number): Promise<LeaseView | null> {
  return (await readLeasesByTask(db, [taskId])).get(taskId) ?? null;
}

/** The held leases of these tasks, in one statement (the overview's page of tasks). */
export async function readLeasesByTask(db: Db, taskIds: number[]): Promise<Map<number, LeaseView>> {
  const leases = new Map<number, LeaseView>();
  if (taskIds.length === 0) return leases;
  const rows = await db
    .select({
      taskId: taskLeases.taskId,
      owner: taskLeases.owner,
      acquiredAt: taskLeases.acquiredAt,
      renewedAt: taskLeases.renewedAt,
      expiresAt: taskLeases.expiresAt,
      expired: sql<number>`${taskLeases.expiresAt} <= ${nowUtc}`,
    })
    .from(taskLeases)
    .where(and(inArray(taskLeases.taskId, taskIds), isNotNull(taskLeases.owner)));
  for (const row of rows) {
    if (!row.owner || !row.acquiredAt || !row.expiresAt) continue;
    leases.set(row.taskId, { owner: row.owner, acquiredAt: row.acquiredAt, renewedAt: row.renewedAt, expiresAt: row.expiresAt, expired: Number(row.expired) === 1 });
  }
  return leases;
}

export class LeaseLostError extends Error {
  constructor(readonly taskId: number) {
    super(`The lease on task ${taskId} was lost (broken by an operator or taken over after expiry); stopping its work.`);
    this.name = 'LeaseLostError';
  }
}

/**
 * Keeps a held lease alive while work goes on: renews every third of its length, so a slow API
 * call never lets it lapse, and lets the steps check between pages that it is still theirs.
 */
export interface HeldLease {
  readonly taskId: number;
  /** Throws LeaseLostError when a renewal found the lease gone. */
  check(): void;
  /** Renews now (between steps) and throws when the lease is gone. */
  renew(): Promise<void>;
  stop(): void;
}

export function keepLease(db: Db, taskId: number, owner: string, seconds: number, onError: (error: unknown) => void): HeldLease {
  let lost = false;
  const renewNow = async () => {
    if (lost) return;
    try {
      if (!(await renewLease(db, taskId, owner, seconds))) lost = true;
    } catch (error) {
      onError(error); // a passing database error: the next renewal tries again well before expiry
    }
  };
  const timer = setInterval(() => void renewNow(), Math.max(1000, (seconds * 1000) / 3));
  timer.unref();
  return {
    taskId,
    check() {
      if (lost) throw new LeaseLostError(taskId);
    },
    async renew() {
      await renewNow();
      if (lost) throw new LeaseLostError(taskId);
    },
    stop() {
      clearInterval(timer);
    },
  };
}
