// Operators' login (DASHBOARD_PASSWORD): a signed session cookie naming the operator, so the audit
// log can say who did what. The cookie is stateless (signed with a key derived from the password),
// so every running copy accepts it and changing the password logs everyone out.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'af_session';
export const SESSION_HOURS = 12;
/** Without DASHBOARD_PASSWORD (loopback only, DESIGN §4) everyone is this operator. */
export const LOCAL_OPERATOR = 'local';

export interface Operator {
  name: string;
}

/** Signing key for cookies: derived from the password, or random per process when there is none. */
export function cookieSecret(password: string | undefined): string {
  if (password === undefined) return randomBytes(32).toString('hex');
  return createHash('sha256').update(`autofollow-cookie\0${password}`, 'utf8').digest('hex');
}

export function passwordMatches(presented: string, password: string): boolean {
  // Digests have one length, so neither length nor content leaks through timing.
  return timingSafeEqual(digest(presented), digest(password));
}

export function startSession(reply: FastifyReply, name: string, nowMs: number): void {
  const value = Buffer.from(JSON.stringify({ n: name, e: nowMs + SESSION_HOURS * 3_600_000 }), 'utf8').toString('base64url');
  reply.setCookie(SESSION_COOKIE, value, { ...sessionCookieOptions, maxAge: SESSION_HOURS * 3600 });
}

export function endSession(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, sessionCookieOptions);
}

export function readSession(request: FastifyRequest, nowMs: number): Operator | null {
  const raw = request.cookies[SESSION_COOKIE];
  if (!raw) return null;
  const unsigned = request.unsignCookie(raw);
  if (!unsigned.valid || unsigned.value === null) return null;
  try {
    const parsed = JSON.parse(Buffer.from(unsigned.value, 'base64url').toString('utf8')) as { n?: unknown; e?: unknown };
    if (typeof parsed.n !== 'string' || typeof parsed.e !== 'number' || parsed.e <= nowMs) return null;
    return { name: parsed.n };
  } catch {
    return null;
  }
}

/** An operator's name as typed at login: trimmed, 1..64 characters, no control characters. */
export function parseOperatorName(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const name = raw.trim();
  if (name.length === 0 || name.length > 64 || /[\u0000-\u001f\u007f]/.test(name)) return null;
  return name;
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

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
