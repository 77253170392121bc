// /api/*: what the CRM and operators' scripts call (DESIGN §4). Starting work goes through the
// pipeline (processTask), never straight to the OutboundBot API (STYLE §1).
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { PipelineDeps } from '../../pipeline/deps.ts';
import { diagnoseTask } from '../../pipeline/diagnose.ts';
import { loadTask } from '../../pipeline/find-pending-tasks.ts';
import { readLease } from '../../pipeline/leases.ts';
import { readTaskPause } from '../../pipeline/task-pauses.ts';
import { parseTaskId } from '../../task-id.ts';
import { httpError } from '../http-errors.ts';
import { requireBearerToken } from '../plugins/bearer-token.ts';

/** Starts processing in the background (not awaited); false means the process is shutting down. */
export type StartTaskProcessing = (taskId: number) => boolean;

export interface ApiOptions {
  pipeline: PipelineDeps;
  /** API_TOKEN: when set, every /api request must carry it as a bearer token. */
  apiToken: string | undefined;
  startTaskProcessing: StartTaskProcessing;
}

type TaskRequest = FastifyRequest<{ Params: { id: string } }>;

export const apiRoutes: FastifyPluginAsync<ApiOptions> = async (app, { pipeline, apiToken, startTaskProcessing }) => {
  requireBearerToken(app, apiToken);

  // The spec's process_task_after_creation: the CRM calls this after assigning a task's jobs.
  app.post('/tasks/:id/process', async (request: TaskRequest, reply) => {
    const taskId = taskIdOf(request);
    if (!(await loadTask(pipeline.db, taskId))) return reply.code(404).send({ error: `task ${taskId} does not exist` });
    // processTask refuses a paused task too; answering here tells the caller why nothing will happen.
    if (await readTaskPause(pipeline.db, taskId)) return reply.code(409).send({ error: `task ${taskId} is paused; resume it first` });
    // A courtesy answer for the caller; processTask's lease claim stays the real guard against a race.
    const lease = await readLease(pipeline.db, taskId);
    if (lease && !lease.expired) return reply.code(409).send({ error: `task is already being processed by ${lease.owner}` });
    if (!startTaskProcessing(taskId)) {
      return reply.code(503).header('Retry-After', '30').send({ error: 'autofollow is shutting down; try again in a moment' });
    }
    return reply.code(202).send({ taskId, accepted: true });
  });

  app.get('/tasks/:id/diagnose', async (request: TaskRequest, reply) => {
    const taskId = taskIdOf(request);
    const diagnosis = await diagnoseTask(pipeline, taskId);
    if (!diagnosis) return reply.code(404).send({ error: `task ${taskId} does not exist` });
    return diagnosis;
  });
};

/** Bad input is a 400 with a sentence (rendered by build-app's error handler), never a 500. */
function taskIdOf(request: TaskRequest): number {
  const taskId = parseTaskId(request.params.id);
  if (taskId !== null) return taskId;
  const shown = request.params.id.length > 40 ? `${request.params.id.slice(0, 40)}…` : request.params.id;
  throw httpError(400, `task id must be a positive whole number, got "${shown}"`);
}
