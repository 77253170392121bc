// What a person's decision (人工跟进) must say, checked the same way whether it comes from the CLI,
// /api or a dashboard form: a cause, a remark, an interest, maybe a next follow time and lead ids.
// Bad input is one sentence naming the field, and nothing is written.
import { z } from 'zod';
import { parseTaskId } from '../task-id.ts';
import { fromCrmDateTime, toCrmDateTime } from '../crm-time.ts';
import { CLOSE_CAUSES, type CloseCause } from './lead-causes.ts';
import type { Interest } from '../llm/types.ts';

/** dcc_leads_follow.leads_remark is free text in the CRM; a person's note is capped like the LLM's. */
export const MAX_CLOSE_REMARK_CHARS = 500;
/** Lead ids one request may name. */
export const MAX_CLOSE_LEAD_IDS = 10_000;

export interface CloseLeadsInput {
  cause: CloseCause;
  remark: string;
  interest: Interest;
  /** "YYYY-MM-DD HH:mm:ss" in the CRM zone, in the future; null for none. */
  nextFollowTime: string | null;
  /** Only these lead rows; absent: every lead of the cause in the task. */
  leadIds?: number[];
}

const leadId = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const id = parseTaskId(String(value).trim()); // lead row ids are INT UNSIGNED like task ids
  if (id === null) {
    ctx.addIssue({ code: 'custom', message: `lead id must be a positive whole number, got "${String(value).slice(0, 40)}"` });
    return z.NEVER;
  }
  return id;
});

const schema = z.object({
  cause: z.enum(CLOSE_CAUSES, { error: `cause must be one of ${CLOSE_CAUSES.join(', ')}` }),
  remark: z
    .string({ error: 'remark is required: what the person decided, in words the salesperson reads' })
    .trim()
    .min(1, 'remark must not be empty')
    .max(MAX_CLOSE_REMARK_CHARS, `remark must be at most ${MAX_CLOSE_REMARK_CHARS} characters`),
  interest: z
    .union([z.number(), z.string()], { error: 'interest is required: 0, 1 or 2' })
    .transform((value, ctx) => {
      const n = typeof value === 'string' && /^\s*[012]\s*$/.test(value) ? Number(value) : value;
      if (n !== 0 && n !== 1 && n !== 2) {
        ctx.addIssue({ code: 'custom', message: `interest must be 0, 1 or 2, got "${String(value).slice(0, 20)}"` });
        return z.NEVER;
      }
      return n as Interest;
    }),
  nextFollowTime: z.union([z.string(), z.null()]).optional(),
  leadIds: z.array(leadId).max(MAX_CLOSE_LEAD_IDS, `at most ${MAX_CLOSE_LEAD_IDS} lead ids at once`).optional(),
});

export type ParsedClose = { ok: true; value: CloseLeadsInput } | { ok: false; error: string };

export function parseCloseLeadsInput(raw: unknown, options: { now: number; timeZone: string }): ParsedClose {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length > 0 ? issue.path.join('.') : 'body';
    return { ok: false, error: issue.message.startsWith(String(issue.path[0] ?? '\0')) ? issue.message : `${field}: ${issue.message}` };
  }
  const { nextFollowTime, leadIds, ...rest } = parsed.data;
  const time = followTime(nextFollowTime, options);
  if (typeof time === 'object' && time !== null) return { ok: false, error: time.error };
  return { ok: true, value: { ...rest, nextFollowTime: time, ...(leadIds && leadIds.length > 0 ? { leadIds: [...new Set(leadIds)] } : {}) } };
}

function followTime(text: string | null | undefined, options: { now: number; timeZone: string }): string | null | { error: string } {
  if (text === undefined || text === null || text.trim() === '') return null;
  const epoch = fromCrmDateTime(text, options.timeZone);
  if (epoch === null) return { error: `nextFollowTime must be "YYYY-MM-DD HH:mm:ss" in the CRM's zone (${options.timeZone}), got "${text.slice(0, 40)}"` };
  if (epoch <= options.now) return { error: `nextFollowTime must be in the future, got ${toCrmDateTime(epoch, options.timeZone)}` };
  return toCrmDateTime(epoch, options.timeZone);
}
