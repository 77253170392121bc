// Validation of the model's answer (DESIGN §3.5): only a well-formed analysis may become a follow
// record; anything else is { ok: false } and the pipeline writes the basic record instead.
//
// Tolerances, and why:
// - A ```json fence around the object is stripped: some compatible servers add one even in JSON
//   mode, and the object inside is unambiguous. Any other text around the object is rejected:
//   it means the model ignored the format, and fishing an object out of prose can pick the wrong one.
// - Keys besides the three are ignored: they change nothing we store.
// - is_interested may be the digit as a string ("1"): models sometimes quote numbers and the
//   meaning is unambiguous. Anything but 0, 1, 2 or "0", "1", "2" is rejected.
// - leads_remark is trimmed and capped at MAX_REMARK_CHARS (the prompt asks for ~100 字; a longer
//   answer is still useful, an essay is cut rather than thrown away).
// - next_follow_time: null, absent or "" mean "no time named". A time is "YYYY-MM-DD HH:mm:ss" or
//   "YYYY-MM-DD HH:mm" in the CRM zone, at most MAX_AHEAD_MS ahead; it is returned normalised to
//   "YYYY-MM-DD HH:mm:ss". A time not after now is dropped (null), keeping the rest of the answer.
import { fromCrmDateTime, toCrmDateTime } from '../crm-time.ts';
import type { FollowUpAnalysis, Interest } from './types.ts';

export const MAX_REMARK_CHARS = 500;
/** A follow-up more than a year away is a misread date, not a plan. */
const MAX_AHEAD_MS = 366 * 86_400_000;
const FENCED = /^```(?:json)?[ \t]*\r?\n?([\s\S]*?)\r?\n?```$/i;
const FOLLOW_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})?$/;

export function parseFollowUp(content: string, options: { now: number; timeZone: string }): FollowUpAnalysis {
  let value: unknown;
  try {
    value = JSON.parse(unfence(content));
  } catch {
    return fail('invalid json');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('answer is not a json object');
  const answer = value as Record<string, unknown>;

  const remark = typeof answer.leads_remark === 'string' ? answer.leads_remark.trim() : '';
  if (!remark) return fail('leads_remark missing or empty');

  const isInterested = interestOf(answer.is_interested);
  if (isInterested === 'missing') return fail('is_interested missing');
  if (isInterested === 'invalid') return fail('is_interested out of range');

  const nextFollowTime = followTimeOf(answer.next_follow_time, options);
  if (typeof nextFollowTime === 'object' && nextFollowTime !== null) return fail(nextFollowTime.error);

  return { ok: true, remark: Array.from(remark).slice(0, MAX_REMARK_CHARS).join(''), isInterested, nextFollowTime };
}

function unfence(content: string): string {
  const trimmed = content.trim();
  return FENCED.exec(trimmed)?.[1]?.trim() ?? trimmed;
}

function interestOf(value: unknown): Interest | 'missing' | 'invalid' {
  if (value === undefined || value === null) return 'missing';
  const n = typeof value === 'string' && /^[012]$/.test(value.trim()) ? Number(value.trim()) : value;
  return n === 0 || n === 1 || n === 2 ? n : 'invalid';
}

function followTimeOf(value: unknown, options: { now: number; timeZone: string }): string | null | { error: string } {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') return { error: 'next_follow_time malformed' };
  const text = value.trim();
  if (text === '') return null;
  const epoch = FOLLOW_TIME.test(text) ? fromCrmDateTime(text, options.timeZone) : null;
  if (epoch === null) return { error: 'next_follow_time malformed' };
  // A time already past is a slip about the date, not about the customer: the remark and the
  // interest still stand, and no follow-up time is better than a wrong one (issue 7).
  if (epoch <= options.now) return null;
  if (epoch - options.now > MAX_AHEAD_MS) return { error: 'next_follow_time more than a year ahead' };
  return toCrmDateTime(epoch, options.timeZone);
}

function fail(error: string): FollowUpAnalysis {
  return { ok: false, error };
}
