// The probes /livez, /readyz and /healthz (DESIGN §4) and the headers every response carries.
// That /readyz turns 503 on a real SIGTERM is in test/cli/serve.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPipelineDeps } from '../../server/cli/build-deps.ts';
import { loadConfig } from '../../server/config.ts';
import { openDatabase } from '../../server/db/client.ts';
import { createScheduler } from '../../server/scheduler/scheduler.ts';
import { buildApp, CONTENT_SECURITY_POLICY } from '../../server/web/build-app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { FAKE_LIVE_ENV } from '../helpers/run-cli.ts';
import { appOver, log } from '../helpers/web-app.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe.each(['/readyz', '/healthz'])('GET %s', (url) => {
  it('answers 200 {"status":"ok"} when the database answers', async () => {
    const app = await appOver(db);
    try {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ status: 'ok' });
      expect(response.headers['cache-control']).toBe('no-store');
    } finally {
      await app.close();
    }
  });

  it('answers 503 {"status":"unavailable"} when the database does not', async () => {
    const unreachableUrl = 'mysql://root@127.0.0.1:1/nowhere';
    const unreachable = { ...openDatabase(unreachableUrl, { connectionLimit: 1 }), url: unreachableUrl };
    const app = await appOver(unreachable);
    try {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({ status: 'unavailable' });
    } finally {
      await app.close();
      await unreachable.close();
    }
  });

  it('answers 503 {"status":"shutting-down"} once the scheduler stops, while the app still serves', async () => {
    const config = loadConfig({ ...FAKE_LIVE_ENV, DATABASE_URL: db.url });
    const { deps } = buildPipelineDeps(config, log, { database: db });
    const scheduler = createScheduler({ deps, cron: config.monitorCron, timeZone: config.timeZone, log });
    const app = await buildApp({ pipeline: deps, config, log, scheduler });
    try {
      expect((await app.inject({ method: 'GET', url })).statusCode).toBe(200);
      const stopped = scheduler.stop(); // what serve's shutdown does first
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({ status: 'shutting-down' });
      expect((await app.inject({ method: 'GET', url: '/livez' })).statusCode).toBe(200);
      await stopped;
    } finally {
      await app.close();
    }
  });
});

describe('GET /livez', () => {
  it('answers 200 {"status":"ok"} without asking the database, so an outage does not get the process restarted', async () => {
    const unreachableUrl = 'mysql://root@127.0.0.1:1/nowhere';
    const unreachable = { ...openDatabase(unreachableUrl, { connectionLimit: 1 }), url: unreachableUrl };
    const app = await appOver(unreachable);
    try {
      const response = await app.inject({ method: 'GET', url: '/livez' });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ status: 'ok' });
      expect(response.headers['cache-control']).toBe('no-store');
    } finally {
      await app.close();
      await unreachable.close();
    }
  });
});

describe('security headers', () => {
  it.each([
    ['a health check', '/healthz'],
    ['a liveness check', '/livez'],
    ['an unknown page', '/no/such/page'],
    ['a bad API request', '/api/tasks/abc/diagnose'],
  ])('are sent with %s', async (_what, url) => {
    const app = await appOver(db);
    try {
      const response = await app.inject({ method: 'GET', url });
      expect(response.headers).toMatchObject({
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'content-security-policy': CONTENT_SECURITY_POLICY,
      });
      expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    } finally {
      await app.close();
    }
  });

  it('answers an unknown URL with a JSON 404', async () => {
    const app = await appOver(db);
    try {
      const response = await app.inject({ method: 'GET', url: '/nope?x=1' });
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({ error: 'not found: GET /nope' });
    } finally {
      await app.close();
    }
  });
});
