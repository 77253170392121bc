// Per-lead actions on the task page: reveal one phone number (audited), and retry one lead's failed
// analysis. Each answers with that lead's row fragment (lead-row.eta) and a sentence; a browser
// without htmx gets the same row on a small page of its own.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { writeAudit, type AuditOutcome } from '../../audit-log.ts';
import { readLead, type LeadListRow } from '../../dashboard/lead-list.ts';
import { readLease } from '../../pipeline/leases.ts';
import { retryFailedAnalyses, type RetryAnalysisResult } from '../../pipeline/retry-analysis.ts';
import type { DashboardOptions } from '../dashboard.ts';
import { isHtmx } from '../dashboard.ts';
import { within } from '../../net/within.ts';
import { parseTaskId } from '../../task-id.ts';
import { httpError, t, taskIdFrom } from '../http-errors.ts';
import { leadView, type LeadView } from './task-view.ts';

/**
 * How long a retry request waits for its answer. The retry always runs through
 * scheduler.runInBackground, so shutdown waits for it and a slow LLM (timeouts of up to
 * LLM_TIMEOUT_MS per attempt, several attempts) never holds a request for minutes. One LLM call
 * usually answers within a few seconds, so the request waits that long for the outcome and shows it
 * in the row; a slower retry carries on in the background and the polled table shows its result.
 */
export const RETRY_ANSWER_WAIT_MS = 8_000;

interface RowMessage {
  kind: 'ok' | 'refused' | 'failed' | 'info';
  text: string;
}

type LeadParams = { Params: { id: string; leadId: string } };

export const leadActionRoutes: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  const { db } = options.pipeline;

  async function findLead(reply: FastifyReply, params: LeadParams['Params']): Promise<{ taskId: number; lead: LeadListRow }> {
    const taskId = taskIdFrom(reply, params.id);
    // Lead row ids are INT UNSIGNED like task ids: the same rule reads both.
    const leadRowId = parseTaskId(params.leadId);
    if (leadRowId === null) throw httpError(400, t(reply)('lead.err.badId', { id: params.leadId }));
    const lead = await readLead(db, taskId, leadRowId, options.config.timeZone);
    if (!lead) throw httpError(404, t(reply)('lead.err.notFound', { id: leadRowId, taskId }));
    return { taskId, lead };
  }

  app.post<LeadParams>('/tasks/:id/leads/:leadId/reveal-phone', async (request, reply) => {
    const { taskId, lead } = await findLead(reply, request.params);
    // The audit row says who saw which lead's number; the number itself is never written or logged.
    await writeAudit(db, { actor: actorOf(request), action: 'reveal-phone', taskId, leadRowId: lead.id, outcome: 'ok', detail: null });
    reply.header('Cache-Control', 'no-store');
    return renderRow(request, reply, taskId, leadView(lead, { revealPhone: true }), { kind: 'info', text: t(reply)('lead.revealed') });
  });

  app.post<LeadParams>('/tasks/:id/leads/:leadId/retry-analysis', async (request, reply) => {
    const { taskId, lead } = await findLead(reply, request.params);
    const tr = t(reply);
    const actor = actorOf(request);
    const refuse = async (status: number, text: string, detail: string) => {
      await writeAudit(db, { actor, action: 'retry-analysis', taskId, leadRowId: lead.id, outcome: 'refused', detail });
      reply.code(status);
      return renderRow(request, reply, taskId, leadView(lead), { kind: 'refused', text });
    };
    if (lead.analysisStatus !== 'failed') return refuse(409, tr('lead.retry.notFailed'), 'the analysis of this lead has not failed');
    const lease = await readLease(db, taskId);
    if (lease && !lease.expired) {
      const since = reply.locals?.time?.(lease.acquiredAt) ?? lease.acquiredAt.toISOString();
      return refuse(409, tr('lead.retry.busy', { id: taskId, owner: lease.owner, since }), `task ${taskId} is already being processed by ${lease.owner}`);
    }

    const outcome = startRetry(options, { actor, taskId, leadRowId: lead.id });
    if (!outcome) return refuse(503, tr('lead.retry.stopping'), 'the service is shutting down');
    const answer = await within(outcome, RETRY_ANSWER_WAIT_MS);
    const fresh = (await readLead(db, taskId, lead.id, options.config.timeZone)) ?? lead;
    if (answer === undefined) {
      reply.code(202);
      return renderRow(request, reply, taskId, leadView(fresh), { kind: 'info', text: tr('lead.retry.running') });
    }
    const holder = answer instanceof Error || answer.status !== 'leased-elsewhere' ? null : await readLease(db, taskId);
    const { status, message } = retryMessage(answer, tr, {
      taskId, error: fresh.analysisError, owner: holder?.owner ?? '?', since: holder ? (reply.locals?.time?.(holder.acquiredAt) ?? '?') : '?',
    });
    reply.code(status);
    return renderRow(request, reply, taskId, leadView(fresh), message);
  });
};

