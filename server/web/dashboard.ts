// The operators' dashboard (issue 3): one encapsulated plugin, so its login check, CSRF check and
// HTML error pages apply to the pages and their actions, never to /api, /healthz or /metrics.
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { roleAllows } from '../access/roles.ts';
import type { SessionUser } from '../access/sessions.ts';
import type { Config } from '../config.ts';
import { LOCAL_OPERATOR } from '../operations/access-operations.ts';
import type { Actor, Operations, ReadDeps } from '../operations/index.ts';
import type { SchedulerView } from '../operations/index.ts';
import { dashboardRoutes } from './routes/dashboard-routes.ts';
import { loginRoutes } from './routes/login.ts';
import { sessionIdOf } from './plugins/session.ts';
import { buildLocals, type ViewLocals } from './view-locals.ts';

/** What every dashboard route gets: reads, operations, settings. Never PipelineDeps (STYLE §1). */
export interface DashboardOptions {
  reads: ReadDeps;
  operations: Operations;
  config: Readonly<Config>;
  scheduler: SchedulerView;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The logged-in operator's name ("local" when there is no login at all). */
    operator: string | null;
    /** Who is logged in, with the role their account has now; null when nobody is. */
    user: SessionUser | null;
  }
  interface FastifyReply {
    /** Merged into every render by @fastify/view (its types do not declare it). */
    locals: Partial<ViewLocals> | null;
  }
}

/** Paths anyone may open: the login form itself and the language switch. */
const PUBLIC_PATHS = new Set(['/login', '/lang']);

export const dashboard: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  const { config, reads, operations } = options;
  const now = () => reads.clock.now();
  app.decorateRequest('operator', null);
  app.decorateRequest('user', null);

  app.addHook('onRequest', async (request, reply) => {
    const sessionId = sessionIdOf(request);
    const session = sessionId ? await operations.access.session(sessionId) : null;
    const loginEnabled = session !== null || (await operations.access.loginRequired());
    request.user = session ?? (loginEnabled ? null : LOCAL_OPERATOR);
    request.operator = request.user?.name ?? null;
    reply.locals = { ...reply.locals, ...buildLocals(request, reply, { timeZone: config.timeZone, user: request.user, loginEnabled, now }) };
    const role = request.routeOptions.config.role;
    if (role === 'public' || (request.user === null && PUBLIC_PATHS.has(pathOf(request)))) return;
    if (request.user === null) {
      if (request.method === 'GET' && !isHtmx(request)) return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`);
      // htmx follows HX-Redirect to the login page; a script or a stale form gets a plain 401.
      reply.header('HX-Redirect', `/login?next=${encodeURIComponent(refererPath(request))}`);
      return sendError(reply, request, 401, 'error.unauthenticated');
    }
    // The route's declared role (route-roles.ts) is the first gate; the operation checks again.
    if (role !== undefined && !roleAllows(request.user.role, role)) return sendError(reply, request, 403, 'error.forbidden');
  });

  // Every POST carries the token from the page (a hidden field, or the header app.js adds for htmx).
  app.addHook('preHandler', (request, reply, done) => {
    if (request.method !== 'POST') return done();
    app.csrfProtection(request, reply, done);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.code === 'FST_CSRF_INVALID_TOKEN' || error.code === 'FST_CSRF_MISSING_SECRET') return sendError(reply, request, 403, 'error.csrf');
    const status = error.statusCode ?? 500;
    if (status === 429) return sendError(reply, request, 429, 'login.tooMany'); // only the login is rate limited
    if (status >= 400 && status < 500) return sendError(reply, request, status, null, error.message);
    // The path only: a query string may hold a phone number searched for (?q=139…).
    request.log.error({ err: error, path: pathOf(request), method: request.method }, `dashboard request failed: ${error.message}`);
    return sendError(reply, request, 500, 'error.internal');
  });

  await app.register(loginRoutes, { access: operations.access });
  await app.register(dashboardRoutes, options);
};

/**
 * A 4xx/5xx as a page, or as a fragment for htmx (which swaps error responses in htmx 4), with a
 * sentence that says what was wrong. Nothing was changed by the request.
 */
export function sendError(reply: FastifyReply, request: FastifyRequest, status: number, key: string | null, message?: string) {
  const locals = reply.locals ?? {};
  const text = key && locals.t ? locals.t(key, { path: pathOf(request) }) : (message ?? key ?? 'error');
  reply.code(status).header('Cache-Control', 'no-store');
  // htmx swaps error answers too (htmx 4): into the page's message bar, not into the card or the
  // table row that asked, which would otherwise be replaced by the error and stop refreshing.
  if (isHtmx(request)) reply.header('HX-Retarget', '#flash').header('HX-Reswap', 'innerHTML');
  if (!locals.t) return reply.type('text/plain; charset=utf-8').send(text);
  return reply.view(isHtmx(request) ? 'partials/error' : 'pages/error', { status, message: text, title: locals.t('error.title') });
}

/** The logged-in user as an operation's actor. */
export function actorOf(request: FastifyRequest): Actor {
  const user = request.user ?? { name: 'unknown', role: 'viewer' as const };
  return { name: user.name, role: user.role, via: 'dashboard' };
}

export function isHtmx(request: FastifyRequest): boolean {
  return request.headers['hx-request'] === 'true';
}

function pathOf(request: FastifyRequest): string {
  return request.url.split('?')[0] ?? '/';
}

function refererPath(request: FastifyRequest): string {
  const referer = request.headers.referer;
  if (!referer) return '/';
  try {
    const url = new URL(referer);
    return url.pathname + url.search;
  } catch {
    return '/';
  }
}
