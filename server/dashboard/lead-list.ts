// The leads table on /tasks/:id: one task's leads in id order, filtered by state or searched by name
// or phone. Every statement is bounded to one task (idx_task, whose entries are in id order within a
// task, so ORDER BY id needs no sort) and to one page (LIMIT n+1 for hasNext): no COUNT, the task's
// progress already carries the per-state counts.
import { and, asc, eq, like, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { leadStates } from '../db/schema/app.ts';
import { dccLeadsFollow as follow, leadsTaskList as lead } from '../db/schema/crm.ts';
import { normalizePhone } from '../phone.ts';
import { toCrmDateTime } from '../crm-time.ts';
import { closeCauseColumn, recallCauseColumn, type CloseCause, type RecallCause } from '../pipeline/lead-causes.ts';
import { LEAD_FILTER_CONDITIONS, leadStateColumn, leadStatesJoin, type LeadFilterState, type LeadState } from '../read-model/lead-states.ts';
import { containsPattern, pageWindow } from './task-list.ts';

export { LEAD_FILTERS, isLeadFilter, type LeadFilterState, type LeadState } from '../read-model/lead-states.ts';

/** The CRM zone when the caller does not say (config TZ's default). */
const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

export interface LeadListFilter {
  state?: LeadFilterState;
  /** name substring, or phone digits in any format ("+86 138-0013-8000" matches 13800138000) */
  q?: string;
  page: number;
  pageSize: number;
  /** CRM zone for utterance times; config.timeZone */
  timeZone?: string;
}

export interface Utterance {
  speaker: string;
  text: string;
  /** CRM zone "YYYY-MM-DD HH:mm:ss" */
  at: string | null;
}

export interface LeadListRow {
  id: number;
  leadsId: number;
  name: string | null;
  /** RAW: the web layer masks it */
  phone: string;
  callJobId: string | null;
  callStatus: string | null;
  lastJobStatus: string | null;
  jobFailureReason: string | null;
  /** parsed from call_conversation; null when none; text that is not the API's JSON comes back as one utterance */
  conversation: Utterance[] | null;
  follow: { id: number; remark: string | null; followTime: string; nextFollowTime: string | null } | null;
  isInterested: number | null;
  analysisStatus: string | null;
  analysisError: string | null;
  notInGroupSince: Date | null;
  apiError: { code: string | null; message: string | null; at: Date | null } | null;
  /** the one state this lead is in, for a badge */
  state: LeadState;
  /** The cause a person may close it for (人工跟进), when the pipeline cannot finish it. */
  closeCause: CloseCause | null;
  /** The cause a re-call (重新外呼) would give this lead a new job for, or null. */
  recallCause: RecallCause | null;
  /** Who closed it by hand, when a person did. */
  closedBy: string | null;
}

export async function listLeads(db: Db, taskId: number, filter: LeadListFilter): Promise<{ rows: LeadListRow[]; hasNext: boolean }> {
  const { limit, offset } = pageWindow(filter);
  const conditions = [eq(lead.taskId, taskId), filter.state ? LEAD_FILTER_CONDITIONS[filter.state] : undefined, searchCondition(filter.q)];
  const found = await selectLeads(db, and(...conditions)).orderBy(asc(lead.id)).limit(limit + 1).offset(offset);
  const timeZone = filter.timeZone ?? DEFAULT_TIME_ZONE;
  return { rows: found.slice(0, limit).map((row) => toLeadRow(row, timeZone)), hasNext: found.length > limit };
}

/** One lead of the task (a row's fragment refresh); null when the row is not that task's. */
export async function readLead(db: Db, taskId: number, leadRowId: number, timeZone = DEFAULT_TIME_ZONE): Promise<LeadListRow | null> {
  const [row] = await selectLeads(db, and(eq(lead.id, leadRowId), eq(lead.taskId, taskId)));
  return row ? toLeadRow(row, timeZone) : null;
}

/**
 * Digits (with spaces, dashes, dots, brackets or a leading +) search the phone by its digits, so
 * "+86 138-0013-8000", "138 0013 8000" and "0013" find a lead stored as 13800138000 or in any other
 * format; anything else searches the name. Both stay within the task's own rows.
 */
export function searchCondition(q: string | undefined): SQL | undefined {
  const text = q?.trim();
  if (!text) return undefined;
  if (/^[\d\s+\-().]+$/.test(text) && /\d{3}/.test(text.replace(/\D/g, ''))) {
    let digits = normalizePhone(text);
    if (/^(\+|00)86/.test(text.replace(/\s/g, ''))) digits = digits.replace(/^(00)?86/, '');
    return like(sql`REGEXP_REPLACE(${lead.leadsPhone}, '[^0-9]', '')`, containsPattern(digits));
  }
  return like(lead.leadsName, containsPattern(text));
}

function selectLeads(db: Db, where: SQL | undefined) {
  return db
    .select({
      id: lead.id, leadsId: lead.leadsId, name: lead.leadsName, phone: lead.leadsPhone, callJobId: lead.callJobId,
      callStatus: lead.callStatus, conversation: lead.callConversation, isInterested: lead.isInterested,
      lastJobStatus: leadStates.lastJobStatus, jobFailureReason: leadStates.jobFailureReason,
      analysisStatus: leadStates.analysisStatus, analysisError: leadStates.analysisError, notInGroupSince: leadStates.notInGroupSince,
      apiErrorCode: leadStates.apiErrorCode, apiErrorMessage: leadStates.apiErrorMessage, apiErrorAt: leadStates.apiErrorAt,
      followId: follow.id, remark: follow.leadsRemark, followTime: follow.followTime, nextFollowTime: follow.nextFollowTime,
      state: leadStateColumn, closeCause: closeCauseColumn, recallCause: recallCauseColumn, closedBy: leadStates.closedBy,
    })
    // Never walk the primary key for ORDER BY id: with a small LIMIT the optimiser likes to, from the
    // first lead of the whole table until it finds the page (seen: 2.7 s on a million rows). idx_task
    // (task_id, and the primary key after it) gives the same order within the task.
    .from(lead, { ignoreIndex: 'PRIMARY' })
    .leftJoin(leadStates, leadStatesJoin)
    .leftJoin(follow, eq(follow.id, lead.leadsFollowId))
    .where(where)
    .$dynamic();
}

type SelectedLead = Awaited<ReturnType<ReturnType<typeof selectLeads>['execute']>>[number];

function toLeadRow(row: SelectedLead, timeZone: string): LeadListRow {
  return {
    id: row.id, leadsId: row.leadsId, name: row.name, phone: row.phone, callJobId: row.callJobId, callStatus: row.callStatus,
    lastJobStatus: row.lastJobStatus, jobFailureReason: row.jobFailureReason,
    conversation: parseConversation(row.conversation, timeZone),
    follow: row.followId !== null && row.followTime !== null
      ? { id: row.followId, remark: row.remark, followTime: row.followTime, nextFollowTime: row.nextFollowTime }
      : null,
    isInterested: row.isInterested, analysisStatus: row.analysisStatus, analysisError: row.analysisError,
    notInGroupSince: row.notInGroupSince,
    apiError: row.apiErrorCode || row.apiErrorMessage ? { code: row.apiErrorCode, message: row.apiErrorMessage, at: row.apiErrorAt } : null,
    state: row.state,
    closeCause: row.closeCause,
    recallCause: row.recallCause,
    closedBy: row.closedBy,
  };
}

/** call_conversation holds the API's utterances ([{Speaker, Script, Timestamp, Action}], DESIGN §2). */
export function parseConversation(text: string | null, timeZone: string): Utterance[] | null {
  if (text === null || text.trim() === '') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed)) return [{ speaker: '', text, at: null }];
  return parsed.map((item: unknown) => {
    const u = (item ?? {}) as Record<string, unknown>;
    const ms = typeof u.Timestamp === 'number' ? u.Timestamp : typeof u.Timestamp === 'string' && /^\d+$/.test(u.Timestamp) ? Number(u.Timestamp) : null;
    return {
      speaker: typeof u.Speaker === 'string' ? u.Speaker : '',
      text: typeof u.Script === 'string' ? u.Script : u.Script === undefined || u.Script === null ? '' : JSON.stringify(u.Script),
      at: ms !== null && Number.isFinite(ms) ? toCrmDateTime(ms, timeZone) : null,
    };
  });
}