/**
 * Starts the retry in the background; resolves with its result (or its error) once the audit row
 * is written, so whoever waits for it sees the audit log complete. Null when the service is stopping.
 */
function startRetry(options: DashboardOptions, who: { actor: string; taskId: number; leadRowId: number }): Promise<RetryAnalysisResult | Error> | null {
  let settle: (value: RetryAnalysisResult | Error) => void = () => {};
  const settled = new Promise<RetryAnalysisResult | Error>((resolve) => (settle = resolve));
  const label = `retry analysis of lead ${who.leadRowId} of task ${who.taskId}`;
  const started = options.scheduler.runInBackground(label, async () => {
    let outcome: RetryAnalysisResult | Error;
    try {
      outcome = await retryFailedAnalyses(options.pipeline, who.taskId, { trigger: 'dashboard', leadRowId: who.leadRowId });
    } catch (error) {
      outcome = error instanceof Error ? error : new Error(String(error));
    }
    try {
      const { outcome: audited, detail } = auditOf(outcome);
      await writeAudit(options.pipeline.db, { actor: who.actor, action: 'retry-analysis', taskId: who.taskId, leadRowId: who.leadRowId, outcome: audited, detail });
    } finally {
      settle(outcome);
    }
    if (outcome instanceof Error) throw outcome; // logged by the scheduler under `label`
  });
  return started ? settled : null;
}

function auditOf(outcome: RetryAnalysisResult | Error): { outcome: AuditOutcome; detail: string } {
  if (outcome instanceof Error) return { outcome: 'failed', detail: outcome.message };
  const counts = `retried ${outcome.retried}, succeeded ${outcome.succeeded}, still failed ${outcome.stillFailed}, left alone ${outcome.leftAlone}`;
  if (outcome.status !== 'processed') return { outcome: 'refused', detail: outcome.status };
  if (outcome.stillFailed > 0) return { outcome: 'failed', detail: `${counts}${outcome.runId ? ` (run ${outcome.runId})` : ''}` };
  return { outcome: 'ok', detail: `${counts}${outcome.runId ? ` (run ${outcome.runId})` : ''}` };
}

function retryMessage(
  outcome: RetryAnalysisResult | Error,
  tr: ReturnType<typeof t>,
  facts: { taskId: number; error: string | null; owner: string; since: string },
): { status: number; message: RowMessage } {
  if (outcome instanceof Error) return { status: 500, message: { kind: 'failed', text: tr('lead.retry.error', { error: outcome.message }) } };
  switch (outcome.status) {
    case 'processed':
      if (outcome.succeeded > 0) return { status: 200, message: { kind: 'ok', text: tr('lead.retry.ok') } };
      if (outcome.stillFailed > 0) return { status: 200, message: { kind: 'failed', text: tr('lead.retry.failedAgain', { error: facts.error ?? '—' }) } };
      return { status: 200, message: { kind: 'refused', text: tr('lead.retry.leftAlone') } };
    case 'leased-elsewhere':
      return { status: 409, message: { kind: 'refused', text: tr('lead.retry.busy', { id: facts.taskId, owner: facts.owner, since: facts.since }) } };
    case 'paused':
      return { status: 409, message: { kind: 'refused', text: tr('lead.retry.paused', { id: facts.taskId }) } };
    case 'nothing-to-retry':
      return { status: 409, message: { kind: 'refused', text: tr('lead.retry.notFailed') } };
    case 'not-found':
      return { status: 404, message: { kind: 'refused', text: tr('lead.retry.gone') } };
  }
}

function renderRow(request: FastifyRequest, reply: FastifyReply, taskId: number, lead: LeadView, message: RowMessage) {
  if (isHtmx(request)) return reply.view('partials/lead-row', { taskId, lead, message });
  return reply.view('pages/lead', { taskId, lead, message });
}

function actorOf(request: FastifyRequest): string {
  return request.operator ?? 'unknown';
}
