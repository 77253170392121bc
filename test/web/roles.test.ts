// Named operators and their roles (issue 8): every POST route declares the role its command needs,
// a viewer can press nothing, an operator's actions are audited under their account, an admin who
// disables an operator ends their sessions at once, and DASHBOARD_PASSWORD stops working once an
// account exists.
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOperator } from '../../server/access/operators.ts';
import { auditLog } from '../../server/db/schema/app.ts';
import { declareRouteRoles } from '../../server/web/route-roles.ts';
import { givenTask } from '../helpers/builders.ts';
import { useTestDatabase } from '../helpers/database.ts';
import { dashboardSession, loggedIn } from '../helpers/dashboard-session.ts';
import { appOver } from '../helpers/web-app.ts';
import Fastify from 'fastify';

const BOOTSTRAP = 'bootstrap password';
const PASSWORD = 'a long password';
const db = useTestDatabase();
let app: FastifyInstance;

beforeEach(async () => {
  app = await appOver(db, { env: { DASHBOARD_PASSWORD: BOOTSTRAP }, startTaskProcessing: () => true });
  for (const role of ['viewer', 'operator', 'admin'] as const) await createOperator(db.db, { login: role, displayName: role, role, password: PASSWORD });
});
afterEach(async () => app?.close());

const audits = () => db.db.select().from(auditLog);

describe('the route table', () => {
  it('gives every POST route a declared role', () => {
    const posts = app.routeRoles.filter((route) => route.method === 'POST');
    expect(posts.length).toBeGreaterThan(8);
    for (const route of posts) expect(route.role, `POST ${route.url}`).toBeDefined();
  });

  it('refuses to build an app with a POST route that declares no role', async () => {
    const bare = Fastify();
    declareRouteRoles(bare);
    expect(() => bare.post('/new-action', async () => 'x')).toThrow(/declares no role/);
    await bare.close();
  });

  it('answers 403 to a viewer on every POST route above viewer, changing nothing', async () => {
    const taskId = await givenTask(db.db, { taskType: 2, jobGroupId: 'g' });
    const viewer = await loggedIn(app, PASSWORD, 'viewer');
    const guarded = app.routeRoles.filter((route) => route.method === 'POST' && route.role !== 'public' && route.role !== 'viewer');
    for (const route of guarded) {
      const url = route.url.replace(':id', String(taskId)).replace(':action', 'process').replace(':leadId', '1').replace(':login', 'operator').replace(/^\/api\//, '/');
      if (route.url.startsWith('/api/')) continue; // the API's roles are the bearer token's (api.test.ts)
      const response = await viewer.post(url, { view: 'card' });
      expect(response.statusCode, `POST ${url}`).toBe(403);
    }
    expect((await audits()).filter((row) => row.action !== 'login')).toEqual([]);
  });
});

describe('roles on the dashboard', () => {
  it('shows a viewer no action button', async () => {
    const taskId = await givenTask(db.db, { taskType: 2, jobGroupId: 'g' });
    const viewer = await loggedIn(app, PASSWORD, 'viewer');
    const page = await viewer.get(`/tasks/${taskId}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('data-action=');
    expect((await viewer.get('/operators')).statusCode).toBe(403);
  });

  it('lets an operator act, audited under their account, but not break a lease or manage accounts', async () => {
    const taskId = await givenTask(db.db, { taskType: 2, jobGroupId: 'g' });
    const operator = await loggedIn(app, PASSWORD, 'operator');
    expect((await operator.get(`/tasks/${taskId}`)).body).toContain('data-action="process"');
    expect((await operator.post(`/tasks/${taskId}/actions/pause`, { view: 'card' })).statusCode).toBe(200);
    expect((await operator.post('/operators/viewer/disable')).statusCode).toBe(403);
    const rows = (await audits()).filter((row) => row.action !== 'login');
    expect(rows).toEqual([expect.objectContaining({ actor: 'operator', action: 'pause', outcome: 'ok', taskId })]);
  });

  it('lets an admin disable an operator, whose next request lands on the login page', async () => {
    const operator = await loggedIn(app, PASSWORD, 'operator');
    expect((await operator.get('/')).statusCode).toBe(200);
    const admin = await loggedIn(app, PASSWORD, 'admin');
    const disabled = await admin.post('/operators/operator/disable');
    expect(disabled.statusCode).toBe(200);
    expect(disabled.body).toContain('operator-disabled');
    const next = await operator.get('/');
    expect(next.statusCode).toBe(302);
    expect(next.headers.location).toMatch(/^\/login/);
    // And the account cannot log in again.
    const again = dashboardSession(app);
    await again.refreshToken('/login');
    expect((await again.post('/login', { name: 'operator', password: PASSWORD, next: '/' })).statusCode).toBe(401);
  });

  it('refuses DASHBOARD_PASSWORD once an account exists, saying so', async () => {
    const browser = dashboardSession(app);
    await browser.refreshToken('/login');
    const response = await browser.post('/login', { name: 'Wang Fang', password: BOOTSTRAP, next: '/' });
    expect(response.statusCode).toBe(401);
    expect(response.body).toContain('DASHBOARD_PASSWORD');
  });
});
