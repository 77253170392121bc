// The outbox of hot-lead messages (issue 11). Every path that writes a follow record with
// is_interested = 1 (the pipeline and 人工跟进 through write-follow-ups.ts, a retried analysis in
// retry-analysis.ts) calls enqueueHotLeads inside ITS transaction: the event commits with the record
// or not at all, so a crash can neither lose a message nor invent one for a rolled-back record.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { hotLeadEvents } from '../db/schema/app.ts';

/** is_interested = 1 (有意向): the only interest that is pushed to sales. */
export const HOT_INTEREST = 1;

export interface HotLead {
  taskId: number;
  leadRowId: number;
  followId: number;
}

/** Call with the transaction's handle, never the pool's. */
export async function enqueueHotLeads(tx: Db, leads: HotLead[]): Promise<void> {
  if (leads.length === 0) return;
  await tx.insert(hotLeadEvents).values(
    leads.map((l) => ({ eventId: randomUUID(), taskId: l.taskId, leadRowId: l.leadRowId, followId: l.followId, createdAt: sql`UTC_TIMESTAMP(3)` })),
  );
}
