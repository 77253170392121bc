// Per-lead actions on the task page, over a real database and the simulators: revealing one phone
// number (audited, CSRF-protected, never anything else shown) and retrying one lead's failed analysis
// (the same follow record rewritten, refused while another process holds the task).
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditLog } from '../../server/db/schema/app.ts';
import { dccLeadsFollow } from '../../server/db/schema/crm.ts';
import { createLogger } from '../../server/log.ts';
import { ANALYSIS_FAILED_REMARK } from '../../server/pipeline/follow-up-remarks.ts';
import { claimLease } from '../../server/pipeline/leases.ts';
import { processTask } from '../../server/pipeline/process-task.ts';
import { buildApp } from '../../server/web/build-app.ts';
import { followsOf, givenLeads, givenTask, leadsOf, phones, runsOf, statesOf } from '../helpers/builders.ts';
import { HTMX, dashboardSession, type DashboardSession } from '../helpers/dashboard-session.ts';
import { startPipelineHarness, type PipelineHarness } from '../helpers/pipeline.ts';
import { randomInt } from '../helpers/seeded-random.ts';

let h: PipelineHarness;
let app: FastifyInstance;
let session: DashboardSession;

beforeAll(async () => {
  h = await startPipelineHarness();
});
afterAll(async () => h?.close());
beforeEach(async () => {
  await h.database.reset();
  app = await buildApp({ pipeline: h.deps(), config: h.config, log: createLogger('silent', { pretty: false }) });
  session = dashboardSession(app);
});
afterEach(async () => app?.close());

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&${({ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": '#39' } as Record<string, string>)[c]};`);

const audits = () => h.database.db.select().from(auditLog);

/** A task at stage 4 whose calls all Succeeded and whose analyses all failed (basic follow records). */
async function givenFailedAnalyses(n: number) {
  const group = h.sim.createJobGroup();
  const numbers = phones(n, randomInt(4000, 104_000));
  const taskId = await givenTask(h.database.db, { name: '分析失败的任务', jobGroupId: group });
  const leadIds = await givenLeads(h.database.db, taskId, numbers.map((phone, i) => ({ phone, name: `客户${i}` })));
  h.sim.assignJobs(group, numbers.map((phone) => ({ phone }))).forEach((jobId) => h.sim.finishJob(jobId, { status: 'Succeeded', kind: 'interested' }));
  h.llm.failNext('invalid-answer', { times: n });
  await processTask(h.deps(), taskId, { trigger: 'cli' });
  expect((await statesOf(h.database.db, taskId)).map((s) => s.analysisStatus)).toEqual(numbers.map(() => 'failed'));
  return { taskId, leadIds, numbers };
}

async function givenPlainTask() {
  const taskId = await givenTask(h.database.db, { name: '普通任务', taskType: 2, jobGroupId: 'jg-plain' });
  const leadIds = await givenLeads(h.database.db, taskId, [
    { name: '甲', phone: '+86 137-1111-2222' },
    { name: '乙', phone: '13733334444' },
  ]);
  return { taskId, leadIds };
}

describe('POST /tasks/:id/leads/:leadId/reveal-phone', () => {
  it('shows that one number in full, in the lead row fragment, and writes exactly one audit row', async () => {
    const { taskId, leadIds } = await givenPlainTask();
    const page = await session.get(`/tasks/${taskId}`);
    expect(page.body).not.toContain('13711112222');
    expect(page.body).toContain('137****2222');

    const response = await session.post(`/tasks/${taskId}/leads/${leadIds[0]}/reveal-phone`, {}, { headers: HTMX });
    expect(response.statusCode).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toMatch(new RegExp(`^<tbody id="lead-${leadIds[0]}"`));
    expect(response.body).toContain('+86 137-1111-2222');
    expect(response.body).not.toContain('13733334444'); // nobody else's number
    expect(response.body).not.toContain('/reveal-phone'); // no second reveal button on a revealed row
    // A refresh of the table must not mask it again: the revealed cell has no hx-preserve, masked cells do.
    expect(response.body).not.toMatch(/id="phone-\d+"[^>]*hx-preserve/);

    const rows = await audits();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: 'local', action: 'reveal-phone', taskId, leadRowId: leadIds[0], outcome: 'ok', detail: 'phone-revealed via dashboard' });

    // The page stays masked, and its audit log says who revealed which lead.
    const after = await session.get(`/tasks/${taskId}`);
    expect(after.body).not.toContain('13711112222');
    expect(after.body).not.toContain('137-1111-2222');
    expect(after.body).toContain('显示号码');
  });

  it('needs the CSRF token: 403 without it, nothing revealed, nothing written', async () => {
    const { taskId, leadIds } = await givenPlainTask();
    await session.get(`/tasks/${taskId}`);
    const response = await session.post(`/tasks/${taskId}/leads/${leadIds[0]}/reveal-phone`, {}, { csrf: false, headers: HTMX });
    expect(response.statusCode).toBe(403);
    expect(response.body).not.toContain('137-1111-2222');
    expect(await audits()).toEqual([]);
  });

  it('answers 404 for an unknown lead or a lead of another task, 400 for a malformed id, and writes nothing', async () => {
    const { taskId, leadIds } = await givenPlainTask();
    const other = await givenTask(h.database.db, { name: 'other' });
    expect((await session.post(`/tasks/${taskId}/leads/999999/reveal-phone`, {}, { headers: HTMX })).statusCode).toBe(404);
    const foreign = await session.post(`/tasks/${other}/leads/${leadIds[0]}/reveal-phone`, {}, { headers: HTMX });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.body).not.toContain('1111-2222');
    expect((await session.post(`/tasks/${taskId}/leads/abc/reveal-phone`, {}, { headers: HTMX })).statusCode).toBe(400);
    expect((await session.post(`/tasks/abc/leads/${leadIds[0]}/reveal-phone`, {}, { headers: HTMX })).statusCode).toBe(400);
    expect(await audits()).toEqual([]);
  });

  it('works without htmx: the lead on a page of its own', async () => {
    const { taskId, leadIds } = await givenPlainTask();
    const response = await session.post(`/tasks/${taskId}/leads/${leadIds[1]}/reveal-phone`);
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('<html');
    expect(response.body).toContain('13733334444');
    expect(response.body).toContain(`href="/tasks/${taskId}"`);
  });
});

