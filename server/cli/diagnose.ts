// `autofollow diagnose <taskId> [--json]`: why a task is or is not moving (DESIGN §4). Read-only.
// With --json stdout carries only the JSON (logs go to stderr); otherwise a report for a terminal.
// A task that is not eligible is a normal answer (exit 0); an unknown id is an error.
import type { Config } from '../config.ts';
import { openDatabase } from '../db/client.ts';
import type { Logger } from '../log.ts';
import { toCrmDateTime } from '../crm-time.ts';
import { systemClock } from '../pipeline/deps.ts';
import { diagnoseTask, LEAD_REASON_TEXT, type Diagnosis, type LeadReason } from '../pipeline/diagnose.ts';
import { checkDatabase } from './check-database.ts';

export interface DiagnoseOptions {
  taskId: number;
  json: boolean;
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
    out.write(options.json ? `${JSON.stringify(diagnosis)}\n` : formatDiagnosis(diagnosis, config.timeZone));
    return 0;
  } finally {
    await database.close();
  }
}

export const MAX_BLOCKED_LEADS_SHOWN = 20;

export function formatDiagnosis(d: Diagnosis, timeZone: string): string {
  const time = (value: string | null) => crmTime(value, timeZone);
  const lines: string[] = [];
  const group = d.task.jobGroupId ? `job group ${d.task.jobGroupId}` : 'no job group';
  lines.push(`Task ${d.task.id} "${d.task.name}" · stage ${d.task.taskType} ${d.task.stageName} · ${group}`);
  lines.push(`Eligible for processing: ${d.eligible ? 'yes' : 'no'}`);
  for (const reason of d.reasons) lines.push(`  - ${reason}`);

  lines.push('', 'Leads');
  const s = d.stats;
  lines.push(
    ...table(
      ['total', 'called', 'with status', 'succeeded', 'failed', 'with conversation', 'with follow-up', 'with interest'],
      [[s.total, s.called, s.withStatus, s.succeeded, s.failed, s.withConversation, s.withFollow, s.withInterest].map(String)],
      'right',
    ),
  );

  const counted = Object.entries(d.leadReasons).filter(([, count]) => count > 0);
  lines.push('', counted.length > 0 ? 'Leads not finished, by reason' : 'Leads not finished: none');
  if (counted.length > 0) lines.push(...table(['reason', 'leads'], counted.map(([reason, count]) => [explain(reason), String(count)])));

  if (d.blockedLeads.length > 0) {
    const shown = d.blockedLeads.slice(0, MAX_BLOCKED_LEADS_SHOWN);
    lines.push('', `Blocked leads${d.blockedLeads.length > shown.length ? ` (first ${shown.length} of ${d.blockedLeads.length})` : ''}`);
    lines.push(
      ...table(
        ['row', 'leads id', 'name', 'phone', 'job', 'reason', 'detail'],
        shown.map((lead) => [String(lead.leadRowId), String(lead.leadsId), lead.name ?? '', lead.phone, lead.jobId ?? '', shortLabel(lead.reason), oneLine(lead.detail ?? '')]),
      ),
    );
  }

  if (d.supersededJobs.length > 0) {
    lines.push('', 'Jobs leads left for a newer job for their phone (re-issued in Outbound Bot)');
    lines.push(...table(['row', 'old job', 'its last status', 'now follows', 'since'], d.supersededJobs.map((j) => [String(j.leadRowId), j.jobId, j.lastJobStatus ?? '', j.supersededBy, j.at])));
  }

  lines.push('');
  if (!d.lease) lines.push('Lease: free');
  else {
    const state = d.lease.expired ? 'EXPIRED (the next pass takes it over)' : `until ${time(d.lease.expiresAt)}`;
    lines.push(`Lease: held by ${d.lease.owner} since ${time(d.lease.acquiredAt)}, ${state}`);
  }

  lines.push('', d.lastRuns.length > 0 ? 'Last runs' : 'Last runs: none yet');
  if (d.lastRuns.length > 0) {
    lines.push(
      ...table(
        ['run', 'trigger', 'started', 'outcome', 'stage', 'took', 'error'],
        d.lastRuns.map((run) => [
          String(run.id),
          run.trigger,
          time(run.startedAt),
          run.outcome,
          run.stageAfter === null || run.stageAfter === run.stageBefore ? String(run.stageBefore) : `${run.stageBefore} -> ${run.stageAfter}`,
          run.durationMs === null ? (run.finishedAt ? '' : 'running') : `${(run.durationMs / 1000).toFixed(1)} s`,
          oneLine([run.errorCode, run.errorMessage].filter(Boolean).join(': ')).slice(0, 120),
        ]),
      ),
    );
  }
  lines.push(`(times in ${timeZone})`);
  return `${lines.join('\n')}\n`;
}

function explain(reason: string): string {
  return LEAD_REASON_TEXT[reason as LeadReason] ?? reason;
}

/** "not synced: no call_job_id yet" -> "not synced", for the per-lead table. */
function shortLabel(reason: string): string {
  return explain(reason).split(':')[0]!;
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
