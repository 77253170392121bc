// The dashboard's door: login with DASHBOARD_PASSWORD, the session cookie, CSRF on every POST,
// the language switch, security headers, and 4xx pages for bad input.
import { createHash, createHmac } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { COOKIE_SECRET } from '../../server/access/secrets.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditLog, settings } from '../../server/db/schema/app.ts';
import { MAX_FAILURES_PER_NAME as LOGIN_ATTEMPTS_PER_MINUTE } from '../../server/access/login-throttle.ts';
import { SESSION_COOKIE } from '../../server/web/plugins/session.ts';
import { useTestDatabase } from '../helpers/database.ts';
import { dashboardSession, loggedIn } from '../helpers/dashboard-session.ts';
import { appOver } from '../helpers/web-app.ts';

const PASSWORD = 'correct horse battery staple';
const db = useTestDatabase();
let app: FastifyInstance;

beforeEach(async () => {
  app = await appOver(db, { env: { DASHBOARD_PASSWORD: PASSWORD } });
});
afterEach(async () => {
  await app?.close();
});

const audits = () => db.db.select().from(auditLog);

describe('with DASHBOARD_PASSWORD', () => {
  it('sends a page request without a session to the login form and back afterwards', async () => {
    const browser = dashboardSession(app);
    const page = await browser.get('/tasks/7?state=calling');
    expect(page.statusCode).toBe(302);
    expect(page.headers.location).toBe('/login?next=%2Ftasks%2F7%3Fstate%3Dcalling');

    const form = await browser.get('/login?next=%2Ftasks%2F7');
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain('name="password"');
    const login = await browser.post('/login', { name: '王芳', password: PASSWORD, next: '/tasks/7' });
    expect(login.statusCode).toBe(303);
    expect(login.headers.location).toBe('/tasks/7');
    const rows = await audits();
    expect(rows).toMatchObject([{ actor: '王芳', action: 'login', outcome: 'ok' }]);
  });

  it('sets a session cookie that scripts cannot read and other sites cannot send', async () => {
    const browser = dashboardSession(app);
    await browser.refreshToken('/login');
    const login = await browser.post('/login', { name: 'ops', password: PASSWORD });
    const cookie = login.cookies.find((c) => c.name === SESSION_COOKIE)!;
    expect(cookie).toBeDefined();
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe('Strict');
    expect(cookie.path).toBe('/');
    expect(cookie.maxAge).toBeGreaterThan(0);
    expect(cookie.secure).toBeFalsy(); // plain http on loopback: a Secure cookie would never come back
    // Over HTTPS (as a TLS proxy reports it with trustProxy) the cookie is Secure as well.
    const secureApp = await appOver(db, { env: { DASHBOARD_PASSWORD: PASSWORD } });
    try {
      const overTls = dashboardSession(secureApp);
      await overTls.refreshToken('/login');
      const response = await secureApp.inject({
        method: 'POST', url: '/login', remoteAddress: '127.0.0.1',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: [...overTls.cookies].map(([k, v]) => `${k}=${v}`).join('; '), 'x-csrf-token': overTls.token!, 'x-forwarded-proto': 'https' },
        payload: new URLSearchParams({ name: 'ops', password: PASSWORD }).toString(),
      });
      expect(response.statusCode).toBe(303);
      expect(response.cookies.find((c) => c.name === SESSION_COOKIE)?.secure).toBe(true);
    } finally {
      await secureApp.close();
    }
  });

  it('refuses a wrong password, says so, and records the attempt without the password', async () => {
    const browser = dashboardSession(app);
    await browser.refreshToken('/login');
    const login = await browser.post('/login', { name: 'mallory', password: 'guess' });
    expect(login.statusCode).toBe(401);
    expect(login.body).toContain('密码不正确');
    expect(login.cookies.find((c) => c.name === SESSION_COOKIE)).toBeUndefined();
    expect((await browser.get('/tasks/1')).statusCode).toBe(302);
    const rows = await audits();
    expect(rows).toMatchObject([{ actor: 'mallory', action: 'login', outcome: 'refused' }]);
    expect(JSON.stringify(rows)).not.toContain('guess');
  });

  it('asks for a name and keeps what was typed', async () => {
    const browser = dashboardSession(app);
    await browser.refreshToken('/login');
    const login = await browser.post('/login', { name: '   ', password: PASSWORD });
    expect(login.statusCode).toBe(400);
    expect(login.body).toContain('请填写姓名');
    expect(await audits()).toHaveLength(0);
  });

  it('refuses a login POST without the CSRF token and changes nothing', async () => {
    const browser = dashboardSession(app);
    await browser.refreshToken('/login');
    const login = await browser.post('/login', { name: 'ops', password: PASSWORD }, { csrf: false });
    expect(login.statusCode).toBe(403);
    expect(login.body).toContain('CSRF');
    expect(login.cookies.find((c) => c.name === SESSION_COOKIE)).toBeUndefined();
    expect(await audits()).toHaveLength(0);
  });

  it('rejects a token from another browser (bound to that browser’s secret cookie)', async () => {
    const alice = dashboardSession(app);
    const mallory = dashboardSession(app);
    await alice.refreshToken('/login');
    await mallory.refreshToken('/login');
    mallory.token = alice.token;
    const login = await mallory.post('/login', { name: 'ops', password: PASSWORD });
    expect(login.statusCode).toBe(403);
  });

  it('ignores a forged, tampered or expired session cookie', async () => {
    const withCookie = (value: string) => app.inject({ url: '/tasks/1', headers: { accept: 'text/html', cookie: `${SESSION_COOKIE}=${encodeURIComponent(value)}` } });
    const session = await loggedIn(app, PASSWORD);
    const valid = session.cookies.get(SESSION_COOKIE)!;
    expect((await withCookie(decodeURIComponent(valid))).statusCode).not.toBe(302);
    // Correctly signed, but no such session in af_sessions: the signature alone opens nothing.
    expect((await withCookie(app.signCookie('made-up-session-id'))).statusCode).toBe(302);
    expect((await withCookie(`${decodeURIComponent(valid).split('.')[0]}.AAAA`)).statusCode).toBe(302);
    expect((await withCookie(decodeURIComponent(valid).replace(/^./, (c) => (c === 'e' ? 'f' : 'e')))).statusCode).toBe(302);
    // Expired: the session's absolute end has passed.
    await db.db.execute(sql`UPDATE af_sessions SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND`);
    expect((await withCookie(decodeURIComponent(valid))).statusCode).toBe(302);
  });

  it('sets no cookie that verifies under any key derived from DASHBOARD_PASSWORD', async () => {
    const session = await loggedIn(app, PASSWORD);
    const signed = [...session.cookies.entries()].filter(([name]) => name !== 'af_lang').map(([, value]) => decodeURIComponent(value));
    expect(signed.length).toBeGreaterThanOrEqual(2); // the session and the CSRF secret
    const keys = [
      PASSWORD,
      createHash('sha256').update(`autofollow-cookie\0${PASSWORD}`, 'utf8').digest('hex'), // the old derivation
      createHash('sha256').update(PASSWORD, 'utf8').digest('hex'),
      createHash('sha256').update(PASSWORD, 'utf8').digest('base64'),
    ];
    for (const value of signed) {
      const dot = value.lastIndexOf('.');
      expect(dot, value).toBeGreaterThan(0);
      const [payload, mac] = [value.slice(0, dot), value.slice(dot + 1)];
      // @fastify/cookie signs as cookie-signature does: HMAC-SHA256 of the value, base64 without padding.
      for (const key of keys) expect(createHmac('sha256', key).update(payload).digest('base64').replace(/=+$/, '')).not.toBe(mac);
      // It does verify under the stored random key, so the check above is looking at the right thing.
      expect(app.unsignCookie(value).valid).toBe(true);
    }
    // The key itself is random and stored, never the password.
    const [row] = await db.db.select().from(settings).where(eq(settings.name, COOKIE_SECRET));
    expect(row!.value).not.toContain(PASSWORD);
    expect(row!.value.length).toBeGreaterThanOrEqual(40);
  });

  it('answers a POST without a session with 401 and an htmx redirect to the login, doing nothing', async () => {
    const browser = dashboardSession(app);
    await browser.refreshToken('/login');
    const response = await browser.post('/tasks/1/actions/process', { view: 'card' }, { headers: { 'hx-request': 'true', referer: 'http://x/tasks/1' } });
    expect(response.statusCode).toBe(401);
    expect(response.headers['hx-redirect']).toBe('/login?next=%2Ftasks%2F1');
    expect(await audits()).toHaveLength(0);
  });

  it('logs out', async () => {
    const session = await loggedIn(app, PASSWORD);
    expect((await session.get('/login')).statusCode).toBe(302); // already in: /login sends you on
    const out = await session.post('/logout');
    expect(out.statusCode).toBe(303);
    expect(session.cookies.has(SESSION_COOKIE)).toBe(false);
    expect((await session.get('/tasks/1')).statusCode).toBe(302);
  });

  it('slows down password guessing', async () => {
    const browser = dashboardSession(app);
    await browser.refreshToken('/login');
    const statuses: number[] = [];
    for (let i = 0; i <= LOGIN_ATTEMPTS_PER_MINUTE; i++) statuses.push((await browser.post('/login', { name: 'm', password: `guess ${i}` })).statusCode);
    expect(statuses.slice(0, LOGIN_ATTEMPTS_PER_MINUTE).every((s) => s === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    const blocked = await browser.post('/login', { name: 'm', password: PASSWORD });
    expect(blocked.statusCode).toBe(429); // even the right password waits out the minute
    expect(blocked.body).toContain('尝试次数过多');
  });

  it('never redirects off the site after login', async () => {
    for (const next of ['//evil.example/x', 'https://evil.example', '/\\evil.example']) {
      const browser = dashboardSession(app);
      await browser.refreshToken('/login');
      const login = await browser.post('/login', { name: 'ops', password: PASSWORD, next });
      expect(login.headers.location).toBe('/');
    }
  });

  it('reads "next" and "back" as a browser would: a tab or newline never makes "//evil", odd characters are no 500', async () => {
    // Browsers drop tabs and newlines from a URL, so "/\t/evil.example" is "//evil.example" to them.
    for (const next of ['/\t/evil.example', '/\n/evil.example', '/\r\n/evil.example', '/ /evil.example', '/\u2028', '/\u0000', '/任务']) {
      const browser = dashboardSession(app);
      await browser.refreshToken('/login');
      const login = await browser.post('/login', { name: 'ops', password: PASSWORD, next });
      expect(login.statusCode, JSON.stringify(next)).toBe(303);
      expect(login.headers.location, JSON.stringify(next)).toMatch(/^\/(?![\/\\\s])[\x21-\x7e]*$|^\/$/);
      const form = await browser.get(`/login?next=${encodeURIComponent(next)}`);
      expect(form.statusCode, JSON.stringify(next)).toBe(302);
      expect(form.headers.location, JSON.stringify(next)).toMatch(/^\/(?![\/\\\s])[\x21-\x7e]*$|^\/$/);
      const lang = await browser.get(`/lang?to=en&back=${encodeURIComponent(next)}`);
      expect(lang.statusCode, JSON.stringify(next)).toBe(303);
      expect(lang.headers.location, JSON.stringify(next)).toMatch(/^\/(?![\/\\\s])[\x21-\x7e]*$|^\/$/);
    }
    // An ordinary address keeps its path and query, non-ASCII sent percent-encoded.
    const browser = dashboardSession(app);
    expect((await browser.get('/lang?to=en&back=%2Ftasks%2F7%3Fq%3D%E7%8E%8B')).headers.location).toBe('/tasks/7?q=%E7%8E%8B');
  });
});

describe('without DASHBOARD_PASSWORD (loopback only)', () => {
  it('has no login: /login goes straight on', async () => {
    const open = await appOver(db);
    try {
      const response = await open.inject({ url: '/login?next=/stuck' });
      expect(response.statusCode).toBe(302);
      expect(response.headers.location).toBe('/stuck');
    } finally {
      await open.close();
    }
  });
});

describe('every page', () => {
  it('carries the security headers and a strict CSP', async () => {
    const response = await app.inject({ url: '/login' });
    expect(response.headers['content-security-policy']).toContain("script-src 'self'");
    expect(response.headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.body).not.toMatch(/<script>(?!<\/script>)|style="/);
  });

  it('switches to English and back with a cookie, and refuses an unknown language', async () => {
    const browser = dashboardSession(app);
    const switched = await browser.get('/lang?to=en&back=%2Flogin');
    expect(switched.statusCode).toBe(303);
    expect(switched.headers.location).toBe('/login');
    const english = await browser.get('/login');
    expect(english.body).toContain('Log in');
    expect(english.body).toContain('<html lang="en">');
    expect((await browser.get('/lang?to=fr')).statusCode).toBe(400);
    await browser.get('/lang?to=zh&back=/login');
    expect((await browser.get('/login')).body).toContain('登录');
  });

  it('answers an unknown page with a 404 page for browsers and JSON for scripts', async () => {
    const page = await app.inject({ url: '/no/such/page', headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(404);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('/no/such/page');
    const json = await app.inject({ url: '/api/nothing' });
    expect(json.statusCode).toBe(404);
    expect(json.json()).toEqual({ error: 'not found: GET /api/nothing' });
  });

  it('serves htmx from node_modules and our own css and script', async () => {
    for (const url of ['/static/htmx/htmx.min.js', '/static/js/app.js', '/static/css/app.css']) {
      expect((await app.inject({ url })).statusCode).toBe(200);
    }
  });
});
