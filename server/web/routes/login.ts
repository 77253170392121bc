// GET/POST /login, POST /logout, GET /lang: how an operator gets in, out, and into their language.
import type { FastifyPluginAsync } from 'fastify';
import { writeAudit } from '../../audit-log.ts';
import type { Db } from '../../db/client.ts';
import { httpError } from '../http-errors.ts';
import { LANG_COOKIE, parseLang } from '../i18n/index.ts';
import { endSession, parseOperatorName, passwordMatches, safeNext, startSession } from '../plugins/session.ts';

export interface LoginOptions {
  /** DASHBOARD_PASSWORD; without it there is no login (loopback only, DESIGN §4). */
  password: string | undefined;
  db: Db;
  now: () => number;
}

/** Guessing the password is slow: at most this many login attempts per minute from one address. */
export const LOGIN_ATTEMPTS_PER_MINUTE = 10;

type LoginBody = { name?: unknown; password?: unknown; next?: unknown };

export const loginRoutes: FastifyPluginAsync<LoginOptions> = async (app, { password, db, now }) => {
  app.get('/login', async (request, reply) => {
    const next = safeNext((request.query as { next?: unknown }).next);
    if (password === undefined || request.operator !== null) return reply.redirect(next);
    return reply.view('pages/login', { next, name: '', failure: null });
  });

  app.post(
    '/login',
    {
      config: {
        rateLimit: {
          max: LOGIN_ATTEMPTS_PER_MINUTE,
          timeWindow: 60_000,
          errorResponseBuilder: () => ({ statusCode: 429, message: 'too many login attempts' }),
        },
      },
    },
    async (request, reply) => {
      const body = (request.body ?? {}) as LoginBody;
      const next = safeNext(body.next);
      if (password === undefined) return reply.redirect(next, 303);
      const name = parseOperatorName(body.name);
      const given = typeof body.password === 'string' ? body.password : '';
      const shownName = typeof body.name === 'string' ? body.name.slice(0, 64) : '';
      if (name === null) return reply.code(400).view('pages/login', { next, name: shownName, failure: 'login.badName' });
      if (!passwordMatches(given, password)) {
        await writeAudit(db, { actor: name, action: 'login', taskId: null, leadRowId: null, outcome: 'refused', detail: `wrong password from ${request.ip}` });
        return reply.code(401).view('pages/login', { next, name: shownName, failure: 'login.wrong' });
      }
      startSession(reply, name, now());
      await writeAudit(db, { actor: name, action: 'login', taskId: null, leadRowId: null, outcome: 'ok', detail: `from ${request.ip}` });
      return reply.redirect(next, 303);
    },
  );

  app.post('/logout', async (_request, reply) => {
    endSession(reply);
    return reply.redirect(password === undefined ? '/' : '/login', 303);
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
