// The session cookie: a random session id (af_sessions keeps its hash, access/sessions.ts), signed
// with the random key stored in af_settings. Nothing in it names or derives from a password.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SESSION_HOURS } from '../../access/sessions.ts';

export const SESSION_COOKIE = 'af_session';

export function setSessionCookie(reply: FastifyReply, sessionId: string): void {
  reply.setCookie(SESSION_COOKIE, sessionId, { ...sessionCookieOptions, maxAge: SESSION_HOURS * 3600 });
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, sessionCookieOptions);
}

/** The session id the cookie carries, when its signature holds. */
export function sessionIdOf(request: FastifyRequest): string | null {
  const raw = request.cookies[SESSION_COOKIE];
  if (!raw) return null;
  const unsigned = request.unsignCookie(raw);
  return unsigned.valid && unsigned.value ? unsigned.value : null;
}

const THIS_SITE = 'http://autofollow.invalid';

/**
 * Where to go after login: only a path on this site, never "//evil.example". Judged as a browser
 * reads it (tabs and newlines dropped, "\\" as "/", so "/\t/evil.example" is "//evil.example"), and
 * sent back re-encoded: a raw control or non-ASCII character in Location would make Node throw (a 500).
 */
export function safeNext(raw: unknown): string {
  if (typeof raw !== 'string' || !raw.startsWith('/')) return '/';
  try {
    const url = new URL(raw, THIS_SITE);
    return url.origin === THIS_SITE ? url.pathname + url.search + url.hash : '/';
  } catch {
    return '/';
  }
}

// httpOnly: no script reads it; sameSite strict: no other site can make the browser send it;
// secure 'auto': Secure whenever the request came over HTTPS (set trustProxy behind a TLS proxy).
const sessionCookieOptions = { path: '/', httpOnly: true, sameSite: 'strict', secure: 'auto', signed: true } as const;
