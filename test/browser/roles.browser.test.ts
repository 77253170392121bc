// The three roles in a real browser (issue 8): a viewer sees no action button and a forged POST
// answers 403; an operator pauses a task and the audit row names the account; an admin disables
// that operator, whose next request lands on the login page.
import { eq } from 'drizzle-orm';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperator } from '../../server/access/operators.ts';
import { buildPipelineDeps } from '../../server/cli/build-deps.ts';
import { runServe, type ServeHandle } from '../../server/cli/serve.ts';
import { loadConfigWith } from '../../server/config.ts';
import { auditLog } from '../../server/db/schema/app.ts';
import { givenTask } from '../helpers/builders.ts';
import { launchChromium, submitLogin } from '../helpers/browser.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { FAKE_LIVE_ENV } from '../helpers/run-cli.ts';
import { log } from '../helpers/web-app.ts';

const PASSWORD = 'a long password';
let db: TestDatabase;
let server: ServeHandle;
let browser: Browser;
let taskId: number;

beforeAll(async () => {
  [db, browser] = await Promise.all([createTestDatabase(), launchChromium()]);
  const config = loadConfigWith({ ...FAKE_LIVE_ENV, DATABASE_URL: db.url, MONITOR_CRON: '0 0 1 1 *' });
  server = await runServe(config, log, { deps: buildPipelineDeps(config, log, { database: db }).deps, host: '127.0.0.1', port: 0, handleSignals: false });
  for (const role of ['viewer', 'operator', 'admin'] as const) await createOperator(db.db, { login: role, displayName: role, role, password: PASSWORD });
  taskId = await givenTask(db.db, { taskType: 2, jobGroupId: 'g' });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await db?.drop();
});

async function logIn(login: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('dialog', (dialog) => void dialog.accept());
  await page.goto(`${server.address}/tasks/${taskId}`);
  await page.waitForURL(/\/login\?next=/);
  await submitLogin(page, login, PASSWORD, `${server.address}/tasks/${taskId}`);
  return { context, page };
}

describe('roles in a browser', () => {
  it('shows a viewer no action button, and answers a forged POST with 403', async () => {
    const { context, page } = await logIn('viewer');
    await page.locator('h1').first().waitFor();
    expect(await page.locator('[data-action]').count()).toBe(0);
    const token = await page.locator('meta[name="csrf-token"]').getAttribute('content');
    const status = await page.evaluate(async ([url, csrf]) => (await fetch(url!, { method: 'POST', headers: { 'x-csrf-token': csrf!, 'content-type': 'application/x-www-form-urlencoded' }, body: 'view=card' })).status, [`/tasks/${taskId}/actions/pause`, token]);
    expect(status).toBe(403);
    await context.close();
  });

  it('lets an operator pause the task, audited under the account; an admin disables them and their next request goes to login', async () => {
    const { context, page } = await logIn('operator');
    await page.click('button[data-action="pause"]');
    await page.locator('button[data-action="resume"]').waitFor();
    const rows = await db.db.select().from(auditLog).where(eq(auditLog.action, 'pause'));
    expect(rows).toEqual([expect.objectContaining({ actor: 'operator', outcome: 'ok', taskId })]);

    const admin = await logIn('admin');
    await admin.page.goto(`${server.address}/operators`);
    await admin.page.click('tr[data-login="operator"] button[data-action="disable"]');
    await admin.page.locator('tr[data-login="operator"]', { hasText: 'disabled' }).or(admin.page.locator('tr[data-login="operator"]', { hasText: '已停用' })).first().waitFor();

    // The operator's open page polls: its next poll may already be taking it to /login while we navigate.
    await page.goto(`${server.address}/tasks/${taskId}`).catch((error: unknown) => {
      if (!/interrupted by another navigation to "[^"]*\/login/.test(String(error))) throw error;
    });
    await page.waitForURL(/\/login/);
    await Promise.all([context.close(), admin.context.close()]);
  });
});
