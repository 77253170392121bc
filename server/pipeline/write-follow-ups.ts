// The exactly-once write of follow records (DESIGN §3.2). The LLM has already been asked, outside
// any transaction; here, in one short transaction per page: lock the lead rows, keep only those
// still without follow record and interest, insert their follow records, point the leads at them.
// A lead another worker completed meanwhile is dropped, so no crash, retry or second process can
// create a duplicate, and a rollback leaves no orphan.
import { and, eq, inArray, isNull, min, or, sql, type SQL } from 'drizzle-orm';
import { caseById, inIds, insertRows, upsertRows, valuesOf } from '../db/batch-update.ts';
import type { Db } from '../db/client.ts';
import { isLockConflict, writeResult } from '../db/client.ts';
import { leadStates } from '../db/schema/app.ts';
import { dccLeadsFollow as follow, leadsTaskList as lead } from '../db/schema/crm.ts';
import type { Interest, TokenUsage } from '../llm/types.ts';
import { countFollowRecords } from '../metrics.ts';
import { enqueueHotLeads, HOT_INTEREST } from '../notify/hot-lead-outbox.ts';
import { CLOSE_CAUSE_CONDITIONS, type CloseCause } from './lead-causes.ts';
import { isUnfollowed } from './lead-conditions.ts';
import { analysisCounts, countActivity } from './task-activity.ts';

export interface FollowUpDecision {
  leadRowId: number;
  taskId: number;
  leadsId: number;
  remark: string;
  isInterested: Interest;
  nextFollowTime: string | null;
  /** Set for Succeeded calls: how the LLM analysis went (DESIGN §3.5). */
  analysis: { status: 'ok' | 'failed'; error: string | null; usage?: TokenUsage } | null;
  /** Set when a person wrote the record (人工跟进, close-leads.ts): who, and for which cause. */
  closed?: { by: string; cause: CloseCause };
}

export interface WriteOutcome {
  created: number;
  /** Leads another worker (or a person) completed between the read and the lock. */
  alreadyDone: number;
  /** The lead rows that got their record in this write. */
  createdIds?: number[];
}

export async function writeFollowUps(
  db: Db,
  decisions: FollowUpDecision[],
  now: string,
  analysedAt: Date,
  firstTry: Inserter = insertPage,
): Promise<WriteOutcome> {
  if (decisions.length === 0) return { created: 0, alreadyDone: 0 };
  let insert = firstTry;
  for (let attempt = 1; ; attempt++) {
    try {
      const { written, ...outcome } = await writeInOneTransaction(db, decisions, now, analysedAt, insert);
      countFollowRecords(written); // committed: a rolled-back attempt counts nothing
      return outcome;
    } catch (error) {
      if (error instanceof InterleavedIdsError) {
        // Another writer's rows landed inside our id range: the transaction was rolled back; redo
        // the page with one INSERT per record, whose ids need no guessing.
        insert = insertOneByOne;
      } else if (!(isLockConflict(error) && attempt < LOCK_CONFLICT_ATTEMPTS)) {
        throw error;
      }
      // A deadlock rolled the whole transaction back; the re-check inside makes a retry safe.
    }
  }
}

const LOCK_CONFLICT_ATTEMPTS = 3;

type FollowRow = typeof follow.$inferInsert;
/** The fields of a follow record autofollow writes, in column order (its id comes from AUTO_INCREMENT). */
const FOLLOW_FIELDS = ['leadsId', 'followTime', 'leadsRemark', 'firstFollowTime', 'newFollowTime', 'nextFollowTime'] as const satisfies ReadonlyArray<keyof FollowRow>;
const FOLLOW_COLUMNS = FOLLOW_FIELDS.map((field) => follow[field]);
/** Inserts the follow records and returns their ids, in order. */
export type Inserter = (tx: Db, rows: FollowRow[]) => Promise<number[]>;

export class InterleavedIdsError extends Error {}

