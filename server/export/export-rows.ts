// The leads of a task with their outcome, read page by page by primary key (keyset, never OFFSET),
// so an export of any size holds one page in memory at a time.
import { and, asc, eq, gt } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { dccLeadsFollow as follow, leadsTaskList as lead } from '../db/schema/crm.ts';
import { parseConversation } from '../dashboard/lead-list.ts';
import { maskPhone } from '../phone.ts';

export const EXPORT_PAGE = 1000;

export interface ExportRow {
  name: string;
  phone: string;
  callStatus: string;
  callTime: string;
  interest: string;
  remark: string;
  nextFollowTime: string;
  followTime: string;
  conversation: string;
}

/** Column order and headers (Chinese: the people who open the file read it). */
export const EXPORT_COLUMNS: Array<{ key: keyof ExportRow; header: string; width: number }> = [
  { key: 'name', header: '客户姓名', width: 12 },
  { key: 'phone', header: '手机号', width: 15 },
  { key: 'callStatus', header: '外呼状态', width: 10 },
  { key: 'callTime', header: '外呼时间', width: 20 },
  { key: 'interest', header: '意向', width: 10 },
  { key: 'remark', header: '跟进备注', width: 40 },
  { key: 'nextFollowTime', header: '下次跟进时间', width: 20 },
  { key: 'followTime', header: '跟进时间', width: 20 },
  { key: 'conversation', header: '通话内容', width: 60 },
];

const INTEREST: Record<number, string> = { 0: '无法判断', 1: '有意向', 2: '无意向' };
const SPEAKER: Record<string, string> = { Robot: '机器人', Contact: '客户' };

export async function* exportRows(db: Db, taskId: number, options: { fullPhones: boolean; timeZone: string }): AsyncGenerator<ExportRow> {
  for (let afterId = 0; ; ) {
    const page = await db
      .select({
        id: lead.id, name: lead.leadsName, phone: lead.leadsPhone, callStatus: lead.callStatus, planned: lead.planedTime,
        conversation: lead.callConversation, isInterested: lead.isInterested,
        remark: follow.leadsRemark, nextFollowTime: follow.nextFollowTime, followTime: follow.followTime,
      })
      .from(lead)
      .leftJoin(follow, eq(follow.id, lead.leadsFollowId))
      .where(and(eq(lead.taskId, taskId), gt(lead.id, afterId)))
      .orderBy(asc(lead.id))
      .limit(EXPORT_PAGE);
    for (const r of page) {
      const utterances = parseConversation(r.conversation, options.timeZone) ?? [];
      yield {
        name: r.name ?? '',
        phone: options.fullPhones ? r.phone : maskPhone(r.phone),
        callStatus: r.callStatus ?? '',
        callTime: utterances.find((u) => u.at)?.at ?? (r.planned ? String(r.planned).slice(0, 19) : ''),
        interest: r.isInterested === null ? '' : (INTEREST[r.isInterested] ?? String(r.isInterested)),
        remark: r.remark ?? '',
        nextFollowTime: r.nextFollowTime ? String(r.nextFollowTime).slice(0, 19) : '',
        followTime: r.followTime ? String(r.followTime).slice(0, 19) : '',
        conversation: utterances.map((u) => `${SPEAKER[u.speaker] ?? u.speaker}：${u.text}`).join('\n'),
      };
    }
    if (page.length < EXPORT_PAGE) return;
    afterId = page[page.length - 1]!.id;
  }
}
