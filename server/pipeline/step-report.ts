// What each pipeline step reports: kept in run history (af_task_runs.steps) and logged as one line.

export type StepName = 'sync_call_job_ids' | 'query_task_execution' | 'create_leads_follow' | 'default_is_interested' | 'check_and_update_task_status';

export interface StepError {
  code: string;
  message: string;
  /** Which page failed (1-based), when the step works in pages. */
  page?: number;
}

export interface StepReport {
  step: StepName;
  durationMs: number;
  /** What the step counted: pages, jobs listed, leads matched, statuses stored, follow records... */
  counts: Record<string, number>;
  errors: StepError[];
  /** True when a page or call failed in a way that leaves leads behind for a later pass. */
  incomplete: boolean;
}

export function startStep(step: StepName, now: () => number = Date.now) {
  const startedAt = now();
  const counts: Record<string, number> = {};
  const errors: StepError[] = [];
  return {
    counts,
    errors,
    add(name: string, n = 1) {
      counts[name] = (counts[name] ?? 0) + n;
    },
    fail(error: StepError) {
      errors.push(error);
    },
    finish(incomplete = errors.length > 0): StepReport {
      return { step, durationMs: now() - startedAt, counts, errors, incomplete };
    },
  };
}

export function describeStep(report: StepReport): string {
  const counts = Object.entries(report.counts).map(([k, v]) => `${k}=${v}`).join(' ');
  const errors = report.errors.length ? ` errors=${report.errors.map((e) => e.code).join(',')}` : '';
  return `${report.step}: ${counts || 'nothing to do'}${errors} (${report.durationMs} ms)`;
}
