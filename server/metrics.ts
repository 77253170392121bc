// Prometheus metrics for GET /metrics: one registry per process (a module singleton, like the
// logger), fed by the scheduler, the run history and both API clients. Labels stay bounded: no task
// ids, no phones, and codes that come from a remote server are capped (boundedLabel).
import { createRequire } from 'node:module';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
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
  help: 'Follow records (dcc_leads_follow) written, counted once their transaction committed, by the is_interested they set (0 cannot tell, 1 interested, 2 not interested).',
  labelNames: ['interest'] as const,
  registers: [registry],
});

const outboundbotRequests = new Counter({
  name: 'autofollow_outboundbot_api_requests_total',
  help: 'Outbound Bot API requests sent (every attempt, retries included) by action.',
  labelNames: ['action'] as const,
  registers: [registry],
});

const outboundbotRequestDuration = new Histogram({
  name: 'autofollow_outboundbot_api_request_duration_seconds',
  help: 'Outbound Bot API request time (one attempt, from leaving the rate limiter to the answer or the failure), by action.',
  labelNames: ['action'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60],
  registers: [registry],
});

const outboundbotErrors = new Counter({
  name: 'autofollow_outboundbot_errors_total',
  help: 'Outbound Bot API attempts that failed, by action and error code (retried or not).',
  labelNames: ['action', 'code'] as const,
  registers: [registry],
});

const llmRequests = new Counter({
  name: 'autofollow_llm_requests_total',
  help: 'LLM chat.completions requests sent (every attempt, retries included).',
  registers: [registry],
});

const llmRequestDuration = new Histogram({
  name: 'autofollow_llm_request_duration_seconds',
  help: 'LLM chat.completions request time (one attempt, to the whole answer or the failure).',
  buckets: [0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120],
  registers: [registry],
});

const llmTokens = new Counter({
  name: 'autofollow_llm_tokens_total',
  help: 'Tokens of the LLM answers analyses were made from, by kind: input (prompt) and output (completion).',
  labelNames: ['kind'] as const,
  registers: [registry],
});

const llmCost = new Counter({
  name: 'autofollow_llm_cost_yuan_total',
  help: 'Estimated cost of those tokens in yuan, at LLM_PRICE_PER_1K_INPUT and LLM_PRICE_PER_1K_OUTPUT.',
  registers: [registry],
});

const llmErrors = new Counter({
  name: 'autofollow_llm_errors_total',
  help: 'Failed LLM attempts and unusable answers by kind: timeout, connection, http_4xx, http_429, http_5xx, invalid_body, invalid_answer, no_api_key, unexpected.',
  labelNames: ['kind'] as const,
  registers: [registry],
});

const lastSuccessfulPass = new Gauge({
  name: 'autofollow_last_successful_pass_timestamp_seconds',
  help: 'When this process last finished a monitor pass without a fatal error (Unix time); 0 until its first.',
  registers: [registry],
});

// Read from the database when /metrics is scraped (database-gauges.ts): the same for every copy, so
// aggregate them with max(), not sum().
const schedulerPaused = new Gauge({
  name: 'autofollow_scheduler_paused',
  help: '1 while an operator has paused the scheduler (every running copy), else 0. Read from the database at scrape time.',
  registers: [registry],
});

const tasksByStage = new Gauge({
  name: 'autofollow_tasks',
  help: 'Call tasks by stage (call_tasks.task_type: 1 not started, 2 calling, 3 calls done, 4 followed up). Read from the database at scrape time.',
  labelNames: ['stage'] as const,
  registers: [registry],
});

const stuckLeads = new Gauge({
  name: 'autofollow_stuck_leads',
  help: 'Leads that are not moving, by cause, as /stuck lists them. Read from the database at scrape time.',
  labelNames: ['cause'] as const,
  registers: [registry],
});

const deadDeliveries = new Gauge({
  name: 'autofollow_dead_deliveries',
  help: 'Hot-lead deliveries whose retries ran out and that no operator has resent yet, by channel (/deliveries lists them). Read from the database at scrape time.',
  labelNames: ['channel'] as const,
  registers: [registry],
});

const buildInfo = new Gauge({
  name: 'autofollow_build_info',
  help: 'Always 1; the labels say which autofollow and which Node.js this process runs.',
  labelNames: ['version', 'nodejs'] as const,
  registers: [registry],
});
buildInfo.set({ version: createRequire(import.meta.url)('../package.json').version as string, nodejs: process.version }, 1);

export type PassResult = 'ok' | 'failed' | 'paused';

const notifications = new Counter({
  name: 'autofollow_notifications_total',
  help: 'Hot-lead deliveries by channel (dingtalk, wecom, webhook) and result: sent, failed (an attempt that will be retried), dead (retries ran out).',
  labelNames: ['channel', 'result'] as const,
  registers: [registry],
});

