// What a hot-lead message says, read when it is sent: task, lead name, masked phone, remark, next
// follow time and the dashboard link. The full number never leaves this module.
import { eq, inArray } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { hotLeadEvents } from '../db/schema/app.ts';
import { callTasks, dccLeadsFollow as follow, leadsTaskList as lead } from '../db/schema/crm.ts';
import { maskPhone } from '../phone.ts';

export interface HotLeadDetails {
  hotLeadId: number;
  eventId: string;
  createdAt: Date;
  taskId: number;
  taskName: string;
  leadRowId: number;
  leadName: string;
  maskedPhone: string;
  remark: string;
  nextFollowTime: string | null;
  /** The lead on the dashboard, when PUBLIC_URL is set. */
  url: string | null;
}

export async function readHotLeads(db: Db, hotLeadIds: number[], publicUrl: string | undefined): Promise<Map<number, HotLeadDetails>> {
  if (hotLeadIds.length === 0) return new Map();
  const rows = await db
    .select({
      hotLeadId: hotLeadEvents.id, eventId: hotLeadEvents.eventId, createdAt: hotLeadEvents.createdAt,
      taskId: hotLeadEvents.taskId, taskName: callTasks.taskName, leadRowId: hotLeadEvents.leadRowId,
      leadName: lead.leadsName, phone: lead.leadsPhone, remark: follow.leadsRemark, nextFollowTime: follow.nextFollowTime,
    })
    .from(hotLeadEvents)
    .leftJoin(lead, eq(lead.id, hotLeadEvents.leadRowId))
    .leftJoin(callTasks, eq(callTasks.id, hotLeadEvents.taskId))
    .leftJoin(follow, eq(follow.id, hotLeadEvents.followId))
    .where(inArray(hotLeadEvents.id, hotLeadIds));
  return new Map(rows.map((r) => [r.hotLeadId, {
    hotLeadId: r.hotLeadId,
    eventId: r.eventId,
    createdAt: r.createdAt,
    taskId: r.taskId,
    taskName: r.taskName ?? `#${r.taskId}`,
    leadRowId: r.leadRowId,
    leadName: r.leadName ?? '',
    maskedPhone: maskPhone(r.phone),
    remark: r.remark ?? '',
    nextFollowTime: r.nextFollowTime ? String(r.nextFollowTime).slice(0, 19) : null,
    url: publicUrl ? leadUrl(publicUrl, r.taskId, r.leadRowId, r.leadName) : null,
  }]));
}

function leadUrl(publicUrl: string, taskId: number, leadRowId: number, name: string | null): string {
  const query = name ? `?q=${encodeURIComponent(name)}` : '';
  return `${publicUrl.replace(/\/+$/, '')}/tasks/${taskId}${query}#lead-${leadRowId}`;
}