/**
 * One multi-row INSERT for the page. MySQL hands its rows consecutive ids under
 * innodb_autoinc_lock_mode 0/1 (MariaDB's default) but may interleave them with other statements'
 * under mode 2 (MySQL 8's default), and the CRM's table has no key of ours to map rows back by. So
 * the ids are proven: every expected id must hold the row we wrote, in order, or we roll back.
 */
export const insertPage: Inserter = async (tx, rows) => {
  const result = writeResult(await tx.execute(insertRows(follow, FOLLOW_COLUMNS, rows.map((r) => FOLLOW_FIELDS.map((field) => r[field] ?? null)))));
  const step = (autoIncrementStep ??= Number(((await tx.execute(sql`SELECT @@auto_increment_increment AS step`)) as unknown as [[{ step: number }]])[0][0].step));
  const ids = rows.map((_, i) => result.insertId + i * step);
  const written = await tx
    .select({ id: follow.id, leadsId: follow.leadsId, remark: follow.leadsRemark, followTime: follow.followTime })
    .from(follow)
    .where(inIds(follow.id, ids))
    .orderBy(follow.id);
  const ours = written.length === rows.length && written.every((w, i) => w.id === ids[i] && w.leadsId === rows[i]!.leadsId && w.remark === rows[i]!.leadsRemark && String(w.followTime).slice(0, 19) === rows[i]!.followTime);
  if (!ours) {
    autoIncrementStep = null; // read again next time, in case it is what changed
    throw new InterleavedIdsError();
  }
  return ids;
};

/**
 * @@auto_increment_increment, read once per process rather than once per page: it changes only by a
 * DBA's hand, and a wrong value is caught by the check of the ids anyway (one statement fewer per page).
 */
let autoIncrementStep: number | null = null;

const insertOneByOne: Inserter = async (tx, rows) => {
  const ids: number[] = [];
  for (const row of rows) ids.push(writeResult(await tx.insert(follow).values(row)).insertId);
  return ids;
};

/** `written`: the is_interested of each follow record inserted. */
async function writeInOneTransaction(db: Db, decisions: FollowUpDecision[], now: string, analysedAt: Date, insert: Inserter): Promise<WriteOutcome & { written: Interest[] }> {
  return db.transaction(async (tx) => {
    const ids = decisions.map((d) => d.leadRowId);
    const stillOpen = await tx
      .select({ id: lead.id })
      .from(lead)
      .leftJoin(leadStates, eq(leadStates.leadRowId, lead.id))
      .where(and(inIds(lead.id, ids), isUnfollowed, stillDecidable(decisions)))
      .orderBy(lead.id)
      .for('update');
    const open = new Set(stillOpen.map((row) => row.id));
    const toWrite = decisions.filter((d) => open.has(d.leadRowId));
    if (toWrite.length === 0) {
      await countPaidAnalyses(tx as unknown as Db, decisions, toWrite);
      return { created: 0, alreadyDone: decisions.length, written: [] };
    }

    const firstFollowTimes = await earliestFollowTimes(tx as unknown as Db, toWrite.map((d) => d.leadsId));
    const rows = toWrite.map((d) => ({
      leadsId: d.leadsId,
      followTime: now,
      leadsRemark: d.remark,
      firstFollowTime: firstFollowTimes.get(d.leadsId) ?? now,
      newFollowTime: now,
      nextFollowTime: d.nextFollowTime,
    }));
    const insertedIds = await insert(tx as unknown as Db, rows);
    const followIds = toWrite.map((d, i) => ({ id: d.leadRowId, value: insertedIds[i]! }));
    const updated = await tx
      .update(lead)
      .set({
        leadsFollowId: caseById(lead.id, followIds),
        isInterested: caseById(lead.id, toWrite.map((d) => ({ id: d.leadRowId, value: d.isInterested }))),
      })
      .where(and(inIds(lead.id, followIds.map((f) => f.id)), isNull(lead.leadsFollowId), isNull(lead.isInterested)));
    if (writeResult(updated).affectedRows !== toWrite.length) {
      // Cannot happen while the rows are locked; if it does, roll back rather than leave orphans.
      throw new Error(`follow-up write matched ${writeResult(updated).affectedRows} of ${toWrite.length} locked leads; rolled back`);
    }
    // In this transaction, so the message commits with the record or not at all (issue 11).
    const hot = toWrite.flatMap((d, i) => (d.isInterested === HOT_INTEREST ? [{ taskId: d.taskId, leadRowId: d.leadRowId, followId: insertedIds[i]! }] : []));
    await enqueueHotLeads(tx as unknown as Db, hot);
    await countPaidAnalyses(tx as unknown as Db, decisions, toWrite);
    const analysed = toWrite.filter((d) => d.analysis !== null);
    if (analysed.length > 0) {
      const s = leadStates;
      const analysisColumns = [s.analysisStatus, s.analysisError, s.analysedAt, s.inputTokens, s.outputTokens];
      await tx.execute(upsertRows(
        s,
        [s.leadRowId, s.taskId, ...analysisColumns],
        analysed.map((d) => [d.leadRowId, d.taskId, d.analysis!.status, d.analysis!.error, analysedAt, d.analysis!.usage?.inputTokens ?? null, d.analysis!.usage?.outputTokens ?? null]),
        analysisColumns,
      ));
    }
    const closed = toWrite.filter((d) => d.closed);
    if (closed.length > 0) {
      await tx
        .insert(leadStates)
        .values(closed.map((d) => ({ leadRowId: d.leadRowId, taskId: d.taskId, closedBy: d.closed!.by.slice(0, 128), closedCause: d.closed!.cause, closedAt: analysedAt })))
        .onDuplicateKeyUpdate({ set: { closedBy: valuesOf(leadStates.closedBy), closedCause: valuesOf(leadStates.closedCause), closedAt: valuesOf(leadStates.closedAt) } });
    }
    return { created: toWrite.length, alreadyDone: decisions.length - toWrite.length, createdIds: toWrite.map((d) => d.leadRowId), written: toWrite.map((d) => d.isInterested) };
  });
}

