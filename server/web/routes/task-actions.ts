// The task header card (GET /tasks/:id/card, polled) and the task actions
// (POST /tasks/:id/actions/:action), which answer with the fragment the caller names in `view`:
// the card (task page), the overview's row, or just the sentence (stuck page). The command itself
// is the task operations' (operations/task-operations.ts).
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { readTaskRow } from '../../dashboard/task-list.ts';
import { readSparklines } from '../../dashboard/task-sparklines.ts';
import { isTaskCommand } from '../../operations/task-operations.ts';
import { actorOf, type DashboardOptions } from '../dashboard.ts';
import { httpError, taskIdFrom } from '../http-errors.ts';
import { answerAction, messageOf } from './action-outcome.ts';

export const ACTION_VIEWS = { card: 'partials/task-card', row: 'partials/task-row', message: 'partials/action-message' } as const;
export type ActionView = keyof typeof ACTION_VIEWS;

type TaskParams = { Params: { id: string } };
type ActionRequest = FastifyRequest<{ Params: { id: string; action: string }; Body: { view?: unknown; owner?: unknown } | undefined }>;

export const taskActionRoutes: FastifyPluginAsync<DashboardOptions> = async (app, { reads, operations, config }) => {
  app.get('/tasks/:id/card', async (request: FastifyRequest<TaskParams>, reply) => {
    const task = await readTaskRow(reads.db, taskIdFrom(reply, request.params.id));
    if (!task) throw httpError(404, `task ${request.params.id} does not exist`);
    return reply.header('Cache-Control', 'no-store').view(ACTION_VIEWS.card, { task, message: null });
  });

  // 'operator': the least any task command needs; break-lease needs admin, which its operation checks.
  app.post('/tasks/:id/actions/:action', { config: { role: 'operator' } }, async (request: ActionRequest, reply) => {
    // Every check of the input comes before the command: bad input changes nothing and is not audited.
    const { action } = request.params;
    if (!isTaskCommand(action)) throw httpError(404, `there is no task action "${shorten(action)}"`);
    const taskId = taskIdFrom(reply, request.params.id);
    const view = viewOf(request.body?.view);
    const leaseOwnerSeen = ownerOf(request.body?.owner);
    if (!(await readTaskRow(reads.db, taskId))) throw httpError(404, `task ${taskId} does not exist`);

    const outcome = await operations.tasks.run(actorOf(request), action, taskId, leaseOwnerSeen ? { leaseOwnerSeen } : {});
    const time = reply.locals?.time ?? ((at: Date) => at.toISOString());
    const message = messageOf(outcome, 'task', time);
    const fresh = await readTaskRow(reads.db, taskId);
    // The overview's row keeps its sparkline when an action redraws it.
    const sparklines = view === 'row' ? await readSparklines(reads.db, [taskId], reads.clock.now(), config.timeZone) : null;
    return answerAction(request, reply, message, { template: ACTION_VIEWS[view], data: { task: fresh, sparklines } }, `/tasks/${taskId}`);
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
