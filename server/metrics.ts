// Prometheus metrics for GET /metrics: one registry per process (a module singleton, like the
// logger), fed by the scheduler, the run history and both API clients. Labels stay bounded: no task
// ids, no phones, and codes that come from a remote server are capped (boundedLabel).
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { StepReport } from './pipeline/step-report.ts';

export const registry = new Registry();
// prom-client's process metrics (cpu, memory, event loop lag, gc) keep their standard names, so
// stock dashboards for Node processes work unchanged.
collectDefaultMetrics({ register: registry });

const passes = new Counter({
  name: 'autofollow_passes_total',
  help: 'Monitor passes by trigger (schedule, api, dashboard, ...) and result (ok, failed, paused = a scheduled tick skipped while the scheduler is paused).',
  labelNames: ['trigger', 'result'] as const,
  registers: [registry],
});

const passDuration = new Histogram({
  name: 'autofollow_pass_duration_seconds',
  help: 'Wall time of a monitor pass that ran.',
  buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600],
  registers: [registry],
});

const taskRuns = new Counter({
  name: 'autofollow_task_runs_total',
  help: 'Finished task runs (af_task_runs) by outcome: ok, partial, failed, lease-lost.',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

const stepDuration = new Histogram({
  name: 'autofollow_step_duration_seconds',
  help: 'Duration of each pipeline step of a task run.',
  labelNames: ['step'] as const,
  buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300],
  registers: [registry],
});

const followRecords = new Counter({
  name: 'autofollow_follow_records_created_total',
  help: 'Follow records (dcc_leads_follow) inserted by the create_leads_follow step.',
  registers: [registry],
});

const outboundbotCalls = new Counter({
  name: 'autofollow_outboundbot_calls_total',
  help: 'Outbound Bot API requests sent (every attempt, retries included) by action.',
  labelNames: ['action'] as const,
  registers: [registry],
});

const outboundbotErrors = new Counter({
  name: 'autofollow_outboundbot_errors_total',
  help: 'Outbound Bot API attempts that failed, by action and error code (retried or not).',
  labelNames: ['action', 'code'] as const,
  registers: [registry],
});

const llmCalls = new Counter({
  name: 'autofollow_llm_calls_total',
  help: 'LLM chat.completions requests sent (every attempt, retries included).',
  registers: [registry],
});

const llmErrors = new Counter({
  name: 'autofollow_llm_errors_total',
  help: 'Failed LLM attempts and unusable answers by kind: timeout, connection, http_4xx, http_429, http_5xx, invalid_body, invalid_answer, no_api_key, unexpected.',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export type PassResult = 'ok' | 'failed' | 'paused';

export function countPass(trigger: string, result: PassResult, durationMs?: number): void {
  passes.inc({ trigger: boundedLabel('trigger', trigger), result });
  if (durationMs !== undefined) passDuration.observe(durationMs / 1000);
}

/** One finished run: its outcome, each step's duration, and the follow records it created. */
export function countTaskRun(outcome: string, steps: readonly StepReport[]): void {
  taskRuns.inc({ outcome: boundedLabel('outcome', outcome) });
  for (const step of steps) {
    stepDuration.observe({ step: step.step }, step.durationMs / 1000);
    if (step.step === 'create_leads_follow') followRecords.inc(step.counts.created ?? 0);
  }
}

export function countOutboundBotCall(action: string): void {
  outboundbotCalls.inc({ action: boundedLabel('action', action) });
}

export function countOutboundBotError(action: string, code: string): void {
  outboundbotErrors.inc({ action: boundedLabel('action', action), code: boundedLabel('code', code) });
}

export function countLlmCall(): void {
  llmCalls.inc();
}

/** `reason` is the client's short operator text ("timeout", "http 503", ...); it is folded to a kind here. */
export function countLlmError(reason: string): void {
  llmErrors.inc({ kind: llmErrorKind(reason) });
}

export function llmErrorKind(reason: string): string {
  if (reason === 'timeout') return 'timeout';
  if (reason === 'connection error') return 'connection';
  if (reason === 'invalid response body' || reason === 'empty answer') return 'invalid_body';
  if (reason === 'no api key') return 'no_api_key';
  const status = /^http (\d{3})$/.exec(reason)?.[1];
  if (status) return status === '429' ? 'http_429' : `http_${status[0]}xx`;
  if (reason.startsWith('unexpected error') || reason === 'aborted') return 'unexpected';
  // Everything else is parseFollowUp's verdict on an answer that arrived (DESIGN §3.5).
  return 'invalid_answer';
}

/** Distinct values a label may take before further ones are counted as "other". */
export const MAX_LABEL_VALUES = 50;
const seenLabelValues = new Map<string, Set<string>>();

/**
 * Caps a label fed by values we do not control (error codes from the server): each new series costs
 * memory for the life of the process and in Prometheus, so after MAX_LABEL_VALUES the rest is "other".
 */
export function boundedLabel(label: string, value: string): string {
  const text = value.slice(0, 64) || 'unknown';
  let seen = seenLabelValues.get(label);
  if (!seen) seenLabelValues.set(label, (seen = new Set()));
  if (seen.has(text)) return text;
  if (seen.size >= MAX_LABEL_VALUES) return 'other';
  seen.add(text);
  return text;
}
