// Live refresh in a browser: an action's answer must land even when the polled region around it
// refreshes meanwhile (a lead's "retry analysis" waits for the LLM, the leads table polls every 5 s),
// and a refresh that fails once (the database restarting) must not end the refreshing for good.
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processTask } from '../../server/pipeline/process-task.ts';
import { buildApp } from '../../server/web/build-app.ts';
import { launchChromium, submitLogin } from '../helpers/browser.ts';
import { givenLeads, givenTask, phones, statesOf } from '../helpers/builders.ts';
import { startPipelineHarness, type PipelineHarness } from '../helpers/pipeline.ts';
import { until } from '../helpers/until.ts';
import { log } from '../helpers/web-app.ts';

/** Runs one polling tick in the page and resolves, with how many refreshes it sent, once all have been handled. */
const POLL_AND_SETTLE = `new Promise((resolve) => {
  let open = 0, sent = 0;
  const isPoll = (event) => event.detail && event.detail.ctx && event.detail.ctx.sourceEvent && event.detail.ctx.sourceEvent.type === 'poll';
  document.addEventListener('htmx:before:request', (event) => { if (isPoll(event)) { open += 1; sent += 1; } });
  document.addEventListener('htmx:finally:request', (event) => { if (isPoll(event) && --open === 0) resolve(sent); });
  window.autofollowPoll();
})`;

let h: PipelineHarness;
let app: FastifyInstance;
let browser: Browser;
let address: string;

beforeAll(async () => {
  [h, browser] = await Promise.all([startPipelineHarness(), launchChromium()]);
  app = await buildApp({ pipeline: h.deps(), config: h.config, log });
  address = await app.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await h?.close();
});

describe('a lead row action in a browser', () => {
  it('shows the retry’s answer in the row although the leads table refreshed while it waited', async () => {
    const group = h.sim.createJobGroup();
    const [phone] = phones(1, 7000);
    const taskId = await givenTask(h.database.db, { name: '分析失败的任务', jobGroupId: group });
    const [leadId] = await givenLeads(h.database.db, taskId, [{ phone: phone!, name: '客户' }]);
    h.sim.assignJobs(group, [{ phone: phone! }]).forEach((jobId) => h.sim.finishJob(jobId, { status: 'Succeeded', kind: 'interested' }));
    h.llm.failNext('invalid-answer', { times: 1 });
    await processTask(h.deps(), taskId, { trigger: 'cli' });
    expect((await statesOf(h.database.db, taskId)).map((s) => s.analysisStatus)).toEqual(['failed']);

    const page = await browser.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${address}/tasks/${taskId}?state=analysis-failed`);
    await page.waitForFunction(`typeof window.htmx !== 'undefined' && typeof window.autofollowPoll === 'function'`);

    const asked = h.llm.requests.length;
    const release = h.llm.holdAnswers(); // the LLM takes its time; the retry waits for it
    try {
      await page.click(`#lead-${leadId} button:has-text("重新分析")`);
      await until('the retry to reach the LLM', () => h.llm.requests.length > asked);
      // The 5-second tick comes while the retry is still waiting, and its refreshes land first.
      expect(await page.evaluate(POLL_AND_SETTLE)).toBeGreaterThan(0);
    } finally {
      release();
    }

    const answer = page.locator(`#lead-${leadId} [role="status"]`);
    await answer.waitFor({ timeout: 10_000 });
    expect(await answer.textContent()).toContain('AI 分析已完成，跟进记录已更新。');
    await page.close();
  }, 30_000);

  it('keeps refreshing a region after one refresh failed with a server error', async () => {
    const taskId = await givenTask(h.database.db, { name: '刷新的任务', jobGroupId: 'g-refresh' });
    const page = await browser.newPage();
    await page.goto(`${address}/tasks/${taskId}`);
    await page.waitForFunction(`typeof window.htmx !== 'undefined' && typeof window.autofollowPoll === 'function'`);
    await page.locator('#runs').waitFor();

    await h.database.db.execute(sql`RENAME TABLE af_task_runs TO af_task_runs_away`); // every read of runs fails: 500
    try {
      const failed = page.waitForResponse((r) => r.url().endsWith(`/tasks/${taskId}/runs`) && r.status() === 500);
      await page.evaluate(POLL_AND_SETTLE); // every refresh of the tick handled, the failed one included
      await failed;
    } finally {
      await h.database.db.execute(sql`RENAME TABLE af_task_runs_away TO af_task_runs`);
    }
    // The region is still there, still polling: the next tick brings it back up to date. A refresh is
    // nobody's action, so its failure puts nothing in the message bar either.
    expect(await page.locator('#runs[hx-trigger="poll"]').count()).toBe(1);
    expect(await page.locator('#flash .alert').count()).toBe(0);
    const recovered = page.waitForResponse((r) => r.url().endsWith(`/tasks/${taskId}/runs`) && r.status() === 200);
    await page.evaluate('window.autofollowPoll()');
    await recovered;
    await page.close();
  }, 30_000);
});
