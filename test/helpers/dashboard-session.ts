// A browser-like session for fastify.inject: keeps cookies between requests, logs in when the app
// has a DASHBOARD_PASSWORD, and sends the page's CSRF token with POSTs, as app.js does for htmx.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

export interface DashboardSession {
  get(url: string, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  /** A form POST carrying the current CSRF token (unless `csrf: false`) and the cookies. */
  post(url: string, form?: Record<string, string>, options?: { csrf?: boolean; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  /** GET a page and remember its CSRF token (done automatically before the first POST). */
  refreshToken(url?: string): Promise<string>;
  cookies: Map<string, string>;
  token: string | null;
}

export const HTMX = { 'hx-request': 'true' } as const;

export function dashboardSession(app: FastifyInstance): DashboardSession {
  const cookies = new Map<string, string>();
  const session: DashboardSession = {
    cookies,
    token: null,
    async get(url, headers = {}) {
      const response = await app.inject({ method: 'GET', url, headers: { accept: 'text/html', cookie: cookieHeader(cookies), ...headers } });
      keepCookies(cookies, response);
      const token = /<meta name="csrf-token" content="([^"]*)"/.exec(response.body)?.[1];
      if (token) session.token = token;
      return response;
    },
    async post(url, form = {}, options = {}) {
      if (options.csrf !== false && session.token === null) await session.refreshToken();
      const headers: Record<string, string> = { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', cookie: cookieHeader(cookies), ...options.headers };
      if (options.csrf !== false && session.token) headers['x-csrf-token'] = session.token;
      const response = await app.inject({ method: 'POST', url, headers, payload: new URLSearchParams(form).toString() });
      keepCookies(cookies, response);
      return response;
    },
    async refreshToken(url?: string) {
      // Without DASHBOARD_PASSWORD /login redirects away, so the overview gives the token instead.
      await session.get(url ?? '/login');
      if (session.token === null && url === undefined) await session.get('/');
      if (session.token === null) throw new Error(`no csrf-token meta on ${url}`);
      return session.token;
    },
  };
  return session;
}

/** A session that has logged in with the given password (the app must have DASHBOARD_PASSWORD set). */
export async function loggedIn(app: FastifyInstance, password: string, name = 'Wang Fang'): Promise<DashboardSession> {
  const session = dashboardSession(app);
  await session.refreshToken('/login');
  const response = await session.post('/login', { name, password, next: '/' });
  if (response.statusCode !== 303) throw new Error(`login failed with ${response.statusCode}: ${response.body.slice(0, 200)}`);
  return session;
}

function keepCookies(cookies: Map<string, string>, response: LightMyRequestResponse): void {
  for (const cookie of response.cookies) {
    if (cookie.value === '' || (cookie.expires && cookie.expires.getTime() < Date.now())) cookies.delete(cookie.name);
    else cookies.set(cookie.name, cookie.value);
  }
}

function cookieHeader(cookies: Map<string, string>): string {
  return [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
}
