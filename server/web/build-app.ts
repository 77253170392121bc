// The HTTP side: plugins and routes registered explicitly and in order (STYLE §1). Returns an app
// that is not listening yet, so tests use app.inject and `serve` decides where to listen.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { PipelineDeps } from '../pipeline/deps.ts';
import { processTask } from '../pipeline/process-task.ts';
import { apiRoutes, type StartTaskProcessing } from './routes/api.ts';
import { healthRoutes } from './routes/health.ts';

export type { StartTaskProcessing } from './routes/api.ts';

export interface AppDeps {
  pipeline: PipelineDeps;
  config: Readonly<Config>;
  log: Logger;
  /**
   * Starts processing a task in the background for POST /api/tasks/:id/process; false refuses
   * (shutting down). `serve` passes one that it can wait for at shutdown; the default only logs.
   */
  startTaskProcessing?: StartTaskProcessing;
}

/** Conservative: everything from our own origin, no framing, no inline script (DESIGN §4 dashboard). */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger is what Fastify expects; its types differ only in generic parameters.
    loggerInstance: deps.log as FastifyBaseLogger,
    // Health checks every few seconds would drown the pass summaries; errors are still logged below.
    logController: new LogController({ disableRequestLogging: true }),
  });

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    return payload;
  });

  // POST /api/tasks/:id/process carries no body; a caller that still says application/json with
  // an empty body should get a 202, not Fastify's "body cannot be empty" 400.
  const defaultJsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string; // parseAs: 'string'
    if (text.trim() === '') return done(null, undefined);
    return defaultJsonParser(request, text, done);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send({ error: error.message });
    request.log.error({ err: error, url: request.url, method: request.method }, `request failed: ${error.message}`);
    return reply.code(500).send({ error: 'internal error; see the server log' });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `not found: ${request.method} ${request.url.split('?')[0]}` }));

  await app.register(healthRoutes, { db: deps.pipeline.db });
  await app.register(apiRoutes, {
    prefix: '/api',
    pipeline: deps.pipeline,
    apiToken: deps.config.apiToken,
    startTaskProcessing: deps.startTaskProcessing ?? startInBackground(deps.pipeline, deps.log),
  });
  // Dashboard pages (views/, public/, routes/dashboard.ts) register here, after the API.
  return app;
}

function startInBackground(pipeline: PipelineDeps, log: Logger): StartTaskProcessing {
  return (taskId) => {
    processTask(pipeline, taskId, { trigger: 'api' }).catch((error: unknown) =>
      log.error({ taskId, err: error }, `processing task ${taskId} (requested over the API) failed: ${(error as Error)?.message}`),
    );
    return true;
  };
}
