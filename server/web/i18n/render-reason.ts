// One diagnose reason (a code with its facts) as a sentence in a language, from the catalogue in
// reasons.ts: the task page's diagnosis, `autofollow diagnose` (--lang) and the JSON's English
// `reasons` all come through here, so they say the same thing.
import type { Diagnosis, DiagnosisReason } from '../../pipeline/diagnose.ts';
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

/** The diagnose JSON (DESIGN §4) for the API and `diagnose --json`: `reasons` in English for scripts, beside the codes. */
export function diagnosisJson(diagnosis: Diagnosis) {
  const { task, eligible, ...rest } = diagnosis;
  return { task, eligible, reasons: reasonTexts(diagnosis.reasonCodes, 'en'), ...rest };
}
