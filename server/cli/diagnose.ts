// `autofollow diagnose <taskId> [--json] [--lang en|zh]`: why a task is or is not moving (DESIGN §4).
// Read-only. With --json stdout carries only the JSON (logs go to stderr; its `reasons` stay English
// for scripts); otherwise a report for a terminal, its reasons in --lang (English by default).
// A task that is not eligible is a normal answer (exit 0); an unknown id is an error.
import type { Config } from '../config.ts';
import { openDatabase } from '../db/client.ts';
import type { Logger } from '../log.ts';
import { toCrmDateTime } from '../crm-time.ts';
import { systemClock } from '../pipeline/deps.ts';
import { diagnoseTask, type Diagnosis } from '../pipeline/diagnose.ts';
import { translator, type Lang } from '../web/i18n/index.ts';
import { diagnosisJson, leadDetailText, reasonTexts } from '../web/i18n/render-reason.ts';
import { checkDatabase } from './check-database.ts';

export interface DiagnoseOptions {
  taskId: number;
  json: boolean;
  /** The language of the report's reasons; --json's `reasons` are English whatever it says. */
  lang: Lang;
}

export async function runDiagnose(
  config: Readonly<Config>,
  _log: Logger,
  options: DiagnoseOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const database = openDatabase(config.databaseUrl, { connectionLimit: 2 });
  try {
    await checkDatabase(database.pool, config.databaseUrl);
    const diagnosis = await diagnoseTask({ db: database.db, config, clock: systemClock }, options.taskId);
    if (!diagnosis) throw new Error(`task ${options.taskId} does not exist`);
    out.write(options.json ? `${JSON.stringify(diagnosisJson(diagnosis))}\n` : formatDiagnosis(diagnosis, config.timeZone, options.lang));
    return 0;
  } finally {
    await database.close();
  }
}

export const MAX_BLOCKED_LEADS_SHOWN = 20;

export function formatDiagnosis(d: Diagnosis, timeZone: string, lang: Lang = 'en'): string {
  const time = (value: string | null) => crmTime(value, timeZone);
  const t = translator(lang);
  const cols = (...names: string[]) => names.map((name) => t(`report.col.${name}`));
  const lines: string[] = [];
  const group = d.task.jobGroupId ? t('report.group', { id: d.task.jobGroupId }) : t('report.noGroup');
  lines.push(t('report.task', { id: d.task.id, name: d.task.name, stage: d.task.taskType, stageName: d.task.stageName, group }));
  lines.push(t('report.eligible', { answer: t(d.eligible ? 'report.yes' : 'report.no') }));
  for (const reason of reasonTexts(d.reasonCodes, lang, time)) lines.push(`  - ${reason}`);

  lines.push('', t('report.leads'));
  const s = d.stats;
  lines.push(
    ...table(
      cols('total', 'called', 'withStatus', 'succeeded', 'failed', 'withConversation', 'withFollow', 'withInterest'),
      [[s.total, s.called, s.withStatus, s.succeeded, s.failed, s.withConversation, s.withFollow, s.withInterest].map(String)],
      'right',
    ),
  );

  const counted = Object.entries(d.leadReasons).filter(([, count]) => count > 0);
  lines.push('', t(counted.length > 0 ? 'report.byReason' : 'report.byReasonNone'));
  if (counted.length > 0) lines.push(...table(cols('reason', 'leads'), counted.map(([reason, count]) => [t(`leadReason.${reason}`), String(count)])));

  if (d.blockedLeads.length > 0) {
    const shown = d.blockedLeads.slice(0, MAX_BLOCKED_LEADS_SHOWN);
    lines.push('', d.blockedLeads.length > shown.length ? t('report.blockedFirst', { shown: shown.length, total: d.blockedLeads.length }) : t('report.blocked'));
    lines.push(
      ...table(
        cols('row', 'leadsId', 'name', 'phone', 'job', 'reason', 'detail'),
        shown.map((lead) => [String(lead.leadRowId), String(lead.leadsId), lead.name ?? '', lead.phone, lead.jobId ?? '', t(`leadReason.${lead.reason}`), oneLine(leadDetailText(lead.detail, t) ?? '')]),
      ),
    );
  }

  if (d.supersededJobs.length > 0) {
    lines.push('', t('report.superseded'));
    lines.push(...table(cols('row', 'oldJob', 'lastStatus', 'nowFollows', 'since'), d.supersededJobs.map((j) => [String(j.leadRowId), j.jobId, j.lastJobStatus ?? '', j.supersededBy, j.at])));
  }

  lines.push('');
  if (!d.lease) lines.push(t('report.leaseFree'));
  else {
    const lease = { owner: d.lease.owner, since: time(d.lease.acquiredAt), until: time(d.lease.expiresAt) };
    lines.push(d.lease.expired ? t('report.leaseExpired', lease) : t('report.leaseHeld', lease));
  }

  lines.push('', t(d.lastRuns.length > 0 ? 'report.runs' : 'report.runsNone'));
  if (d.lastRuns.length > 0) {
    lines.push(
      ...table(
        cols('run', 'trigger', 'started', 'outcome', 'stage', 'took', 'error'),
        d.lastRuns.map((run) => [
          String(run.id),
          run.trigger,
          time(run.startedAt),
          run.outcome,
          run.stageAfter === null || run.stageAfter === run.stageBefore ? String(run.stageBefore) : `${run.stageBefore} -> ${run.stageAfter}`,
          run.durationMs === null ? (run.finishedAt ? '' : t('report.running')) : `${(run.durationMs / 1000).toFixed(1)} s`,
          oneLine([run.errorCode, run.errorMessage].filter(Boolean).join(': ')).slice(0, 120),
        ]),
      ),
    );
  }
  lines.push(t('report.timeZone', { zone: timeZone }));
  return `${lines.join('\n')}\n`;
}

/** Run and lease times are UTC instants; operators read them in the CRM's zone. */
function crmTime(value: string | null, timeZone: string): string {
  if (!value) return '';
  const epoch = Date.parse(value);
  return Number.isNaN(epoch) ? value : toCrmDateTime(epoch, timeZone);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function table(headers: string[], rows: string[][], align: 'left' | 'right' = 'left'): string[] {
  const widths = headers.map((header, i) => Math.max(displayWidth(header), ...rows.map((row) => displayWidth(row[i] ?? ''))));
  const pad = (cell: string, i: number) => {
    const fill = ' '.repeat(widths[i]! - displayWidth(cell));
    return align === 'right' ? fill + cell : cell + fill;
  };
  return [headers, ...rows].map((row) => `  ${row.map(pad).join('  ')}`.trimEnd());
}

/** CJK names and stage labels take two terminal columns per character. */
function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(char) ? 2 : 1;
  return width;
}
