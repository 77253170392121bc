// One diagnose reason (a code with its facts) as a sentence in a language, from the catalogue in
// reasons.ts: the task page's diagnosis, `autofollow diagnose` (--lang) and the JSON's English
// `reasons` all come through here, so they say the same thing.
import type { Diagnosis, DiagnosisReason, LeadDetail } from '../../pipeline/diagnose.ts';
import { translator, type Lang, type Translate } from './index.ts';

/** ISO instant -> text. The JSON keeps ISO; people get the CRM zone. */
export type FormatTime = (iso: string) => string;

const asIs: FormatTime = (iso) => iso;

export function reasonText(reason: DiagnosisReason, t: Translate, time: FormatTime = asIs): string {
  return t(`reason.${reason.code}`, reasonVars(reason, t, time));
}

export function reasonTexts(reasons: readonly DiagnosisReason[], lang: Lang, time: FormatTime = asIs): string[] {
  const t = translator(lang);
  return reasons.map((reason) => reasonText(reason, t, time));
}

/** The placeholders of `reason.<code>`, filled from the facts (the catalogue test checks each is used). */
export function reasonVars(reason: DiagnosisReason, t: Translate, time: FormatTime = asIs): Record<string, string | number> {
  switch (reason.code) {
    case 'paused':
      return { by: reason.by, since: time(reason.since) };
    case 'stage-unknown':
      return { taskType: reason.taskType };
    case 'lease-held':
      return { owner: reason.owner, until: time(reason.until) };
    case 'lease-expired':
      return { owner: reason.owner, expiredAt: time(reason.expiredAt) };
    case 'stuck-waiting':
      return { count: reason.count, stuckAfterSeconds: reason.stuckAfterSeconds };
    case 'last-run': {
      // The error is Outbound Bot's or ours, as recorded: not translated.
      const error = reason.errorCode ? ` (${reason.errorCode}${reason.errorMessage ? `: ${reason.errorMessage}` : ''})` : '';
      return { outcome: reason.outcome, error };
    }
    case 'stage-not-started':
    case 'stage-done':
    case 'no-job-group':
    case 'nothing-left':
    case 'no-leads':
      return {};
    default:
      return { leads: t(reason.count === 1 ? 'reason.leads.one' : 'reason.leads.other', { count: reason.count }) };
  }
}

/** A blocked lead's detail as text, from `leadDetail.<code>` (null stays null). */
export function leadDetailText(detail: LeadDetail | null, t: Translate): string | null {
  return detail ? t(`leadDetail.${detail.code}`, leadDetailVars(detail)) : null;
}

/** The placeholders of `leadDetail.<code>`: the facts, an absent one as '?' (an error's message after ': '). */
export function leadDetailVars(detail: LeadDetail): Record<string, string | number> {
  const { code: _code, ...facts } = detail;
  if (detail.code === 'api-error') return { errorCode: detail.errorCode, message: detail.message ? `: ${detail.message}` : '' };
  return Object.fromEntries(Object.entries(facts).map(([name, value]) => [name, value ?? '?']));
}

/**
 * The diagnose JSON (DESIGN §4) for the API and `diagnose --json`: `reasons` in English for scripts,
 * beside the codes; each blocked lead's `detail` in English too, beside its `detailCode`.
 */
export function diagnosisJson(diagnosis: Diagnosis) {
  const { task, eligible, blockedLeads, ...rest } = diagnosis;
  const en = translator('en');
  return {
    task, eligible, reasons: reasonTexts(diagnosis.reasonCodes, 'en'), ...rest,
    blockedLeads: blockedLeads.map((lead) => ({ ...lead, detail: leadDetailText(lead.detail, en), detailCode: lead.detail })),
  };
}
