// GET/POST /login, POST /logout, GET /lang: how an operator gets in, out, and into their language.
// Who may log in, throttling and the audit row are the access operations' (operations/access-operations.ts).
import type { FastifyPluginAsync } from 'fastify';
import type { AccessOperations } from '../../operations/access-operations.ts';
import { httpError } from '../http-errors.ts';
import { LANG_COOKIE, parseLang } from '../i18n/index.ts';
import { clearSessionCookie, safeNext, sessionIdOf, setSessionCookie } from '../plugins/session.ts';

export interface LoginOptions {
  access: AccessOperations;
}

type LoginBody = { name?: unknown; password?: unknown; next?: unknown };

const FAILURES = {
  'wrong-credentials': { status: 401, key: 'login.wrong' },
  'bootstrap-closed': { status: 401, key: 'login.bootstrapClosed' },
  throttled: { status: 429, key: 'login.tooMany' },
  'bad-input': { status: 400, key: 'login.badName' },
} as const;

export const loginRoutes: FastifyPluginAsync<LoginOptions> = async (app, { access }) => {
  app.get('/login', async (request, reply) => {
    const next = safeNext((request.query as { next?: unknown }).next);
    if (request.user !== null || !(await access.loginRequired())) return reply.redirect(next);
    return reply.view('pages/login', { next, name: '', failure: null });
  });

  app.post('/login', { config: { role: 'public' } }, async (request, reply) => {
    const body = (request.body ?? {}) as LoginBody;
    const next = safeNext(body.next);
    if (!(await access.loginRequired())) return reply.redirect(next, 303);
    const password = typeof body.password === 'string' ? body.password : '';
    const shownName = typeof body.name === 'string' ? body.name.slice(0, 64) : '';
    const outcome = await access.login(body.name, password, { address: request.ip, userAgent: request.headers['user-agent'] ?? '' });
    if (outcome.status === 'done' && outcome.data) {
      setSessionCookie(reply, outcome.data.sessionId);
      return reply.redirect(next, 303);
    }
    const failure = outcome.status === 'refused' && outcome.reason in FAILURES ? FAILURES[outcome.reason as keyof typeof FAILURES] : FAILURES['wrong-credentials'];
    return reply.code(failure.status).view('pages/login', { next, name: shownName, failure: failure.key });
  });

  // Public: logging out needs no role, only the CSRF token (a forged logout is still refused).
  app.post('/logout', { config: { role: 'public' } }, async (request, reply) => {
    const sessionId = sessionIdOf(request);
    if (sessionId) await access.logout(sessionId);
    clearSessionCookie(reply);
    return reply.redirect((await access.loginRequired()) ? '/login' : '/', 303);
  });

  // A GET that only sets a display preference: safe without CSRF, and a link works without htmx.
  app.get('/lang', async (request, reply) => {
    const query = request.query as { to?: unknown; back?: unknown };
    const lang = parseLang(query.to);
    if (lang === null) throw httpError(400, 'language must be "zh" or "en"');
    reply.setCookie(LANG_COOKIE, lang, { path: '/', sameSite: 'lax', httpOnly: true, secure: 'auto', maxAge: 365 * 86_400 });
    return reply.redirect(safeNext(query.back), 303);
  });
};
