import { and, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { leadsTaskList as lead } from '../db/schema/crm.ts';
import { lacksJobId, leadOfTask } from './lead-conditions.ts';

/** Whether any lead of the task still lacks a call_job_id. */
export async function hasUnsyncedLeads(db: Db, taskId: number): Promise<boolean> {
  const rows = await db.select({ one: sql`1` }).from(lead).where(and(leadOfTask(taskId), lacksJobId)).limit(1);
  return rows.length > 0;
}