describe('POST /tasks/:id/leads/:leadId/retry-analysis', () => {
  it('rewrites the same follow record with a real remark and interest, audited, and answers with the row', async () => {
    const { taskId, leadIds } = await givenFailedAnalyses(2);
    const [before] = await leadsOf(h.database.db, taskId);
    const followsBefore = await followsOf(h.database.db);
    await session.get(`/tasks/${taskId}`);

    const response = await session.post(`/tasks/${taskId}/leads/${leadIds[0]}/retry-analysis`, {}, { headers: HTMX });

    expect(response.statusCode).toBe(200);
    expect(response.body).toMatch(new RegExp(`^<tbody id="lead-${leadIds[0]}"`));
    expect(response.body).toContain('AI 分析已完成，跟进记录已更新。');
    expect(response.body).not.toContain('/retry-analysis'); // no longer failed: no retry button
    const follows = await followsOf(h.database.db);
    expect(follows).toHaveLength(followsBefore.length); // no second record
    const [after, untouched] = await leadsOf(h.database.db, taskId);
    expect(after!.leadsFollowId).toBe(before!.leadsFollowId);
    const [record] = await h.database.db.select().from(dccLeadsFollow).where(eq(dccLeadsFollow.id, after!.leadsFollowId!));
    expect(record!.leadsRemark).not.toBe(ANALYSIS_FAILED_REMARK);
    expect(response.body).toContain(escapeHtml(record!.leadsRemark!));
    expect(after!.isInterested).toBe(1);
    // only that lead
    expect(untouched!.isInterested).toBe(0);
    expect((await statesOf(h.database.db, taskId)).map((s) => s.analysisStatus)).toEqual(['ok', 'failed']);

    const rows = await audits();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'retry-lead-analysis', taskId, leadRowId: leadIds[0], outcome: 'ok' });
    expect(rows[0]!.detail).toContain('succeeded 1');
  });

  it('refuses a lead whose analysis has not failed, and a second retry finds nothing to do', async () => {
    const { taskId, leadIds } = await givenFailedAnalyses(1);
    await session.post(`/tasks/${taskId}/leads/${leadIds[0]}/retry-analysis`, {}, { headers: HTMX });
    const runs = (await runsOf(h.database.db, taskId)).length;
    const asked = h.llm.requests.length;

    const again = await session.post(`/tasks/${taskId}/leads/${leadIds[0]}/retry-analysis`, {}, { headers: HTMX });
    expect(again.statusCode).toBe(409);
    expect(again.body).toContain('该线索的 AI 分析没有失败');
    expect(again.body).toMatch(new RegExp(`^<tbody id="lead-${leadIds[0]}"`));
    expect(h.llm.requests.length).toBe(asked);
    expect(await runsOf(h.database.db, taskId)).toHaveLength(runs);
    expect((await audits()).map((a) => a.outcome)).toEqual(['ok', 'refused']);
  });

  it('says the task is already being processed when another process holds its lease, and starts nothing', async () => {
    const { taskId, leadIds } = await givenFailedAnalyses(1);
    expect(await claimLease(h.database.db, taskId, 'host-b:777', 300)).toBe(true);
    const runs = (await runsOf(h.database.db, taskId)).length;
    const asked = h.llm.requests.length;

    const response = await session.post(`/tasks/${taskId}/leads/${leadIds[0]}/retry-analysis`, {}, { headers: HTMX });

    expect(response.statusCode).toBe(409);
    expect(response.body).toContain(`任务 ${taskId} 正在被 host-b:777 处理`);
    expect(h.llm.requests.length).toBe(asked);
    expect(await runsOf(h.database.db, taskId)).toHaveLength(runs);
    expect((await statesOf(h.database.db, taskId))[0]!.analysisStatus).toBe('failed');
    const rows = await audits();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'retry-lead-analysis', outcome: 'refused', leadRowId: leadIds[0] });
  });

  it('needs the CSRF token: 403 without it, no LLM call, no run, no audit row', async () => {
    const { taskId, leadIds } = await givenFailedAnalyses(1);
    const runs = (await runsOf(h.database.db, taskId)).length;
    const asked = h.llm.requests.length;
    await session.get(`/tasks/${taskId}`);
    const response = await session.post(`/tasks/${taskId}/leads/${leadIds[0]}/retry-analysis`, {}, { csrf: false, headers: HTMX });
    expect(response.statusCode).toBe(403);
    expect(h.llm.requests.length).toBe(asked);
    expect(await runsOf(h.database.db, taskId)).toHaveLength(runs);
    expect(await audits()).toEqual([]);
    expect((await statesOf(h.database.db, taskId))[0]!.analysisStatus).toBe('failed');
  });

  it('answers 404 for a lead of another task and changes nothing', async () => {
    const { taskId, leadIds } = await givenFailedAnalyses(1);
    const other = await givenTask(h.database.db, { name: 'other' });
    const response = await session.post(`/tasks/${other}/leads/${leadIds[0]}/retry-analysis`, {}, { headers: HTMX });
    expect(response.statusCode).toBe(404);
    expect(await audits()).toEqual([]);
    expect((await statesOf(h.database.db, taskId))[0]!.analysisStatus).toBe('failed');
  });

  it('shows the new error when the analysis fails again, and keeps the retry button', async () => {
    const { taskId, leadIds } = await givenFailedAnalyses(1);
    h.llm.failNext('invalid-answer');
    const response = await session.post(`/tasks/${taskId}/leads/${leadIds[0]}/retry-analysis`, {}, { headers: HTMX });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('AI 分析再次失败');
    expect(response.body).toContain(`/tasks/${taskId}/leads/${leadIds[0]}/retry-analysis`);
    expect((await audits())[0]).toMatchObject({ outcome: 'failed' });
    const [lead] = await leadsOf(h.database.db, taskId);
    const [record] = await h.database.db.select().from(dccLeadsFollow).where(eq(dccLeadsFollow.id, lead!.leadsFollowId!));
    expect(record!.leadsRemark).toBe(ANALYSIS_FAILED_REMARK);
  });
});
