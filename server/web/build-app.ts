// The HTTP side: plugins and routes registered explicitly and in order (STYLE §1). Returns an app
// that is not listening yet, so tests use app.inject and `serve` decides where to listen.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import fastifyView from '@fastify/view';
import { Eta } from 'eta';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { PipelineDeps } from '../pipeline/deps.ts';
import { createScheduler, type Scheduler } from '../scheduler.ts';
import { dashboard } from './dashboard.ts';
import { cookieSecret } from './plugins/session.ts';
import { apiRoutes, type StartTaskProcessing } from './routes/api.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { translator } from './i18n/index.ts';
import { langOf } from './view-locals.ts';

export type { StartTaskProcessing } from './routes/api.ts';

export interface AppDeps {
  pipeline: PipelineDeps;
  config: Readonly<Config>;
  log: Logger;
  /**
   * The process's scheduler: dashboard actions start work through it (so shutdown waits for that
   * work) and its panel reads it. Without one, buildApp makes an unstarted one and stops it on close.
   */
  scheduler?: Scheduler;
  /**
   * Starts processing a task in the background for POST /api/tasks/:id/process; false refuses
   * (shutting down). Defaults to the scheduler's processInBackground.
   */
  startTaskProcessing?: StartTaskProcessing;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const HTMX_DIST = path.join(path.dirname(createRequire(import.meta.url).resolve('htmx.org/package.json')), 'dist');

/** Conservative: everything from our own origin, no framing, no inline script (DESIGN §4 dashboard). */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger is what Fastify expects; its types differ only in generic parameters.
    loggerInstance: deps.log as FastifyBaseLogger,
    // A TLS-terminating proxy on this machine (nginx, caddy) is believed about the client's address and
    // scheme, so the session cookie is Secure behind it and login throttling counts real clients.
    trustProxy: ['127.0.0.1', '::1'],
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
  app.setNotFoundHandler(notFound);

  const { config, pipeline, log } = deps;
  const scheduler = deps.scheduler ?? createScheduler({ deps: pipeline, cron: config.monitorCron, timeZone: config.timeZone, log });
  if (!deps.scheduler) app.addHook('onClose', () => scheduler.stop());

  await app.register(fastifyCookie, { secret: cookieSecret(config.dashboardPassword) });
  // The CSRF secret lives in its own signed cookie; each page carries a token derived from it.
  await app.register(fastifyCsrf, { cookieKey: 'af_csrf', cookieOpts: { path: '/', httpOnly: true, sameSite: 'strict', secure: 'auto', signed: true } });
  await app.register(fastifyFormbody);
  await app.register(fastifyRateLimit, { global: false });
  await app.register(fastifyView, {
    engine: { eta: new Eta() },
    root: path.join(ROOT, 'views'),
    // Compile each template once: re-reading ~250 includes per overview render cost 1.7 s.
    production: true,
  });
  await app.register(fastifyStatic, { root: path.join(ROOT, 'public'), prefix: '/static/', maxAge: '1h' });
  await app.register(fastifyStatic, { root: HTMX_DIST, prefix: '/static/htmx/', decorateReply: false, maxAge: '1d' });

  await app.register(healthRoutes, { db: pipeline.db, shuttingDown: () => scheduler.stopping() });
  await app.register(metricsRoutes, { db: pipeline.db, config });
  await app.register(apiRoutes, {
    prefix: '/api',
    pipeline,
    apiToken: config.apiToken,
    startTaskProcessing: deps.startTaskProcessing ?? ((taskId) => scheduler.processInBackground(taskId, 'api')),
  });
  await app.register(dashboard, { pipeline, config, scheduler });
  return app;
}

/** JSON for the API and for scripts; a page in the operator's language for a browser. */
function notFound(request: FastifyRequest, reply: FastifyReply) {
  const path = request.url.split('?')[0] ?? '/';
  const wantsJson = path.startsWith('/api/') || !(request.headers.accept ?? '').includes('text/html');
  if (wantsJson && request.headers['hx-request'] !== 'true') return reply.code(404).send({ error: `not found: ${request.method} ${path}` });
  const t = translator(langOf(request));
  reply.code(404);
  if (request.headers['hx-request'] === 'true') {
    // Into the message bar, like the dashboard's other error answers (dashboard.ts sendError).
    reply.header('HX-Retarget', '#flash').header('HX-Reswap', 'innerHTML');
    return reply.view('partials/error', { status: 404, message: t('error.notFound', { path }) });
  }
  return reply.view('pages/error', {
    status: 404, title: t('error.title'), message: t('error.notFound', { path }), t, lang: langOf(request), csrfToken: '', here: '/',
    operator: null, loginEnabled: false, withQuery: (p: string) => p, nav: null,
  });
}