export function countNotifications(channel: string, result: 'sent' | 'failed' | 'dead', n: number): void {
  if (n > 0) notifications.inc({ channel, result }, n);
}

export function countPass(trigger: string, result: PassResult, durationMs?: number): void {
  passes.inc({ trigger: boundedLabel('trigger', trigger), result });
  if (durationMs !== undefined) passDuration.observe(durationMs / 1000);
  if (result === 'ok') lastSuccessfulPass.setToCurrentTime();
}

/** One finished run: its outcome and each step's duration. */
export function countTaskRun(outcome: string, steps: readonly StepReport[]): void {
  taskRuns.inc({ outcome: boundedLabel('outcome', outcome) });
  for (const step of steps) stepDuration.observe({ step: step.step }, step.durationMs / 1000);
}

/** Follow records just committed, one is_interested value each. */
export function countFollowRecords(interests: readonly number[]): void {
  for (const interest of interests) followRecords.inc({ interest: String(interest) });
}

/** An Outbound Bot request leaves now; call the returned function when it has answered or failed. */
export function startOutboundBotRequest(action: string): () => void {
  const label = { action: boundedLabel('action', action) };
  outboundbotRequests.inc(label);
  return outboundbotRequestDuration.startTimer(label);
}

export function countOutboundBotError(action: string, code: string): void {
  outboundbotErrors.inc({ action: boundedLabel('action', action), code: boundedLabel('code', code) });
}

/** An LLM request leaves now; call the returned function when it has answered or failed. */
export function startLlmRequest(): () => void {
  llmRequests.inc();
  return llmRequestDuration.startTimer();
}

/** One analysis's tokens, and their cost at the configured prices (yuan per 1,000 tokens). */
export function countLlmTokens(usage: { inputTokens: number; outputTokens: number }, prices: LlmPrices): void {
  llmTokens.inc({ kind: 'input' }, usage.inputTokens);
  llmTokens.inc({ kind: 'output' }, usage.outputTokens);
  llmCost.inc(costOf(usage, prices));
}

export interface LlmPrices {
  perThousandInput: number;
  perThousandOutput: number;
}

/** The configured prices (LLM_PRICE_PER_1K_INPUT / _OUTPUT). */
export function pricesOf(config: { llmPricePerThousandInput: number; llmPricePerThousandOutput: number }): LlmPrices {
  return { perThousandInput: config.llmPricePerThousandInput, perThousandOutput: config.llmPricePerThousandOutput };
}

/** Yuan for these tokens at these prices: the one formula the metrics and the reports use. */
export function costOf(usage: { inputTokens: number; outputTokens: number }, prices: LlmPrices): number {
  return (usage.inputTokens * prices.perThousandInput + usage.outputTokens * prices.perThousandOutput) / 1000;
}

/** `reason` is the client's short operator text ("timeout", "http 503", ...); it is folded to a kind here. */
export function countLlmError(reason: string): void {
  llmErrors.inc({ kind: llmErrorKind(reason) });
}

export function llmErrorKind(reason: string): string {
  if (reason === 'timeout') return 'timeout';
  if (reason === 'connection error') return 'connection';
  if (reason === 'invalid response body' || reason === 'empty answer' || reason === 'answer too large') return 'invalid_body';
  if (reason === 'no api key') return 'no_api_key';
  const status = /^http (\d{3})$/.exec(reason)?.[1];
  if (status) return status === '429' ? 'http_429' : `http_${status[0]}xx`;
  if (reason.startsWith('unexpected error') || reason === 'aborted') return 'unexpected';
  // Everything else is parseFollowUp's verdict on an answer that arrived (DESIGN §3.5).
  return 'invalid_answer';
}

/**
 * What database-gauges.ts read at scrape time; null when it could not: the labelled series go rather
 * than show stale counts (the unlabelled pause gauge reads 0, prom-client's value for an unset gauge).
 */
export function setDatabaseGauges(
  facts: { paused: boolean; tasksByStage: Record<number, number>; stuckLeadsByCause: Record<string, number>; deadDeliveriesByChannel: Record<string, number> } | null,
): void {
  schedulerPaused.reset();
  tasksByStage.reset();
  stuckLeads.reset();
  deadDeliveries.reset();
  if (!facts) return;
  schedulerPaused.set(facts.paused ? 1 : 0);
  for (const [stage, count] of Object.entries(facts.tasksByStage)) tasksByStage.set({ stage }, count);
  for (const [cause, count] of Object.entries(facts.stuckLeadsByCause)) stuckLeads.set({ cause }, count);
  for (const [channel, count] of Object.entries(facts.deadDeliveriesByChannel)) deadDeliveries.set({ channel }, count);
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
