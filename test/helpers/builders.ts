// Small builders that arrange CRM rows the way the CRM would leave them (STYLE §5).
import { asc, eq } from 'drizzle-orm';
import type { Db } from '../../server/db/client.ts';
import { writeResult } from '../../server/db/client.ts';
import { leadStates, taskRuns } from '../../server/db/schema/app.ts';
import { callTasks, dccLeadsFollow, leadsTaskList } from '../../server/db/schema/crm.ts';

let nextLeadsId = 10_000;

export async function givenTask(db: Db, task: { name?: string; taskType?: number; jobGroupId?: string | null } = {}): Promise<number> {
  const result = await db.insert(callTasks).values({
    taskName: task.name ?? 'test task',
    taskType: task.taskType ?? 2,
    jobGroupId: task.jobGroupId === undefined ? null : task.jobGroupId,
  });
  return writeResult(result).insertId;
}

export interface LeadSpec {
  phone: string;
  name?: string;
  leadsId?: number;
  callJobId?: string | null;
  callStatus?: string | null;
  isInterested?: number | null;
  leadsFollowId?: number | null;
}

export async function givenLeads(db: Db, taskId: number, leads: LeadSpec[]): Promise<number[]> {
  const ids: number[] = [];
  for (const lead of leads) {
    const result = await db.insert(leadsTaskList).values({
      taskId,
      leadsId: lead.leadsId ?? nextLeadsId++,
      leadsName: lead.name ?? '测试客户',
      leadsPhone: lead.phone,
      callJobId: lead.callJobId ?? null,
      callStatus: lead.callStatus ?? null,
      isInterested: lead.isInterested ?? null,
      leadsFollowId: lead.leadsFollowId ?? null,
    });
    ids.push(writeResult(result).insertId);
  }
  return ids;
}

/** n distinct mobile numbers, written the way people type them. */
export function phones(n: number, start = 0): string[] {
  return Array.from({ length: n }, (_, i) => `138${String(10_000_000 + start + i).slice(-8)}`);
}

export async function leadsOf(db: Db, taskId: number) {
  return db.select().from(leadsTaskList).where(eq(leadsTaskList.taskId, taskId)).orderBy(asc(leadsTaskList.id));
}

export async function followsOf(db: Db) {
  return db.select().from(dccLeadsFollow).orderBy(asc(dccLeadsFollow.id));
}

export async function stageOf(db: Db, taskId: number): Promise<number> {
  const [row] = await db.select({ t: callTasks.taskType }).from(callTasks).where(eq(callTasks.id, taskId));
  return row!.t;
}

export async function statesOf(db: Db, taskId: number) {
  return db.select().from(leadStates).where(eq(leadStates.taskId, taskId)).orderBy(asc(leadStates.leadRowId));
}

export async function runsOf(db: Db, taskId: number) {
  return db.select().from(taskRuns).where(eq(taskRuns.taskId, taskId)).orderBy(asc(taskRuns.id));
}
