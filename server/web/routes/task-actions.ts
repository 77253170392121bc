// The task header card (GET /tasks/:id/card, polled) and the task actions
// (POST /tasks/:id/actions/:action), which answer with the fragment the caller names in `view`:
// the card (task page), the overview's row, or just the sentence (stuck page).
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { readTaskRow } from '../../dashboard/task-list.ts';
import type { DashboardOptions } from '../dashboard.ts';
import { httpError, taskIdFrom } from '../http-errors.ts';
import { answerAction, attempt, auditAction } from './action-outcome.ts';
import { isTaskAction, performTaskAction } from './perform-task-action.ts';

export const ACTION_VIEWS = { card: 'partials/task-card', row: 'partials/task-row', message: 'partials/action-message' } as const;
export type ActionView = keyof typeof ACTION_VIEWS;

type TaskParams = { Params: { id: string } };
type ActionRequest = FastifyRequest<{ Params: { id: string; action: string }; Body: { view?: unknown; owner?: unknown } | undefined }>;

export const taskActionRoutes: FastifyPluginAsync<DashboardOptions> = async (app, { pipeline, scheduler }) => {
  app.get('/tasks/:id/card', async (request: FastifyRequest<TaskParams>, reply) => {
    const task = await readTaskRow(pipeline.db, taskIdFrom(reply, request.params.id));
    if (!task) throw httpError(404, `task ${request.params.id} does not exist`);
    return reply.header('Cache-Control', 'no-store').view(ACTION_VIEWS.card, { task, message: null });
  });

  app.post('/tasks/:id/actions/:action', async (request: ActionRequest, reply) => {
    // Every check comes before anything is written: bad input changes nothing and is not audited.
    const { action } = request.params;
    if (!isTaskAction(action)) throw httpError(404, `there is no task action "${shorten(action)}"`);
    const taskId = taskIdFrom(reply, request.params.id);
    const view = viewOf(request.body?.view);
    const leaseOwnerSeen = ownerOf(request.body?.owner);
    const task = await readTaskRow(pipeline.db, taskId);
    if (!task) throw httpError(404, `task ${taskId} does not exist`);

    const operator = request.operator ?? 'unknown';
    const time = reply.locals?.time ?? ((at: Date) => at.toISOString());
    const message = await attempt(request, `${action} on task ${taskId}`, () => performTaskAction(action, { pipeline, scheduler, task, operator, time, ...(leaseOwnerSeen ? { leaseOwnerSeen } : {}) }));
    await auditAction(pipeline.db, { actor: operator, action, taskId }, message);

    const fresh = view === 'message' ? task : ((await readTaskRow(pipeline.db, taskId)) ?? task);
    return answerAction(request, reply, message, { template: ACTION_VIEWS[view], data: { task: fresh } }, `/tasks/${taskId}`);
  });
};

function viewOf(raw: unknown): ActionView {
  if (typeof raw === 'string' && Object.hasOwn(ACTION_VIEWS, raw)) return raw as ActionView;
  throw httpError(400, `the form field "view" must be card, row or message, got "${typeof raw === 'string' ? shorten(raw) : String(raw ?? '')}"`);
}

/** The lease owner a break-lease form names (af_task_leases.owner is 128 characters at most). */
function ownerOf(raw: unknown): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw === 'string' && raw.length <= 128) return raw;
  throw httpError(400, 'the form field "owner" must be one lease owner of at most 128 characters');
}

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
