// Issue 12: autofollow uses the quotas it is given, and never more. Outbound Bot requests run
// concurrently up to OUTBOUNDBOT_MAX_IN_FLIGHT with no more than OUTBOUNDBOT_QPS starts in any
// second; LLM analyses keep LLM_CONCURRENCY in flight without page barriers, and throttling shrinks
// the concurrency instead of failing analyses. Behavioural limits only: speed is bench/quotas.ts's.
import { describe, expect, it, vi } from 'vitest';
import { createJobIdsWritten } from '../../server/pipeline/job-ids-written.ts';
import { processTask } from '../../server/pipeline/process-task.ts';
import { syncCallResults } from '../../server/pipeline/sync-call-results.ts';
import { ANALYSIS_FAILED_REMARK } from '../../server/pipeline/follow-up-remarks.ts';
import { followsOf, givenLeads, givenTask, leadsOf, phones, statesOf } from '../helpers/builders.ts';
import { usePipelineHarness } from '../helpers/pipeline.ts';

const QPS = 20;
const MAX_IN_FLIGHT = 4;
const LLM_CONCURRENCY = 4;
const h = usePipelineHarness({ OUTBOUNDBOT_QPS: String(QPS), OUTBOUNDBOT_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT), LLM_CONCURRENCY: String(LLM_CONCURRENCY) });
const process = (taskId: number) => processTask(h.deps(), taskId, { trigger: 'cli' });

let phoneBlock = 500_000;
/** A task of n leads whose jobs are all Succeeded with a conversation (or Failed, when asked). */
async function givenFinishedTask(n: number, status: 'Succeeded' | 'Failed' = 'Succeeded') {
  const group = h.sim.createJobGroup();
  const numbers = phones(n, (phoneBlock += 10_000));
  const taskId = await givenTask(h.database.db, { jobGroupId: group });
  await givenLeads(h.database.db, taskId, numbers.map((phone) => ({ phone })));
  const jobIds = h.sim.assignJobs(group, numbers.map((phone) => ({ phone })));
  for (const jobId of jobIds) {
    h.sim.finishJob(jobId, status === 'Failed' ? { status, failureReason: 'NoAnswer', taskStatus: 'NoAnswer' } : { status, kind: 'interested' });
  }
  return { taskId, jobIds };
}

/** The most of `times` within any window of `windowMs`. */
function densest(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  return Math.max(0, ...sorted.map((at) => sorted.filter((other) => other >= at && other < at + windowMs).length));
}

describe('Outbound Bot requests in flight up to the quota (issue 12)', () => {
  it('lists and fetches pages concurrently, never above OUTBOUNDBOT_MAX_IN_FLIGHT nor OUTBOUNDBOT_QPS starts in any second, and loses no page', async () => {
    const { taskId, jobIds } = await givenFinishedTask(300, 'Failed');
    h.sim.capPageSize(10); // 30 listing pages, then 4 ListJobs batches: well over a second at 20 a second
    h.sim.setLatency(100);
    const run = await process(taskId);
    expect(run.outcome).toBe('ok');

    const arrivals = h.sim.requests.map((r) => r.at);
    expect(arrivals.length).toBeGreaterThanOrEqual(34);
    expect(densest(arrivals, 1000)).toBeLessThanOrEqual(QPS);
    expect(h.sim.maxInFlight).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    expect(h.sim.maxInFlight).toBeGreaterThan(1); // one at a time would use a third of the quota at this latency
    const leads = await leadsOf(h.database.db, taskId);
    expect(leads.map((l) => l.callJobId)).toEqual(jobIds);
    expect(leads.every((l) => l.callStatus === 'Failed')).toBe(true);
  });
});

