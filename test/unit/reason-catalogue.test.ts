// diagnose's reasons are codes with facts; their sentences come from one catalogue in two languages.
// Every code must read in Chinese and in English, and every fact its sentence needs must show.
import { describe, expect, it } from 'vitest';
import { LEAD_DETAIL_CODES, LEAD_REASONS, REASON_CODES, type DiagnosisReason, type LeadDetail, type LeadDetailCode, type ReasonCode } from '../../server/pipeline/diagnose.ts';
import { translator, type Lang } from '../../server/web/i18n/index.ts';
import { reasonMessages } from '../../server/web/i18n/reasons.ts';
import { leadDetailText, leadDetailVars, reasonTexts, reasonVars } from '../../server/web/i18n/render-reason.ts';

const leadSample = (code: (typeof LEAD_REASONS)[number]): DiagnosisReason => ({ code, count: 37, leadIds: [901, 902] });

/** One reason per code, with facts distinct enough to find in the sentence (a Record: a new code must add one). */
const SAMPLES: Record<ReasonCode, DiagnosisReason> = {
  'paused': { code: 'paused', by: 'alice-op', since: '2031-04-05T06:07:08.000Z' },
  'stage-not-started': { code: 'stage-not-started' },
  'stage-done': { code: 'stage-done' },
  'stage-unknown': { code: 'stage-unknown', taskType: 97 },
  'no-job-group': { code: 'no-job-group' },
  'nothing-left': { code: 'nothing-left' },
  'lease-held': { code: 'lease-held', owner: 'host-a:4242', until: '2031-04-05T07:00:00.000Z' },
  'lease-expired': { code: 'lease-expired', owner: 'host-b:4343', expiredAt: '2031-04-05T08:00:00.000Z' },
  ...(Object.fromEntries(LEAD_REASONS.map((code) => [code, leadSample(code)])) as Record<(typeof LEAD_REASONS)[number], DiagnosisReason>),
  'no-leads': { code: 'no-leads' },
  'stuck-waiting': { code: 'stuck-waiting', count: 41, stuckAfterSeconds: 7211 },
  'last-run': { code: 'last-run', outcome: 'partial', errorCode: 'Throttling.User', errorMessage: 'Request was denied' },
};

/** One detail per code, its facts distinct enough to find in the text. */
const DETAILS: Record<LeadDetailCode, LeadDetail> = {
  'not-in-job-group': { code: 'not-in-job-group', since: '2031-04-05 14:07:08' },
  'api-error': { code: 'api-error', errorCode: 'Throttling.User', message: 'Request was denied' },
  'job-cancelled': { code: 'job-cancelled', jobId: 'job-7781' },
  'still-calling': { code: 'still-calling', jobStatus: 'Executing' },
  'not-fetched': { code: 'not-fetched' },
  'handled-outside': { code: 'handled-outside', interest: 2 },
  'no-conversation': { code: 'no-conversation', succeededAt: '2031-04-05 09:10:11', checkedAt: '2031-04-05 11:12:13' },
  'waiting-for-conversation': { code: 'waiting-for-conversation', succeededAt: '2031-04-05 09:10:12' },
  'waiting-stuck': { code: 'waiting-stuck', succeededAt: '2031-04-05 09:10:13' },
  'follow-pending': { code: 'follow-pending', status: 'Failed' },
  'analysis-failed': { code: 'analysis-failed', error: 'LLM timeout after 30000 ms' },
};

