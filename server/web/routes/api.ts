// /api/*: what the CRM and operators' scripts call (DESIGN §4). Commands go through the operations
// (the same rules as the dashboard's buttons); this file only maps their outcome to HTTP.
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Operations, Outcome, ReadDeps } from '../../operations/index.ts';
import { diagnoseTask } from '../../pipeline/diagnose.ts';
import { diagnosisJson } from '../i18n/render-reason.ts';
import { httpError } from '../http-errors.ts';
import { requireBearerToken } from '../plugins/bearer-token.ts';
import { commandRoute } from '../route-roles.ts';
import {
  apiError, apiErrorSchema, badTaskIdResponse, closeLeadsBody, closeLeadsDone, diagnosis, guardResponses, launchAccepted, launchBody, processAccepted, taskIdParams,
} from './api-schemas.ts';
import { statusOf } from './outcome-status.ts';

export interface ApiOptions {
  reads: ReadDeps;
  operations: Operations;
}

type TaskRequest = FastifyRequest<{ Params: { id: string } }>;

export const apiRoutes: FastifyPluginAsync<ApiOptions> = async (app, { reads, operations }) => {
  requireBearerToken(app, operations.access);
  app.addSchema(apiErrorSchema);
  // The schema checks the task id; its answer is today's sentence, not Ajv's "params/id must match pattern".
  app.setErrorHandler((error: FastifyError, request: TaskRequest) => {
    if (error.validationContext === 'params') throw badTaskId(request.params.id);
    throw error; // build-app's handler answers it
  });

  // The spec's process_task_after_creation: the CRM calls this after assigning a task's jobs.
  app.post('/tasks/:id/process', {
    ...commandRoute('process'),
    schema: {
      tags: ['tasks'],
      operationId: 'processTask',
      summary: 'Start processing a task now',
      description:
        'The spec’s process_task_after_creation: call it after assigning the task’s jobs in Outbound Bot. Processing runs in the ' +
        'background; no body. Needs a token with the operator role.',
      params: taskIdParams,
      response: {
        202: processAccepted,
        ...badTaskIdResponse,
        ...guardResponses,
        404: apiError('No such task (`reason: "not-found"`).'),
        409: apiError('Refused: the task is `paused`, at a stage autofollow does not process (`not-eligible`, only 2 and 3), or has `no-job-group`.'),
        503: apiError('Shutting down (`reason: "shutting-down"`, `Retry-After: 30`): try again, or the other copy.'),
      },
    },
  }, async (request: TaskRequest, reply) => {
    const taskId = taskIdOf(request);
    const client = request.apiClient!;
    const outcome = await operations.tasks.run({ name: `api:${client.name}`, role: client.role, via: 'api' }, 'process', taskId);
    // DESIGN §4: another process holding the task is not an error for the CRM: the work is under way.
    if (outcome.status === 'refused' && outcome.reason === 'busy') return reply.code(202).send({ taskId, status: 'already-running', owner: outcome.facts.owner });
    if (outcome.status === 'started') return reply.code(202).send({ taskId, accepted: true });
    return sendOutcome(reply, taskId, outcome);
  });

  // 人工跟进 (DESIGN §3.12): the same command as `autofollow close-leads`, with the same fields as JSON.
  app.post('/tasks/:id/close-leads', {
    config: {
      ...commandRoute('close-leads').config,
      // Documented, not validated by Fastify: close-leads-input.ts checks the body with sentences
      // that name the field, the same for /api, the CLI and the dashboard, and the refusal is audited.
      swaggerTransform: ({ schema, url }) => ({ schema: { ...schema, body: closeLeadsBody }, url }),
    },
    schema: {
      tags: ['tasks'],
      operationId: 'closeLeads',
      summary: 'Close stuck leads with a person’s decision (人工跟进)',
      description:
        'Writes one follow record per lead of the cause (or per named lead) with the remark and interest, exactly once, and ' +
        'audits it under the token’s name. Needs a token with the operator role. Nothing is written on bad input.',
      params: taskIdParams,
      response: {
        200: closeLeadsDone,
        400: apiError('A bad task id (`{ error }`), or a bad body: `reason: "bad-input"` with `error` naming the field.'),
        ...guardResponses,
        404: apiError('No such task (`reason: "not-found"`).'),
        409: apiError('Refused by the operation, e.g. the task is being processed (`busy`).'),
        503: apiError('Shutting down (`reason: "shutting-down"`).'),
      },
    },
  }, async (request: TaskRequest, reply) => {
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
    app.post(`/tasks/:id/${command}`, {
      config: {
        ...commandRoute(command).config,
        // Documented, not validated by Fastify: launch-input.ts checks the body with sentences that
        // name the field, the same for /api, the CLI and the dashboard, and the refusal is audited.
        swaggerTransform: ({ schema, url }) => ({ schema: { ...schema, body: launchBody(command) }, url }),
      },
      schema: {
        tags: ['tasks'],
        operationId: `${command}Task`,
        summary: command === 'launch' ? 'Assign a stage-1 task’s calls to Outbound Bot (开始外呼)' : 'New calls for leads whose call was cancelled, never made or failed (重新外呼)',
        description:
          (command === 'launch'
            ? 'Creates the task’s one job group (or uses the one it names), assigns one job per lead (never twice), moves it 1 → 2 and processes it. '
            : 'Assigns new jobs into the task’s job group (or a new one once Outbound Bot ended it); a task at stage 3 or 4 goes back to 2. ') +
          'Runs in the background; progress is in `af_launches` and the task page. Needs a token with the operator role.',
        params: taskIdParams,
        response: {
          202: launchAccepted,
          400: apiError('A bad task id (`{ error }`), or a bad body: `reason: "bad-input"` with `error` naming the field.'),
          ...guardResponses,
          404: apiError('No such task (`reason: "not-found"`).'),
          409: apiError(command === 'launch' ? 'Refused: `not-eligible` (the task is past stage 1), `paused` or `busy`.' : 'Refused: `not-eligible` (the task is at stage 1, or has no job group), `paused` or `busy`.'),
          503: apiError('Shutting down (`reason: "shutting-down"`).'),
        },
      },
    }, async (request: TaskRequest, reply) => {
      const taskId = taskIdOf(request);
      const client = request.apiClient!;
      const outcome = await operations.launches[command]({ name: `api:${client.name}`, role: client.role, via: 'api' }, taskId, request.body ?? {});
      if (outcome.status === 'started') return reply.code(202).send({ taskId, accepted: true, result: outcome.result });
      return sendOutcome(reply, taskId, outcome, command);
    });
  }

  app.get('/tasks/:id/diagnose', {
    schema: {
      tags: ['tasks'],
      operationId: 'diagnoseTask',
      summary: 'Why a task is or is not progressing',
      description: 'Eligibility, reasons, counts, every stuck lead, lease and last runs: the JSON of `autofollow diagnose <id> --json`. Any token.',
      params: taskIdParams,
      response: {
        200: diagnosis,
        ...badTaskIdResponse,
        ...guardResponses,
        404: apiError('No such task.'),
      },
    },
  }, async (request: TaskRequest, reply) => {
    const taskId = taskIdOf(request);
    const diagnosis = await diagnoseTask(reads, taskId);
    if (!diagnosis) return reply.code(404).send({ error: `task ${taskId} does not exist` });
    return diagnosisJson(diagnosis);
  });

  app.get('/openapi.json', {
    schema: {
      tags: ['meta'],
      operationId: 'openApiDocument',
      summary: 'This OpenAPI 3 document',
      description: 'Generated from the routes’ own schemas; import it into Apifox or Postman. Any token.',
      response: {
        200: { type: 'object', description: 'An OpenAPI 3.0 document.', additionalProperties: true },
        ...guardResponses,
      },
    },
  }, async () => app.swagger());
};

/** A refusal as JSON: its reason code, its facts, and a sentence for whoever reads the log. */
function sendOutcome(reply: FastifyReply, taskId: number, outcome: Outcome<unknown>, command: ApiCommand = 'process') {
  const status = statusOf(outcome);
  if (status === 503) reply.header('Retry-After', '30');
  if (outcome.status === 'refused') {
    const error = outcome.reason === 'bad-input' ? String(outcome.facts.problem) : (API_SENTENCES[outcome.reason]?.(taskId, command) ?? outcome.reason);
    return reply.code(status).send({ taskId, status: 'refused', reason: outcome.reason, facts: outcome.facts, error });
  }
  if (outcome.status === 'failed') return reply.code(status).send({ taskId, status: 'failed', error: outcome.facts.error });
  return reply.code(status).send({ taskId, status: outcome.status, result: outcome.result });
}

type ApiCommand = 'process' | 'launch' | 'recall';

/** The stages each command takes, for its not-eligible sentence. */
const ELIGIBLE_STAGES: Record<ApiCommand, string> = {
  process: 'only 2 and 3 are processed',
  launch: 'only a stage-1 task is launched',
  recall: 'only a task at stage 2, 3 or 4 with a job group is re-called',
};

const API_SENTENCES: Partial<Record<string, (taskId: number, command: ApiCommand) => string>> = {
  'not-found': (id) => `task ${id} does not exist`,
  paused: (id) => `task ${id} is paused; resume it first`,
  'not-eligible': (id, command) => `task ${id} is at a stage this command does not take (${ELIGIBLE_STAGES[command]})`,
  'no-job-group': (id) => `task ${id} has no job group to sync yet`,
  'bad-input': () => 'the request is not valid',
  'shutting-down': () => 'autofollow is shutting down; try again in a moment',
  forbidden: () => 'this token may not start processing',
  busy: (id) => `task ${id} is being worked on by another process; try again when it is done`,
  'nothing-to-launch': (id) => `task ${id} has no lead to call`,
  'nothing-to-recall': (id) => `no lead of task ${id} has a call to make again`,
};

/** The route schema has checked the id (taskIdParams). */
function taskIdOf(request: TaskRequest): number {
  return Number(request.params.id);
}

/** Bad input is a 400 with a sentence (rendered by build-app's error handler), never a 500. */
function badTaskId(raw: string): Error {
  const shown = raw.length > 40 ? `${raw.slice(0, 40)}…` : raw;
  return httpError(400, `task id must be a positive whole number, got "${shown}"`);
}