/**
 * A person's decision holds only while its lead still has the cause it was taken for: a lead the
 * pipeline moved meanwhile to a live re-issued job is no longer "cancelled", and its call's result,
 * not the person's record, must finish it. Read under the same row lock as "still unfollowed".
 */
function stillDecidable(decisions: FollowUpDecision[]): SQL | undefined {
  const causes = new Set(decisions.flatMap((d) => (d.closed ? [d.closed.cause] : [])));
  if (causes.size === 0) return undefined;
  const idsOf = (pick: (d: FollowUpDecision) => boolean) => decisions.filter(pick).map((d) => d.leadRowId);
  const byPipeline = idsOf((d) => !d.closed);
  return or(
    byPipeline.length > 0 ? inArray(lead.id, byPipeline) : undefined,
    ...[...causes].map((cause) => and(inArray(lead.id, idsOf((d) => d.closed?.cause === cause)), CLOSE_CAUSE_CONDITIONS[cause])),
  );
}

/**
 * Per task: the records written, and every analysis of the batch with its tokens, written or not: an
 * answer dropped because someone else finished the lead meanwhile was paid for all the same.
 */
async function countPaidAnalyses(tx: Db, decisions: FollowUpDecision[], written: FollowUpDecision[]): Promise<void> {
  for (const taskId of new Set(decisions.map((d) => d.taskId))) {
    const ofTask = (list: FollowUpDecision[]) => list.filter((d) => d.taskId === taskId);
    await countActivity(tx, taskId, { followsWritten: ofTask(written).length, ...analysisCounts(ofTask(decisions).map((d) => d.analysis?.usage)) });
  }
}

/** frist_follow_time (CRM spelling): the earliest follow time the lead already has (DESIGN §2). */
async function earliestFollowTimes(db: Db, leadsIds: number[]): Promise<Map<number, string>> {
  const rows = await db
    .select({ leadsId: follow.leadsId, earliest: min(follow.followTime) })
    .from(follow)
    .where(inIds(follow.leadsId, [...new Set(leadsIds)]))
    .groupBy(follow.leadsId);
  return new Map(rows.filter((r) => r.earliest).map((r) => [r.leadsId, String(r.earliest).slice(0, 19)]));
}

