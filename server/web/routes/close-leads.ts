// 人工跟进 from the dashboard (DESIGN §3.12): POST /tasks/:id/close-leads with the form's cause,
// remark, interest, next follow time and lead ids. The command is the operation's
// (operations/close-leads.ts); this route maps its outcome to a sentence: the lead's own row when
// the form was one lead's (view=row), the sentence alone otherwise (task page, /stuck), or a page
// without JavaScript.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { readLead } from '../../dashboard/lead-list.ts';
import { readTaskRow } from '../../dashboard/task-list.ts';
import type { Outcome } from '../../operations/index.ts';
import { actorOf, type DashboardOptions } from '../dashboard.ts';
import { httpError, t, taskIdFrom } from '../http-errors.ts';
import { commandRoute } from '../route-roles.ts';
import { answerAction, type ActionMessage } from './action-outcome.ts';
import { statusOf } from './outcome-status.ts';
import { leadView } from './task-view.ts';

type CloseRequest = FastifyRequest<{ Params: { id: string }; Body: Record<string, unknown> | undefined }>;

export const closeLeadsRoutes: FastifyPluginAsync<DashboardOptions> = async (app, { reads, operations, config }) => {
  app.post('/tasks/:id/close-leads', commandRoute('close-leads'), async (request: CloseRequest, reply) => {
    const taskId = taskIdFrom(reply, request.params.id);
    const body = request.body ?? {};
    const view = body.view === 'row' ? 'row' : 'message';
    if (!(await readTaskRow(reads.db, taskId))) throw httpError(404, `task ${taskId} does not exist`);
    // A form sends one lead id as a string and several as a list; none means "every lead of the cause".
    const leadIds = body.leadIds === undefined || body.leadIds === '' ? undefined : [body.leadIds].flat();
    const input = { cause: body.cause, remark: body.remark, interest: body.interest, nextFollowTime: body.nextFollowTime || null, ...(leadIds ? { leadIds } : {}) };
    const outcome = await operations.leads.close(actorOf(request), taskId, input);
    const message = closeMessage(outcome, t(reply));
    if (view === 'row' && leadIds?.length === 1) {
      const lead = await readLead(reads.db, taskId, Number(leadIds[0]), config.timeZone);
      if (lead) {
        const text = t(reply)(message.key, message.vars);
        return answerAction(request, reply, message, { template: 'partials/lead-row', data: { taskId, lead: leadView(lead), message: { kind: rowKind(message), text } } }, `/tasks/${taskId}`);
      }
    }
    return answerAction(request, reply, message, { template: 'partials/action-message', data: {} }, `/tasks/${taskId}`);
  });
};

function closeMessage(outcome: Outcome<unknown>, tr: ReturnType<typeof t>): ActionMessage {
  const status = statusOf(outcome);
  if (outcome.status === 'failed') return { outcome: 'failed', key: 'msg.failed', vars: { error: outcome.facts.error }, status };
  if (outcome.status === 'refused') {
    if (outcome.reason === 'bad-input') return { outcome: 'refused', key: 'close.badInput', vars: { problem: String(outcome.facts.problem) }, status };
    return { outcome: 'refused', key: outcome.reason === 'forbidden' ? 'error.forbidden' : 'task.err.notFound', vars: { id: String(outcome.facts.id ?? '') }, status };
  }
  const { closed, skipped, cause } = outcome.facts;
  return { outcome: 'ok', key: 'close.done', vars: { closed: Number(closed), skipped: Number(skipped), cause: tr(`close.cause.${String(cause)}`) }, status: 200 };
}

/** The lead row shows the same sentence in its own message slot, in its own tones. */
function rowKind(message: ActionMessage): 'ok' | 'failed' | 'refused' {
  return message.outcome;
}
