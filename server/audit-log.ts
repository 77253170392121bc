// Who did what from the dashboard (af_audit_log): every operator action, also the refused and failed
// ones, so "why did task 12 move?" has an answer. Times are the database's UTC clock.
import { desc, eq, sql } from 'drizzle-orm';
import type { Db } from './db/client.ts';
import { auditLog } from './db/schema/app.ts';

export type AuditOutcome = 'ok' | 'refused' | 'failed';

export interface AuditEntry {
  id: number;
  at: Date;
  actor: string;
  action: string;
  taskId: number | null;
  leadRowId: number | null;
  outcome: AuditOutcome;
  detail: string | null;
}

/** Most entries one read returns, whatever the caller asks for. */
export const MAX_AUDIT_ENTRIES = 500;
const MAX_DETAIL_CHARS = 2000;

export async function writeAudit(db: Db, entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
  await db.insert(auditLog).values({
    at: sql`UTC_TIMESTAMP(3)`,
    // Cut to the columns' sizes: an over-long name must not lose the record of what was done.
    actor: entry.actor.slice(0, 128),
    action: entry.action.slice(0, 48),
    taskId: entry.taskId,
    leadRowId: entry.leadRowId,
    outcome: entry.outcome,
    detail: entry.detail === null ? null : entry.detail.slice(0, MAX_DETAIL_CHARS),
  });
}

/**
 * Newest first. With a taskId it reads idx_af_audit_task (task_id, at), without one idx_af_audit_at;
 * both end in the primary key, so "at desc, id desc" comes straight from the index, no sort.
 */
export async function readAudit(db: Db, filter: { taskId?: number; limit: number }): Promise<AuditEntry[]> {
  const limit = Math.max(1, Math.min(MAX_AUDIT_ENTRIES, Math.floor(filter.limit) || 1));
  const rows = await db
    .select()
    .from(auditLog)
    .where(filter.taskId === undefined ? undefined : eq(auditLog.taskId, filter.taskId))
    .orderBy(desc(auditLog.at), desc(auditLog.id))
    .limit(limit);
  return rows.map((row) => ({ ...row, outcome: row.outcome as AuditOutcome }));
}
