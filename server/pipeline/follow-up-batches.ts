// Follow-up decisions are written in small batches as their LLM answers arrive (issue 12), so a
// slow answer never holds the others back and no page waits for its slowest lead. Each batch goes
// through the one exactly-once write (write-follow-ups.ts, DESIGN §3.2); batches are written one at
// a time, never inside an LLM call. A decision waits at most FLUSH_AFTER_MS before its write is
// queued, and at most FOLLOW_UP_WAITING_MAX wait at once: a crash loses no more than those answers,
// which the next pass asks for again.
import type { Db } from '../db/client.ts';
import { writeFollowUps, type FollowUpDecision, type WriteOutcome } from './write-follow-ups.ts';

/** A batch is written once it holds this many decisions… */
export const FOLLOW_UP_BATCH_SIZE = 25;
/** …or once its first decision has waited this long. */
export const FLUSH_AFTER_MS = 250;
/**
 * Decisions that arrived while the previous batch was being written go together, up to this many:
 * with fast answers the writes, not the LLM, set the pace, and each transaction costs about the same
 * CPU whatever its size (issue 12), so fewer, larger ones keep up.
 */
export const FOLLOW_UP_BATCH_MAX = 100;
/**
 * Past this many decisions waiting, `add` makes its caller wait for the writes: answers faster than
 * the database (an instant LLM, a slow disk) would otherwise pile up with the task's size, and a
 * crash would lose every paid answer in the pile.
 */
export const FOLLOW_UP_WAITING_MAX = 2 * FOLLOW_UP_BATCH_MAX;

export interface FollowUpBatches {
  /** Resolves at once, or once the writes queued so far are done when too many decisions wait. */
  add(decisions: FollowUpDecision[]): Promise<void>;
  /** The first write that failed, if any: the caller stops taking new work. */
  readonly failure: unknown;
  /** Writes what is left and resolves with the totals; rejects with the first write failure. */
  close(): Promise<WriteOutcome & { analysisFailed: number }>;
}

export function createFollowUpBatches(db: Db, now: () => { crmNow: string; at: Date }): FollowUpBatches {
  let buffer: FollowUpDecision[] = [];
  let writing: Promise<void> = Promise.resolve();
  /** A write is queued that has not taken its decisions yet: it will take all there are then. */
  let queued = false;
  let closing = false;
  let timer: NodeJS.Timeout | null = null;
  let failure: unknown = null;
  const totals = { created: 0, alreadyDone: 0, analysisFailed: 0 };

  function flush(): void {
    if (timer) clearTimeout(timer);
    timer = null;
    if (buffer.length === 0 || queued) return;
    queued = true;
    // Chained: one batch at a time, in the order the answers came.
    writing = writing.then(async () => {
      queued = false;
      const batch = buffer.splice(0, FOLLOW_UP_BATCH_MAX);
      if (buffer.length >= FOLLOW_UP_BATCH_SIZE || (closing && buffer.length > 0)) flush();
      else if (buffer.length > 0) timer ??= setTimeout(flush, FLUSH_AFTER_MS);
      if (failure) return;
      try {
        const { crmNow, at } = now();
        const outcome = await writeFollowUps(db, batch, crmNow, at);
        totals.created += outcome.created;
        totals.alreadyDone += outcome.alreadyDone;
        totals.analysisFailed += batch.filter((d) => d.analysis?.status === 'failed').length;
      } catch (error) {
        failure ??= error;
      }
    });
  }

  return {
    add(decisions) {
      buffer.push(...decisions);
      if (buffer.length >= FOLLOW_UP_BATCH_SIZE || (closing && buffer.length > 0)) flush();
      else timer ??= setTimeout(flush, FLUSH_AFTER_MS);
      return buffer.length > FOLLOW_UP_WAITING_MAX ? writing : Promise.resolve();
    },
    get failure() {
      return failure;
    },
    async close() {
      closing = true;
      flush();
      // A write may queue the next one (more than FOLLOW_UP_BATCH_MAX were waiting): wait for the last.
      for (let last = writing; ; last = writing) {
        await last;
        if (last === writing) break;
      }
      if (failure) throw failure;
      return totals;
    },
  };
}
