// The exactly-once write of follow records (DESIGN §3.2). The LLM has already been asked, outside
// any transaction; here, in one short transaction per page: lock the lead rows, keep only those
// still without follow record and interest, insert their follow records, point the leads at them.
// A lead another worker completed meanwhile is dropped, so no crash, retry or second process can
// create a duplicate, and a rollback leaves no orphan.
import { and, inArray, isNull, min } from 'drizzle-orm';
import { caseById, valuesOf } from '../db/batch-update.ts';
import type { Db } from '../db/client.ts';
import { writeResult } from '../db/client.ts';
import { leadStates } from '../db/schema/app.ts';
import { dccLeadsFollow as follow, leadsTaskList as lead } from '../db/schema/crm.ts';
import type { Interest } from '../llm/types.ts';
import { isUnfollowed } from './lead-conditions.ts';

export interface FollowUpDecision {
  leadRowId: number;
  taskId: number;
  leadsId: number;
  remark: string;
  isInterested: Interest;
  nextFollowTime: string | null;
  /** Set for Succeeded calls: how the LLM analysis went (DESIGN §3.5). */
  analysis: { status: 'ok' | 'failed'; error: string | null } | null;
}

export interface WriteOutcome {
  created: number;
  /** Leads another worker (or a person) completed between the read and the lock. */
  alreadyDone: number;
}

export async function writeFollowUps(db: Db, decisions: FollowUpDecision[], now: string, analysedAt: Date): Promise<WriteOutcome> {
  if (decisions.length === 0) return { created: 0, alreadyDone: 0 };
  return db.transaction(async (tx) => {
    const ids = decisions.map((d) => d.leadRowId);
    const stillOpen = await tx
      .select({ id: lead.id })
      .from(lead)
      .where(and(inArray(lead.id, ids), isUnfollowed))
      .orderBy(lead.id)
      .for('update');
    const open = new Set(stillOpen.map((row) => row.id));
    const toWrite = decisions.filter((d) => open.has(d.leadRowId));
    if (toWrite.length === 0) return { created: 0, alreadyDone: decisions.length };

    const firstFollowTimes = await earliestFollowTimes(tx as unknown as Db, toWrite.map((d) => d.leadsId));
    // One INSERT per record: a multi-row insert cannot be mapped back to its leads reliably when
    // MySQL 8 interleaves auto-increment values (innodb_autoinc_lock_mode=2) and the CRM's table has
    // no other key of ours.
    const followIds: Array<{ id: number; value: number }> = [];
    for (const d of toWrite) {
      const result = await tx.insert(follow).values({
        leadsId: d.leadsId,
        followTime: now,
        leadsRemark: d.remark,
        firstFollowTime: firstFollowTimes.get(d.leadsId) ?? now,
        newFollowTime: now,
        nextFollowTime: d.nextFollowTime,
      });
      followIds.push({ id: d.leadRowId, value: writeResult(result).insertId });
    }
    const updated = await tx
      .update(lead)
      .set({
        leadsFollowId: caseById(lead.id, followIds),
        isInterested: caseById(lead.id, toWrite.map((d) => ({ id: d.leadRowId, value: d.isInterested }))),
      })
      .where(and(inArray(lead.id, followIds.map((f) => f.id)), isNull(lead.leadsFollowId), isNull(lead.isInterested)));
    if (writeResult(updated).affectedRows !== toWrite.length) {
      // Cannot happen while the rows are locked; if it does, roll back rather than leave orphans.
      throw new Error(`follow-up write matched ${writeResult(updated).affectedRows} of ${toWrite.length} locked leads; rolled back`);
    }
    const analysed = toWrite.filter((d) => d.analysis !== null);
    if (analysed.length > 0) {
      await tx
        .insert(leadStates)
        .values(analysed.map((d) => ({ leadRowId: d.leadRowId, taskId: d.taskId, analysisStatus: d.analysis!.status, analysisError: d.analysis!.error, analysedAt })))
        .onDuplicateKeyUpdate({
          set: { analysisStatus: valuesOf(leadStates.analysisStatus), analysisError: valuesOf(leadStates.analysisError), analysedAt: valuesOf(leadStates.analysedAt) },
        });
    }
    return { created: toWrite.length, alreadyDone: decisions.length - toWrite.length };
  });
}

/** frist_follow_time (CRM spelling): the earliest follow time the lead already has (DESIGN §2). */
async function earliestFollowTimes(db: Db, leadsIds: number[]): Promise<Map<number, string>> {
  const rows = await db
    .select({ leadsId: follow.leadsId, earliest: min(follow.followTime) })
    .from(follow)
    .where(inArray(follow.leadsId, [...new Set(leadsIds)]))
    .groupBy(follow.leadsId);
  return new Map(rows.filter((r) => r.earliest).map((r) => [r.leadsId, String(r.earliest).slice(0, 19)]));
}