describe('the two sync steps overlap (issue 12)', () => {
  const held = (taskId: number) => ({ taskId, check() {}, async renew() {}, stop() {} });
  const listedJobIds = () => h.sim.requests.filter((r) => r.action === 'ListJobs').flatMap((r) => Object.entries(r.params).filter(([k]) => k.startsWith('JobId')).map(([, v]) => v));

  it('query_task_execution asks only for leads under the job-id mark, then for the rest once the mark is lifted', async () => {
    const { taskId, jobIds } = await givenFinishedTask(250, 'Failed');
    const leadIds = (await leadsOf(h.database.db, taskId)).map((l) => l.id);
    // The rows hold their jobs, but sync_call_job_ids has only vouched for the first 120 of them.
    for (const [i, id] of leadIds.entries()) await h.database.pool.query('UPDATE leads_task_list SET call_job_id = ? WHERE id = ?', [jobIds[i], id]);
    const mark = createJobIdsWritten();
    mark.writtenThrough(leadIds[119]!);
    const task = { id: taskId, name: 't', taskType: 2, jobGroupId: null };
    const run = syncCallResults(h.deps(), task, held(taskId), mark);
    // The one full page under the mark is fetched and stored; the 21 leads after it wait for the mark.
    await vi.waitFor(async () => expect((await leadsOf(h.database.db, taskId)).filter((l) => l.callStatus === 'Failed')).toHaveLength(99), { timeout: 5000, interval: 20 });
    expect(listedJobIds()).toEqual(jobIds.slice(0, 99));
    mark.writtenThrough(Infinity);
    await run;
    expect(listedJobIds().sort()).toEqual([...jobIds].sort());
    expect((await leadsOf(h.database.db, taskId)).every((l) => l.callStatus === 'Failed')).toBe(true);
  });

  it('stops taking pages when sync_call_job_ids fails, with its error', async () => {
    const { taskId } = await givenFinishedTask(5);
    const mark = createJobIdsWritten();
    const run = syncCallResults(h.deps(), { id: taskId, name: 't', taskType: 2, jobGroupId: null }, held(taskId), mark);
    mark.failed(new Error('listing broke'));
    await expect(run).rejects.toThrow('listing broke');
    expect(h.sim.requests.filter((r) => r.action === 'ListJobs')).toHaveLength(0);
  });
});

describe('LLM without page barriers (issue 12)', () => {
  it('keeps LLM_CONCURRENCY analyses in flight and writes the others while one answer is slow', async () => {
    const { taskId } = await givenFinishedTask(24);
    await process(taskId); // job ids and statuses: the analyses below start from stage 3
    await h.database.pool.query('UPDATE leads_task_list SET leads_follow_id = NULL, is_interested = NULL WHERE task_id = ?', [taskId]);
    await h.database.pool.query('DELETE FROM dcc_leads_follow');
    await h.database.pool.query('UPDATE call_tasks SET task_type = 3 WHERE id = ?', [taskId]);
    h.llm.setLatency(40);
    h.llm.failNext('slow', { delayMs: 4000 });
    const run = process(taskId);
    // The slow answer is still out while every other lead already has its record.
    await vi.waitFor(async () => expect(await followsOf(h.database.db)).toHaveLength(23), { timeout: 3500, interval: 50 });
    expect(h.llm.inFlight).toBe(1);
    expect((await run).outcome).toBe('ok');
    expect(await followsOf(h.database.db)).toHaveLength(24);
    expect(h.llm.maxInFlight).toBe(LLM_CONCURRENCY);
  });

  it('turns no throttled call into a failed analysis: against a quota the concurrency shrinks and every analysis succeeds', async () => {
    const { taskId } = await givenFinishedTask(12);
    h.llm.setQuota(120); // 2 a second; LLM_CONCURRENCY 4 at 40 ms would ask for far more
    h.llm.setLatency(40);
    const run = await process(taskId);
    expect(run.outcome).toBe('ok');
    expect(h.llm.throttled).toBeGreaterThan(0);
    const states = await statesOf(h.database.db, taskId);
    expect(states.map((s) => s.analysisStatus)).toEqual(Array(12).fill('ok'));
    expect((await followsOf(h.database.db)).every((f) => f.leadsRemark !== ANALYSIS_FAILED_REMARK)).toBe(true);
  }, 30_000);

  it("records the API's token usage of every analysis, for the cost per task and day", async () => {
    const { taskId } = await givenFinishedTask(3);
    await process(taskId);
    const states = await statesOf(h.database.db, taskId);
    expect(states).toHaveLength(3);
    for (const s of states) {
      expect(s.inputTokens).toBeGreaterThan(50);
      expect(s.outputTokens).toBeGreaterThan(5);
    }
  });
});
