// The HTTP side: plugins and routes registered explicitly and in order (STYLE §1). Returns an app
// that is not listening yet, so tests use app.inject and `serve` decides where to listen.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyStatic from '@fastify/static';
import fastifyView from '@fastify/view';
import { Eta } from 'eta';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { COOKIE_SECRET, loadOrCreateSecret } from '../access/secrets.ts';
import { createOperations, readDepsOf } from '../operations/index.ts';
import type { PipelineDeps } from '../pipeline/deps.ts';
import { createScheduler, type Scheduler } from '../scheduler/scheduler.ts';
import { dashboard } from './dashboard.ts';
import { declareRouteRoles } from './route-roles.ts';
import { apiRoutes } from './routes/api.ts';
import { healthRoutes, PROBE_URLS } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { translator } from './i18n/index.ts';
import { registerOpenApi } from './openapi.ts';
import { langOf } from './view-locals.ts';

/** Starts processing in the background (not awaited); false means the process is shutting down. */
export type StartTaskProcessing = (taskId: number) => boolean;

/**
 * buildApp is the web side's composition root: it turns PipelineDeps into the operations and the
 * read-only deps, and no plugin or route below it is given PipelineDeps (STYLE §1).
 */
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
   * Replaces the scheduler's processInBackground for "process" (tests watch what was started
   * without running it); false refuses (shutting down).
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
  await registerOpenApi(app);

  const { config, pipeline, log } = deps;
  const scheduler = deps.scheduler ?? createScheduler({ deps: pipeline, cron: config.monitorCron, timeZone: config.timeZone, log });
  if (!deps.scheduler) app.addHook('onClose', () => scheduler.stop());
  const start = deps.startTaskProcessing;
  const operations = createOperations({ pipeline, scheduler: start ? { ...scheduler, processInBackground: (taskId) => start(taskId) } : scheduler });
  const reads = readDepsOf(pipeline);
  declareRouteRoles(app);

  // Random, generated once and shared by every copy through the database; never derived from a
  // password, so a cookie cannot be used to test guesses of DASHBOARD_PASSWORD offline. Read on
  // the first request that can use it, so the app starts without a database: /livez answers 200 and
  // /readyz 503, rather than a 500 from reading the key.
  let signer: InstanceType<typeof fastifyCookie.Signer> | null = null;
  const cookieSigner = {
    sign: (value: string) => signerOrThrow().sign(value),
    unsign: (value: string) => signerOrThrow().unsign(value),
  };
  const signerOrThrow = () => {
    if (signer === null) throw new Error('the cookie key has not been read from the database yet');
    return signer;
  };
  app.addHook('onRequest', async (request) => {
    if (signer !== null || PROBE_URLS.includes(request.routeOptions.url ?? '')) return;
    signer = new fastifyCookie.Signer(await loadOrCreateSecret(pipeline.db, COOKIE_SECRET));
  });
  await app.register(fastifyCookie, { secret: cookieSigner });
  // The CSRF secret lives in its own signed cookie; each page carries a token derived from it.
  await app.register(fastifyCsrf, { cookieKey: 'af_csrf', cookieOpts: { path: '/', httpOnly: true, sameSite: 'strict', secure: 'auto', signed: true } });
  await app.register(fastifyFormbody);
  await app.register(fastifyView, {
    engine: { eta: new Eta() },
    root: path.join(ROOT, 'views'),
    // Compile each template once: re-reading ~250 includes per overview render cost 1.7 s.
    production: true,
  });
  await app.register(fastifyStatic, { root: path.join(ROOT, 'public'), prefix: '/static/', maxAge: '1h' });
  await app.register(fastifyStatic, { root: HTMX_DIST, prefix: '/static/htmx/', decorateReply: false, maxAge: '1d' });

  await app.register(healthRoutes, { db: pipeline.db, shuttingDown: () => scheduler.stopping() });
  await app.register(metricsRoutes, { db: pipeline.db, config, access: operations.access });
  await app.register(apiRoutes, { prefix: '/api', reads, operations });
  await app.register(dashboard, { reads, operations, config, scheduler: { lastPass: () => scheduler.lastPass(), nextRun: () => scheduler.nextRun() } });
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
    operator: null, role: null, can: () => false, loginEnabled: false, withQuery: (p: string) => p, nav: null,
  });
}
