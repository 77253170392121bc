// /api/*: what the CRM and operators' scripts call (DESIGN §4). Commands go through the operations
// (the same rules as the dashboard's buttons); this file only maps their outcome to HTTP.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Operations, Outcome, ReadDeps } from '../../operations/index.ts';
import { diagnoseTask } from '../../pipeline/diagnose.ts';
import { parseTaskId } from '../../task-id.ts';
import { httpError } from '../http-errors.ts';
import { requireBearerToken } from '../plugins/bearer-token.ts';
import { commandRoute } from '../route-roles.ts';
import { statusOf } from './outcome-status.ts';

export interface ApiOptions {
  reads: ReadDeps;
  operations: Operations;
}

type TaskRequest = FastifyRequest<{ Params: { id: string } }>;

export const apiRoutes: FastifyPluginAsync<ApiOptions> = async (app, { reads, operations }) => {
  requireBearerToken(app, operations.access);

  // The spec's process_task_after_creation: the CRM calls this after assigning a task's jobs.
  app.post('/tasks/:id/process', commandRoute('process'), async (request: TaskRequest, reply) => {
    const taskId = taskIdOf(request);
    const client = request.apiClient!;
    const outcome = await operations.tasks.run({ name: `api:${client.name}`, role: client.role, via: 'api' }, 'process', taskId);
    // DESIGN §4: another process holding the task is not an error for the CRM: the work is under way.
    if (outcome.status === 'refused' && outcome.reason === 'busy') return reply.code(202).send({ taskId, status: 'already-running', owner: outcome.facts.owner });
    if (outcome.status === 'started') return reply.code(202).send({ taskId, accepted: true });
    return sendOutcome(reply, taskId, outcome);
  });

  // 人工跟进 (DESIGN §3.12): the same command as `autofollow close-leads`, with the same fields as JSON.
  app.post('/tasks/:id/close-leads', commandRoute('close-leads'), async (request: TaskRequest, reply) => {
    const taskId = taskIdOf(request);
    const client = request.apiClient!;
    const outcome = await operations.leads.close({ name: `api:${client.name}`, role: client.role, via: 'api' }, taskId, request.body ?? {});
    if (outcome.status === 'done') {
      const { cause, closed, skipped } = outcome.facts;
      return reply.code(200).send({ taskId, cause, closed, skipped, closedIds: outcome.data!.closedIds });
    }
    return sendOutcome(reply, taskId, outcome);
  });

  // 开始外呼 / 重新外呼 (issue 10): the same commands as `autofollow launch` and `autofollow recall`.
  for (const command of ['launch', 'recall'] as const) {
    app.post(`/tasks/:id/${command}`, commandRoute(command), async (request: TaskRequest, reply) => {
      const taskId = taskIdOf(request);
      const client = request.apiClient!;
      const outcome = await operations.launches[command]({ name: `api:${client.name}`, role: client.role, via: 'api' }, taskId, request.body ?? {});
      if (outcome.status === 'started') return reply.code(202).send({ taskId, accepted: true, result: outcome.result });
      return sendOutcome(reply, taskId, outcome);
    });
  }

  app.get('/tasks/:id/diagnose', async (request: TaskRequest, reply) => {
    const taskId = taskIdOf(request);
    const diagnosis = await diagnoseTask(reads, taskId);
    if (!diagnosis) return reply.code(404).send({ error: `task ${taskId} does not exist` });
    return diagnosis;
  });
};

/** A refusal as JSON: its reason code, its facts, and a sentence for whoever reads the log. */
function sendOutcome(reply: FastifyReply, taskId: number, outcome: Outcome<unknown>) {
  const status = statusOf(outcome);
  if (status === 503) reply.header('Retry-After', '30');
  if (outcome.status === 'refused') {
    const error = outcome.reason === 'bad-input' ? String(outcome.facts.problem) : (API_SENTENCES[outcome.reason]?.(taskId) ?? outcome.reason);
    return reply.code(status).send({ taskId, status: 'refused', reason: outcome.reason, facts: outcome.facts, error });
  }
  if (outcome.status === 'failed') return reply.code(status).send({ taskId, status: 'failed', error: outcome.facts.error });
  return reply.code(status).send({ taskId, status: outcome.status, result: outcome.result });
}

const API_SENTENCES: Partial<Record<string, (taskId: number) => string>> = {
  'not-found': (id) => `task ${id} does not exist`,
  paused: (id) => `task ${id} is paused; resume it first`,
  'not-eligible': (id) => `task ${id} is at a stage autofollow does not process (only 2 and 3)`,
  'no-job-group': (id) => `task ${id} has no job group to sync yet`,
  'bad-input': () => 'the request is not valid',
  'shutting-down': () => 'autofollow is shutting down; try again in a moment',
  forbidden: () => 'this token may not start processing',
  busy: (id) => `task ${id} is being worked on by another process; try again when it is done`,
  'nothing-to-launch': (id) => `task ${id} has no lead to call`,
  'nothing-to-recall': (id) => `no lead of task ${id} has a call to make again`,
};

/** Bad input is a 400 with a sentence (rendered by build-app's error handler), never a 500. */
function taskIdOf(request: TaskRequest): number {
  const taskId = parseTaskId(request.params.id);
  if (taskId !== null) return taskId;
  const shown = request.params.id.length > 40 ? `${request.params.id.slice(0, 40)}…` : request.params.id;
  throw httpError(400, `task id must be a positive whole number, got "${shown}"`);
}
