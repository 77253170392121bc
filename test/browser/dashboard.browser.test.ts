// The dashboard as an operator uses it, in headless Debian chromium against the real service:
// `serve` on the simulators over real HTTP and a real database. Log in, find a task, press
// "process now", watch its progress reach the end, and check the stuck page names what is stuck.
// Screenshots land in test/artifacts/ for people to look at.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPipelineDeps } from '../../server/cli/build-deps.ts';
import { seedDemo, type DemoTask } from '../../server/cli/demo-seed.ts';
import { runServe, type ServeHandle } from '../../server/cli/serve.ts';
import { loadConfigWith } from '../../server/config.ts';
import { callTasks } from '../../server/db/schema/crm.ts';
import { processTask } from '../../server/pipeline/process-task.ts';
import { startLlmSimulator, type LlmSimulator } from '../../server/simulator/llm.ts';
import { startOutboundBotSimulator, type OutboundBotSimulator } from '../../server/simulator/outboundbot.ts';
import { latestTask, type SimulatedJob } from '../../server/simulator/simulated-jobs.ts';
import { simulatorEnv } from '../../server/simulator/simulator-env.ts';
import { artifactPath, launchChromium, submitLogin } from '../helpers/browser.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { log } from '../helpers/web-app.ts';
import { until } from '../helpers/until.ts';

const PASSWORD = 'demo-password';
let db: TestDatabase;
let sim: OutboundBotSimulator;
let llm: LlmSimulator;
let server: ServeHandle;
let browser: Browser;
let page: Page;
let tasks: DemoTask[];
let stopAutoplay = () => {};
let deps: ReturnType<typeof buildPipelineDeps>['deps'];

beforeAll(async () => {
  [db, sim, llm, browser] = await Promise.all([createTestDatabase(), startOutboundBotSimulator(), startLlmSimulator(), launchChromium()]);
  const config = loadConfigWith({
    DATABASE_URL: db.url,
    ...simulatorEnv(sim, llm),
    DASHBOARD_PASSWORD: PASSWORD,
    // No scheduled pass during the test: what moves the task is the operator's button.
    MONITOR_CRON: '0 0 1 1 *',
  });
  deps = buildPipelineDeps(config, log, { database: db }).deps;
  tasks = await seedDemo(db.db, sim);
  server = await runServe(config, log, { deps, host: '127.0.0.1', port: 0, handleSignals: false });
  // The robot finishes every call first, so one press of "process now" can take a task to the end.
  stopAutoplay = sim.autoplay({ intervalMs: 20, perTick: 20 });
  const groups = await db.db.select({ id: callTasks.id, group: callTasks.jobGroupId }).from(callTasks);
  const calling = groups.filter((g) => g.group !== null).map((g) => g.group!);
  await until('every call to settle', () => calling.every((group) => sim.jobsOf(group).every(settled)));
  stopAutoplay();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  page.on('dialog', (dialog) => void dialog.accept()); // every action is confirmed; the operator says yes
}, 60_000);

afterAll(async () => {
  stopAutoplay();
  await browser?.close();
  await server?.close();
  await Promise.all([sim?.stop(), llm?.stop()]);
  await db?.drop();
});

