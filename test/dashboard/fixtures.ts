// Arrangements the dashboard tests share: one lead in every state, af_lead_states rows, follow
// records, runs, leases and pauses written the way the pipeline and the CRM leave them.
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../../server/db/client.ts';
import { writeResult } from '../../server/db/client.ts';
import { leadStates, taskLeases, taskPauses, taskRuns } from '../../server/db/schema/app.ts';
import { callTasks, dccLeadsFollow, leadsTaskList } from '../../server/db/schema/crm.ts';
import { toCrmDateTime } from '../../server/crm-time.ts';
import { givenLeads, type LeadSpec } from '../helpers/builders.ts';

export const TZ = 'Asia/Shanghai';

/** A CRM-zone DATETIME string this many seconds ago. */
export const crmAgo = (seconds: number) => toCrmDateTime(Date.now() - seconds * 1000, TZ);

export const CONVERSATION = JSON.stringify([
  { Speaker: 'Robot', Script: '您好，请问是张先生吗？', Timestamp: Date.UTC(2026, 0, 5, 2, 0, 0), Action: 'Broadcast' },
  { Speaker: 'Contact', Script: '明天下午三点可以试驾。', Timestamp: Date.UTC(2026, 0, 5, 2, 0, 4) },
]);

export interface LeadArrangement extends LeadSpec {
  conversation?: string | null;
  updatedTime?: string | null;
  follow?: { remark: string; nextFollowTime?: string | null };
  state?: Partial<typeof leadStates.$inferInsert>;
}

/** Inserts the leads, their follow records and af_lead_states rows; returns the lead row ids. */
export async function arrangeLeads(db: Db, taskId: number, leads: LeadArrangement[]): Promise<number[]> {
  const ids: number[] = [];
  for (const spec of leads) {
    let leadsFollowId = spec.leadsFollowId ?? null;
    if (spec.follow) {
      const result = await db.insert(dccLeadsFollow).values({
        leadsId: spec.leadsId ?? 90_000 + ids.length, followTime: crmAgo(60), leadsRemark: spec.follow.remark,
        firstFollowTime: crmAgo(60), newFollowTime: crmAgo(60), nextFollowTime: spec.follow.nextFollowTime ?? null,
      });
      leadsFollowId = writeResult(result).insertId;
    }
    const [id] = await givenLeads(db, taskId, [{ ...spec, leadsFollowId }]);
    await db
      .update(leadsTaskList)
      .set({ callConversation: spec.conversation ?? null, updatedTime: spec.updatedTime === undefined ? crmAgo(30) : spec.updatedTime })
      .where(eq(leadsTaskList.id, id!));
    // As writeCallResults leaves a conversation: marked in af_lead_states beside it.
    const hasConversation = Boolean(spec.conversation);
    if (spec.state || hasConversation) await db.insert(leadStates).values({ leadRowId: id!, taskId, hasConversation, ...spec.state });
    ids.push(id!);
  }
  return ids;
}

/** Sets the task row's own times (the CRM's DEFAULT CURRENT_TIMESTAMP would read as "just changed"). */
export async function ageTask(db: Db, taskId: number, seconds: number): Promise<void> {
  await db.update(callTasks).set({ createdTime: crmAgo(seconds + 60), updatedTime: crmAgo(seconds) }).where(eq(callTasks.id, taskId));
}

export async function givenRun(db: Db, taskId: number, run: { outcome: string; agoSeconds: number; errorCode?: string }): Promise<number> {
  const result = await db.insert(taskRuns).values({
    taskId, owner: 'host-a:1', trigger: 'schedule', outcome: run.outcome, stageBefore: 2, stageAfter: 2,
    startedAt: sql`UTC_TIMESTAMP(3) - INTERVAL ${run.agoSeconds} SECOND`,
    finishedAt: sql`UTC_TIMESTAMP(3) - INTERVAL ${run.agoSeconds - 2} SECOND`,
    errorCode: run.errorCode ?? null, errorMessage: run.errorCode ? `${run.errorCode} happened` : null,
  });
  return writeResult(result).insertId;
}

/** A lease held by `owner`, acquired and expiring relative to the database's clock. */
export async function givenLease(db: Db, taskId: number, lease: { owner: string; acquiredAgo: number; expiresIn: number }): Promise<void> {
  await db.insert(taskLeases).values({
    taskId, owner: lease.owner,
    acquiredAt: sql`UTC_TIMESTAMP(3) - INTERVAL ${lease.acquiredAgo} SECOND`,
    renewedAt: sql`UTC_TIMESTAMP(3)`,
    expiresAt: sql`UTC_TIMESTAMP(3) + INTERVAL ${lease.expiresIn} SECOND`,
  });
}

export async function givenPause(db: Db, taskId: number): Promise<void> {
  await db.insert(taskPauses).values({ taskId, pausedAt: new Date(Date.now() - 60_000), pausedBy: 'ops-li' });
}