const placeholders = (text: string | undefined) => [...(text ?? '').matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
/** The facts a sentence must show: everything but the code and the lead ids (those are for links). */
const shownFacts = (reason: DiagnosisReason) => Object.entries(reason).filter(([name, value]) => name !== 'code' && name !== 'leadIds' && value !== null).map(([, value]) => String(value));

describe('diagnose reason catalogue', () => {
  it('has a sentence per code in Chinese and English, every placeholder filled from the facts and every fact shown', () => {
    expect(new Set(REASON_CODES).size).toBe(REASON_CODES.length);
    for (const code of REASON_CODES) {
      const reason = SAMPLES[code];
      expect(reason.code).toBe(code);
      for (const lang of ['zh', 'en'] as const) {
        const template = reasonMessages[lang][`reason.${code}`];
        expect(template, `${lang} reason.${code}`).toBeTruthy();
        expect(placeholders(template), `${lang} reason.${code}`).toEqual(Object.keys(reasonVars(reason, translator(lang))).sort());
        const [text] = reasonTexts([reason], lang);
        expect(text, `${lang} ${code}`).not.toMatch(/[{}]/);
        for (const fact of shownFacts(reason)) expect(text, `${lang} ${code} shows ${fact}`).toContain(fact);
      }
    }
  });

  it('has no sentence for a code diagnose does not produce, and a label for every lead reason', () => {
    const sentenceCodes = Object.keys(reasonMessages.en).filter((key) => key.startsWith('reason.') && !key.startsWith('reason.leads.')).map((key) => key.slice('reason.'.length));
    expect(sentenceCodes.sort()).toEqual([...REASON_CODES].sort());
    const labels = Object.keys(reasonMessages.zh).filter((key) => key.startsWith('leadReason.')).map((key) => key.slice('leadReason.'.length));
    expect(labels.sort()).toEqual([...LEAD_REASONS].sort());
  });

  it('counts leads in each language: "1 lead", "2 leads", "2 条线索"', () => {
    const one: DiagnosisReason = { code: 'not-synced', count: 1, leadIds: [7] };
    const two: DiagnosisReason = { code: 'not-synced', count: 2, leadIds: [7, 8] };
    expect(reasonTexts([one, two], 'en')).toEqual(['1 lead not synced: no call_job_id yet', '2 leads not synced: no call_job_id yet']);
    expect(reasonTexts([two], 'zh')).toEqual(['2 条线索尚未同步：还没有 call_job_id']);
  });

  it('keeps the English sentences scripts read, times as given unless a formatter is passed', () => {
    const lease: DiagnosisReason = { code: 'lease-held', owner: 'host-a', until: '2031-04-05T07:00:00.000Z' };
    expect(reasonTexts([lease, SAMPLES['last-run']], 'en')).toEqual([
      'being processed by host-a (lease until 2031-04-05T07:00:00.000Z)',
      'last run partial (Throttling.User: Request was denied)',
    ]);
    const lang: Lang = 'zh';
    expect(reasonTexts([lease], lang, (iso) => `<${iso.slice(0, 10)}>`)).toEqual(['正在由 host-a 处理（租约到 <2031-04-05>）']);
  });

  it("says a blocked lead's detail in Chinese and English, every fact shown; the English as the JSON has always said it", () => {
    expect(new Set(LEAD_DETAIL_CODES)).toEqual(new Set(Object.keys(DETAILS)));
    for (const code of LEAD_DETAIL_CODES) {
      const detail = DETAILS[code];
      for (const lang of ['zh', 'en'] as const) {
        const template = reasonMessages[lang][`leadDetail.${code}`];
        expect(template, `${lang} leadDetail.${code}`).toBeTruthy();
        expect(placeholders(template), `${lang} leadDetail.${code}`).toEqual(Object.keys(leadDetailVars(detail)).sort());
        const text = leadDetailText(detail, translator(lang))!;
        expect(text, `${lang} ${code}`).not.toMatch(/[{}]/);
        for (const [, fact] of Object.entries(detail).filter(([name]) => name !== 'code')) expect(text, `${lang} ${code}`).toContain(String(fact));
      }
    }
    const en = translator('en');
    expect(leadDetailText(DETAILS['api-error'], en)).toBe('Throttling.User: Request was denied');
    expect(leadDetailText({ code: 'api-error', errorCode: 'JobNotFound', message: null }, en)).toBe('JobNotFound');
    expect(leadDetailText(DETAILS['waiting-stuck'], en)).toBe('Succeeded at 2031-04-05 09:10:13 (stuck: longer than STUCK_AFTER)');
    expect(leadDetailText({ code: 'no-conversation', succeededAt: '2031-04-05 09:10:11', checkedAt: null }, en)).toBe('Succeeded at 2031-04-05 09:10:11; DescribeJob asked at ?');
    expect(leadDetailText(DETAILS['still-calling'], translator('zh'))).toBe('任务状态 Executing');
  });
});
