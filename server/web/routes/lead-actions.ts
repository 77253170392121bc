// Per-lead actions on the task page: reveal one phone number (audited), and retry one lead's failed
// analysis. Each answers with that lead's row fragment (lead-row.eta) and a sentence; a browser
// without htmx gets the same row on a small page of its own.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { readLead, type LeadListRow } from '../../dashboard/lead-list.ts';
import type { Outcome } from '../../operations/index.ts';
import { readLease } from '../../pipeline/leases.ts';
import type { RetryAnalysisResult } from '../../pipeline/retry-analysis.ts';
import { actorOf, isHtmx, type DashboardOptions } from '../dashboard.ts';
import { commandRoute } from '../route-roles.ts';
import { statusOf } from './outcome-status.ts';
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
  const { reads, operations, config } = options;

  /** 400 for a malformed id, 404 for a lead that is not there: bad input is not a command. */
  async function findLead(reply: FastifyReply, params: LeadParams['Params']): Promise<{ taskId: number; lead: LeadListRow }> {
    const taskId = taskIdFrom(reply, params.id);
    // Lead row ids are INT UNSIGNED like task ids: the same rule reads both.
    const leadRowId = parseTaskId(params.leadId);
    if (leadRowId === null) throw httpError(400, t(reply)('lead.err.badId', { id: params.leadId }));
    const lead = await readLead(reads.db, taskId, leadRowId, config.timeZone);
    if (!lead) throw httpError(404, t(reply)('lead.err.notFound', { id: leadRowId, taskId }));
    return { taskId, lead };
  }

  app.post<LeadParams>('/tasks/:id/leads/:leadId/reveal-phone', commandRoute('reveal-phone'), async (request, reply) => {
    const { taskId, lead } = await findLead(reply, request.params);
    const outcome = await operations.leads.revealPhone(actorOf(request), taskId, lead.id);
    reply.header('Cache-Control', 'no-store');
    if (outcome.status !== 'done' || !outcome.data) {
      reply.code(statusOf(outcome));
      return renderRow(request, reply, taskId, leadView(lead), { kind: 'refused', text: refusalText(outcome, t(reply), taskId, reply) });
    }
    return renderRow(request, reply, taskId, leadView(outcome.data, { revealPhone: true }), { kind: 'info', text: t(reply)('lead.revealed') });
  });

  app.post<LeadParams>('/tasks/:id/leads/:leadId/retry-analysis', commandRoute('retry-lead-analysis'), async (request, reply) => {
    const { taskId, lead } = await findLead(reply, request.params);
    const tr = t(reply);
    const outcome = await operations.leads.retryAnalysis(actorOf(request), taskId, lead.id);
    if (outcome.status !== 'started' || !outcome.data) {
      reply.code(statusOf(outcome));
      return renderRow(request, reply, taskId, leadView(lead), { kind: 'refused', text: refusalText(outcome, tr, taskId, reply) });
    }
    const answer = await within(outcome.data.settled, RETRY_ANSWER_WAIT_MS);
    const fresh = (await readLead(reads.db, taskId, lead.id, config.timeZone)) ?? lead;
    if (answer === undefined) {
      reply.code(202);
      return renderRow(request, reply, taskId, leadView(fresh), { kind: 'info', text: tr('lead.retry.running') });
    }
    const holder = answer instanceof Error || answer.status !== 'leased-elsewhere' ? null : await readLease(reads.db, taskId);
    const { status, message } = retryMessage(answer, tr, {
      taskId, error: fresh.analysisError, owner: holder?.owner ?? '?', since: holder ? (reply.locals?.time?.(holder.acquiredAt) ?? '?') : '?',
    });
    reply.code(status);
    return renderRow(request, reply, taskId, leadView(fresh), message);
  });
};

/** A refused or failed lead command in the operator's words. */
function refusalText(outcome: Outcome<unknown>, tr: ReturnType<typeof t>, taskId: number, reply: FastifyReply): string {
  if (outcome.status === 'failed') return tr('lead.retry.error', { error: outcome.facts.error });
  if (outcome.status !== 'refused') return '';
  const since = outcome.facts.since instanceof Date ? (reply.locals?.time?.(outcome.facts.since) ?? outcome.facts.since.toISOString()) : '?';
  switch (outcome.reason) {
    case 'analysis-not-failed':
      return tr('lead.retry.notFailed');
    case 'busy':
      return tr('lead.retry.busy', { id: taskId, owner: String(outcome.facts.owner ?? '?'), since });
    case 'paused':
      return tr('lead.retry.paused', { id: taskId });
    case 'shutting-down':
      return tr('lead.retry.stopping');
    case 'not-found':
      return tr('lead.retry.gone');
    default:
      return tr('error.forbidden');
  }
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
