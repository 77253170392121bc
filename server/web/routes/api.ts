// /api/*: what the CRM and operators' scripts call (DESIGN §4). Starting work goes through the
// pipeline (processTask), never straight to the OutboundBot API (STYLE §1).
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { PipelineDeps } from '../../pipeline/deps.ts';
import { diagnoseTask } from '../../pipeline/diagnose.ts';
import { loadTask } from '../../pipeline/find-pending-tasks.ts';
import { isProcessable } from '../../pipeline/process-task.ts';
import { stageName } from '../../pipeline/task-stages.ts';
import { closeLeadsOperation } from '../../operations/close-leads.ts';
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
    const task = await loadTask(pipeline.db, taskId);
    if (!task) return reply.code(404).send({ error: `task ${taskId} does not exist` });
    // processTask refuses these too; answering here tells the caller why nothing will happen.
    if (await readTaskPause(pipeline.db, taskId)) return reply.code(409).send({ status: 'paused', error: `task ${taskId} is paused; resume it first` });
    if (!isProcessable(task)) {
      const why = task.jobGroupId ? `it is at stage ${task.taskType} (${stageName(task.taskType)}), which autofollow does not process` : 'it has no job_group_id';
      return reply.code(409).send({ status: 'not-processable', error: `task ${taskId} is not processed: ${why}` });
    }
    // Another process is on it: what the caller asked for is happening (DESIGN §4), so not an error.
    // processTask's lease claim stays the real guard against a race.
    const lease = await readLease(pipeline.db, taskId);
    if (lease && !lease.expired) return reply.code(202).send({ taskId, accepted: true, status: 'already-running', owner: lease.owner });
    if (!startTaskProcessing(taskId)) {
      return reply.code(503).header('Retry-After', '30').send({ error: 'autofollow is shutting down; try again in a moment' });
    }
    return reply.code(202).send({ taskId, accepted: true, status: 'started' });
  });

  // 人工跟进 (DESIGN §3.12): the same command as `autofollow close-leads`, with the same fields as JSON.
  app.post('/tasks/:id/close-leads', async (request: TaskRequest, reply) => {
    const taskId = taskIdOf(request);
    const result = await closeLeadsOperation(pipeline, taskId, request.body ?? {}, apiActor(request));
    if (result.outcome === 'refused') return reply.code(result.reason === 'not-found' ? 404 : 400).send({ error: result.message });
    return { taskId, cause: result.cause, closed: result.closed, skipped: result.skipped, closedIds: result.closedIds };
  });

  app.get('/tasks/:id/diagnose', async (request: TaskRequest, reply) => {
    const taskId = taskIdOf(request);
    const diagnosis = await diagnoseTask(pipeline, taskId);
    if (!diagnosis) return reply.code(404).send({ error: `task ${taskId} does not exist` });
    return diagnosis;
  });
};

/** Who an /api call is audited as: the bearer token's holder (one shared API_TOKEN today). */
function apiActor(request: FastifyRequest): string {
  return request.headers.authorization ? 'api (API_TOKEN)' : `api (${request.ip})`;
}

/** Bad input is a 400 with a sentence (rendered by build-app's error handler), never a 500. */
function taskIdOf(request: TaskRequest): number {
  const taskId = parseTaskId(request.params.id);
  if (taskId !== null) return taskId;
  const shown = request.params.id.length > 40 ? `${request.params.id.slice(0, 40)}…` : request.params.id;
  throw httpError(400, `task id must be a positive whole number, got "${shown}"`);
}
