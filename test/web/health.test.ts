// GET /healthz (DESIGN §4) and the headers every response carries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/client.ts';
import { CONTENT_SECURITY_POLICY } from '../../server/web/build-app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { appOver } from '../helpers/web-app.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe('GET /healthz', () => {
  it('answers 200 {"status":"ok"} when the database answers', async () => {
    const app = await appOver(db);
    try {
      const response = await app.inject({ method: 'GET', url: '/healthz' });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ status: 'ok' });
      expect(response.headers['cache-control']).toBe('no-store');
    } finally {
      await app.close();
    }
  });

  it('answers 503 {"status":"unavailable"} when the database does not', async () => {
    const url = 'mysql://root@127.0.0.1:1/nowhere';
    const unreachable = { ...openDatabase(url, { connectionLimit: 1 }), url };
    const app = await appOver(unreachable);
    try {
      const response = await app.inject({ method: 'GET', url: '/healthz' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({ status: 'unavailable' });
    } finally {
      await app.close();
      await unreachable.close();
    }
  });
});

describe('security headers', () => {
  it.each([
    ['a health check', '/healthz'],
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