describe('an operator in a browser', () => {
  it('logs in and sees every task on the overview', async () => {
    await page.goto(`${server.address}/`);
    await page.waitForURL(/\/login\?next=/);
    await submitLogin(page, '王芳', PASSWORD, `${server.address}/`);
    for (const task of tasks) await page.getByText(task.name).first().waitFor();
    await page.screenshot({ path: artifactPath('overview.png'), fullPage: true });
    await page.setViewportSize({ width: 800, height: 1100 }); // a tablet held upright
    await page.screenshot({ path: artifactPath('overview-tablet.png'), fullPage: true });
    await page.setViewportSize({ width: 1366, height: 900 });
  });

  it('opens a task, presses "process now", and watches the progress reach the end', async () => {
    const task = tasks[0]!;
    await page.click(`a[href="/tasks/${task.id}"]`);
    await page.waitForURL(`${server.address}/tasks/${task.id}`);
    const card = page.locator(`#task-card-${task.id}`);
    expect(await card.locator('[data-bar="withFollow"]').innerText()).toBe(`0/${task.leads}`);
    expect(await card.locator('.bar.withFollow > span').getAttribute('class')).toMatch(/\bw0\b/);

    await card.locator('button[data-action="process"]').click();
    await page.locator(`#task-card-${task.id}-message .alert`).waitFor();
    // The card refreshes itself (polling every 5 s while visible) until the task is followed up.
    await card.locator('.badge.stage-4').waitFor({ timeout: 45_000 });
    expect(await card.locator('[data-bar="withFollow"]').innerText()).toBe(`${task.leads}/${task.leads}`);
    expect(await card.locator('.bar.withFollow > span').getAttribute('class')).toMatch(/\bw100\b/);
    // The leads table and its filter counts follow on their own next refresh.
    await page.waitForFunction(`document.querySelector('#leads-table nav a[href$="state=followed"]')?.textContent.includes('(${task.leads})')`, undefined, { timeout: 10_000 });
    await page.screenshot({ path: artifactPath('task.png'), fullPage: true });
    await page.screenshot({ path: artifactPath('task-top.png') });

    // Phones are personal data: the page shows them masked, never in full.
    const text = await page.locator('body').innerText();
    expect(text).toMatch(/139\*{4}\d{4}/);
    expect(text).not.toMatch(/139\d{8}/);
  });

  it('finds what is stuck on the stuck page, reads why, fixes it with a click, and sees it gone', async () => {
    // The second demo task has two leads the CRM never put in its job group, and this time the LLM
    // answers nonsense for two conversations: those leads get the basic record, marked for a re-run.
    const task = tasks[1]!;
    llm.failNext('invalid-answer', { times: 2 });
    const result = await processTask(deps, task.id, { trigger: 'cli' });
    expect(result.status).toBe('processed');
    const followsBefore = await followCount(task.id);

    await page.click('a[href="/stuck"]');
    await page.waitForURL(`${server.address}/stuck`);
    const card = page.locator(`#stuck-task-${task.id}`);
    await card.waitFor({ timeout: 10_000 });
    const failed = card.locator('li[data-cause="analysis-failed"]');
    expect(await failed.innerText()).toContain('2');
    await card.locator('li[data-cause="never-called"] a[href$="state=not-in-group"]').waitFor();
    await page.screenshot({ path: artifactPath('stuck.png'), fullPage: true });

    await failed.locator('button').click(); // "retry analysis", confirmed
    await failed.locator('.message .alert').waitFor({ timeout: 10_000 });
    // The list refreshes itself: once the re-run has written the real remarks the cause is gone,
    // and only what needs a person in Outbound Bot is left.
    await failed.waitFor({ state: 'detached', timeout: 30_000 });
    await card.locator('li[data-cause="never-called"]').waitFor();
    await page.screenshot({ path: artifactPath('stuck-after-fix.png'), fullPage: true });
    expect(await followCount(task.id)).toBe(followsBefore); // the same records, rewritten: none added
  });

  it('stops polling while the tab is hidden and catches up when it is shown', async () => {
    // A tab of its own (the same session) whose clock the test drives: half a minute hidden passes
    // in no time, and no real timer races the test.
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    try {
      await context.addCookies(await page.context().cookies());
      const tab = await context.newPage();
      await tab.clock.install();
      await tab.goto(`${server.address}/`);
      await tab.waitForFunction(`typeof window.autofollowPoll === 'function'`);
      // Every htmx request, by the visibility the page had when it was sent.
      await tab.evaluate(`window.polledWhile = []; document.addEventListener('htmx:before:request', () => window.polledWhile.push(document.visibilityState))`);
      await setVisibility(tab, 'hidden');
      await tab.clock.pauseAt(Date.now() + 1_000); // from here page time moves only when told
      await tab.clock.runFor(30_000); // six poll periods: every due timer fires
      expect(await tab.evaluate('window.polledWhile')).toEqual([]);
      // With the clock paused no timer can poll: what comes now is the catch-up on being shown.
      const caughtUp = tab.waitForRequest((request) => new URL(request.url()).pathname !== '/' || request.url().includes('fragment'), { timeout: 5_000 });
      await setVisibility(tab, 'visible');
      await caughtUp;
      expect(await tab.evaluate('window.polledWhile.length')).toBeGreaterThan(0);
    } finally {
      await context.close();
    }
  });

  it('shows a refused action in the message bar and keeps the card it came from', async () => {
    const task = tasks[2]!; // not started: nothing runs, only "pause" is offered
    await page.goto(`${server.address}/tasks/${task.id}`);
    // As if the page had been open across a restart that changed the CSRF secret.
    // In one turn with the click, so no refresh can bring fresh tokens in between.
    await page.evaluate(`document.querySelector('meta[name="csrf-token"]').setAttribute('content', 'stale');
      document.querySelectorAll('input[name="_csrf"]').forEach((input) => { input.value = 'stale'; });
      document.querySelector('#task-card-${task.id} button[data-action="pause"]').click()`);
    await page.locator('#flash .alert').waitFor({ timeout: 10_000 });
    expect(await page.locator('#flash').innerText()).toContain('403');
    expect(await page.locator(`#task-card-${task.id} button[data-action="pause"]`).count()).toBe(1);
    const [pauses] = (await db.pool.query('SELECT COUNT(*) AS n FROM af_task_pauses')) as unknown as [Array<{ n: number }>];
    expect(Number(pauses[0]!.n)).toBe(0);
  });

  it('switches to English', async () => {
    await page.goto(`${server.address}/tasks/${tasks[0]!.id}`);
    await page.click('a.lang');
    await page.locator('html[lang="en"]').waitFor({ state: 'attached' });
    await page.locator('nav').getByText('Stuck').waitFor();
    await page.screenshot({ path: artifactPath('task-en.png'), fullPage: true });
  });
});

async function followCount(taskId: number): Promise<number> {
  const [rows] = (await db.pool.query(
    // By leads_id: a duplicate would be a second record for the same customer, linked or not.
    'SELECT COUNT(*) AS n FROM dcc_leads_follow WHERE leads_id IN (SELECT leads_id FROM leads_task_list WHERE task_id = ?)',
    [taskId],
  )) as unknown as [Array<{ n: number }>];
  return Number(rows[0]!.n);
}

/** Final (or cancelled, as the demo does to two), and a Succeeded call's conversation is there: nothing left for the robot to do. */
function settled(job: SimulatedJob): boolean {
  if (job.status === 'Failed' || job.status === 'Cancelled') return true;
  const call = latestTask(job);
  return job.status === 'Succeeded' && !!call && !call.conversationWithheld && call.conversation.length > 0;
}

async function setVisibility(target: Page, state: 'hidden' | 'visible'): Promise<void> {
  // Runs in the page (a string, since this file is typed for Node, not the DOM).
  await target.evaluate(`(() => {
    const value = ${JSON.stringify(state)};
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => value });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => value === 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  })()`);
}

