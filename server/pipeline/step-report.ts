// What each pipeline step reports: kept in run history (af_task_runs.steps) and logged as one line.
import { BusinessError, errorCodeOf } from '../outboundbot/errors.ts';
import { withoutPhones } from '../phone.ts';

export type StepName =
  | 'sync_call_job_ids' | 'query_task_execution' | 'create_leads_follow' | 'default_is_interested' | 'check_and_update_task_status'
  | 'launch' | 'recall';

export interface StepError {
  code: string;
  message: string;
  /** Which page failed (1-based), when the step works in pages. */
  page?: number;
  /** The service refused (spec 5.4 business error): taking the task up again soon would change nothing. */
  business?: true;
}

export interface StepReport {
  step: StepName;
  durationMs: number;
  /** What the step counted: pages, jobs listed, leads matched, statuses stored, follow records... */
  counts: Record<string, number>;
  /** The first MAX_STEP_ERRORS errors, each message cut to MAX_ERROR_CHARS. */
  errors: StepError[];
  /** Errors beyond MAX_STEP_ERRORS, counted but not kept: a task whose every page fails still fits its run row. */
  errorsOmitted?: number;
  /** True when a page or call failed in a way that leaves leads behind for a later pass. */
  incomplete: boolean;
}

/** Run history stays bounded however badly a pass goes (issue 7). */
export const MAX_STEP_ERRORS = 20;
export const MAX_ERROR_CHARS = 300;

/**
 * An error message as it is stored (run history, a lead's last API error, a launch) and so shown on
 * the dashboard: phones masked as in the logs (a business error may quote one), then cut short.
 */
export function capErrorMessage(message: string): string {
  const masked = withoutPhones(message);
  return masked.length > MAX_ERROR_CHARS ? `${masked.slice(0, MAX_ERROR_CHARS - 1)}…` : masked;
}

/**
 * Counts that mean the step wrote something or learned something new. A run whose steps counted none
 * of these, with no error and no stage change, changed nothing and leaves no run row (issue 7).
 */
export const CHANGE_COUNTS = [
  'matched', 'followNewerJob', 'newlyNotInJobGroup', 'statusesStored', 'jobStatesChanged', 'apiErrorsRecorded',
  'conversationsRecovered', 'conversationsMissing', 'created', 'alreadyDone', 'analysisFailed', 'defaulted',
  'retried', 'succeeded', 'stillFailed', 'leftAlone', 'jobsCreated', 'jobGroupCreated', 'stageMoved',
] as const;
export type ChangeCount = (typeof CHANGE_COUNTS)[number];

/** Counts that only describe the work done (pages read, leads looked at): never a change by themselves. */
export const WORK_COUNTS = [
  'pages', 'pagesFailed', 'jobsListed', 'unchanged', 'relisted', 'notInJobGroup', 'notFinal', 'leadsRecalled', 'leadsFound',
  'leadsChecked', 'final', 'describedJobs', 'answersLost',
] as const;

/** Every name a step may count under: one list, so /stuck's rule and the run history read the same names. */
export type StepCount = ChangeCount | (typeof WORK_COUNTS)[number];
const isChangeCount = (name: string): name is ChangeCount => (CHANGE_COUNTS as readonly string[]).includes(name);

export function changedAnything(reports: StepReport[]): boolean {
  return reports.some((r) => r.errors.length > 0 || (r.errorsOmitted ?? 0) > 0 || Object.entries(r.counts).some(([name, n]) => n > 0 && isChangeCount(name)));
}

export function startStep(step: StepName, now: () => number = Date.now) {
  const startedAt = now();
  const counts: Record<string, number> = {};
  const errors: StepError[] = [];
  let omitted = 0;
  return {
    counts,
    errors,
    add(name: StepCount, n = 1) {
      counts[name] = (counts[name] ?? 0) + n;
    },
    /** Records what was thrown, classified: a business error is marked so it is not re-run (DESIGN §3.9). */
    failed(error: unknown, page?: number) {
      this.fail({
        code: errorCodeOf(error), message: (error as Error)?.message ?? String(error),
        ...(page !== undefined ? { page } : {}), ...(error instanceof BusinessError ? { business: true as const } : {}),
      });
    },
    fail(error: StepError) {
      if (errors.length < MAX_STEP_ERRORS) errors.push({ ...error, message: capErrorMessage(error.message) });
      else omitted++;
    },
    finish(incomplete = errors.length > 0): StepReport {
      return { step, durationMs: now() - startedAt, counts, errors, ...(omitted > 0 ? { errorsOmitted: omitted } : {}), incomplete };
    },
  };
}

export function describeStep(report: StepReport): string {
  const counts = Object.entries(report.counts).map(([k, v]) => `${k}=${v}`).join(' ');
  const errors = report.errors.length ? ` errors=${report.errors.map((e) => e.code).join(',')}${report.errorsOmitted ? ` (+${report.errorsOmitted} more)` : ''}` : '';
  return `${report.step}: ${counts || 'nothing to do'}${errors} (${report.durationMs} ms)`;
}
