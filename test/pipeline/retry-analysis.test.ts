// The dashboard's "retry analysis" (DESIGN §3.5): a failed LLM analysis is asked again and, on
// success, rewrites the SAME follow record and the lead's interest, unless a person changed them.
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { dccLeadsFollow, leadsTaskList } from '../../server/db/schema/crm.ts';
import { diagnoseTask } from '../../server/pipeline/diagnose.ts';
import { ANALYSIS_FAILED_REMARK } from '../../server/pipeline/follow-up-remarks.ts';
import { claimLease } from '../../server/pipeline/leases.ts';
import { processTask } from '../../server/pipeline/process-task.ts';
import { retryFailedAnalyses } from '../../server/pipeline/retry-analysis.ts';
import type { StepReport } from '../../server/pipeline/step-report.ts';
import { pauseTask } from '../../server/pipeline/task-pauses.ts';
import { followsOf, givenLeads, givenTask, leadsOf, runsOf, stageOf, statesOf } from '../helpers/builders.ts';
import { usePipelineHarness } from '../helpers/pipeline.ts';
import { randomPhones } from '../helpers/seeded-random.ts';

const h = usePipelineHarness();

type Kind = 'interested' | 'not-interested' | 'unclear';

/** A task whose calls all Succeeded and whose every analysis failed: basic records, stage 4. */
async function givenFailedAnalyses(kinds: Kind[]) {
  const group = h.sim.createJobGroup();
  const numbers = randomPhones(kinds.length);
  const taskId = await givenTask(h.database.db, { jobGroupId: group });
  const leadIds = await givenLeads(h.database.db, taskId, numbers.map((phone) => ({ phone })));
  h.sim.assignJobs(group, numbers.map((phone) => ({ phone }))).forEach((jobId, i) => h.sim.finishJob(jobId, { status: 'Succeeded', kind: kinds[i]! }));
  h.llm.failNext('invalid-answer', { times: kinds.length }); // not retried by the client: one failure per lead
  await processTask(h.deps(), taskId, { trigger: 'cli' });
  expect((await statesOf(h.database.db, taskId)).map((s) => s.analysisStatus)).toEqual(kinds.map(() => 'failed'));
  return { taskId, leadIds };
}

const retry = (taskId: number, leadRowId?: number, owner?: string) =>
  retryFailedAnalyses(h.deps(owner), taskId, { trigger: 'dashboard', ...(leadRowId === undefined ? {} : { leadRowId }) });

async function countFollows(): Promise<number> {
  const [[row]] = (await h.database.pool.query('SELECT COUNT(*) AS n FROM dcc_leads_follow')) as unknown as [[{ n: number }]];
  return Number(row.n);
}

describe('retryFailedAnalyses', () => {
  it('rewrites the same follow record and the interest, at stage 4, and finds nothing to retry the second time', async () => {
    const { taskId, leadIds } = await givenFailedAnalyses(['interested', 'unclear']);
    expect(await stageOf(h.database.db, taskId)).toBe(4);
    const followsBefore = await followsOf(h.database.db);
    const leadsBefore = await leadsOf(h.database.db, taskId);
    const asked = h.llm.requests.length;

    const result = await retry(taskId);

    expect(result).toMatchObject({ status: 'processed', retried: 2, succeeded: 2, stillFailed: 0, leftAlone: 0, outcome: 'ok' });
    expect(h.llm.requests.length).toBe(asked + 2);
    const follows = await followsOf(h.database.db);
    expect(follows.map((f) => f.id)).toEqual(followsBefore.map((f) => f.id)); // the same records, none added
    expect(await countFollows()).toBe(2);
    for (const f of follows) expect(f.leadsRemark).not.toBe(ANALYSIS_FAILED_REMARK);
    expect(follows[0]!.leadsRemark).toMatch(/意向/);
    // Only remark and next follow time change; the record's times stay as written.
    expect(follows.map(({ followTime, firstFollowTime, newFollowTime, leadsId }) => ({ followTime, firstFollowTime, newFollowTime, leadsId }))).toEqual(
      followsBefore.map(({ followTime, firstFollowTime, newFollowTime, leadsId }) => ({ followTime, firstFollowTime, newFollowTime, leadsId })),
    );
    const leads = await leadsOf(h.database.db, taskId);
    expect(leads.map((l) => l.isInterested)).toEqual([1, 0]);
    expect(leads.map((l) => l.leadsFollowId)).toEqual(leadsBefore.map((l) => l.leadsFollowId));
    expect(leads[1]).toEqual(leadsBefore[1]); // interest 0 again: the lead row is not written at all
    expect(leads.map((l) => l.updatedTime)).toEqual(leadsBefore.map((l) => l.updatedTime));
    expect((await statesOf(h.database.db, taskId)).map((s) => [s.leadRowId, s.analysisStatus, s.analysisError])).toEqual([
      [leadIds[0], 'ok', null],
      [leadIds[1], 'ok', null],
    ]);
    expect(await stageOf(h.database.db, taskId)).toBe(4);
    expect((await diagnoseTask(h.deps(), taskId))!.leadReasons['analysis-failed']).toBe(0);

    const run = (await runsOf(h.database.db, taskId)).at(-1)!;
    expect(run).toMatchObject({ id: result.runId, trigger: 'dashboard', outcome: 'ok', stageBefore: 4, stageAfter: 4 });
    const steps = JSON.parse(run.steps!) as StepReport[];
    expect(steps.map((s) => [s.step, s.counts])).toEqual([['create_leads_follow', { retried: 2, succeeded: 2, stillFailed: 0, leftAlone: 0 }]]);
    expect(await h.database.pool.query('SELECT owner FROM af_task_leases WHERE task_id = ?', [taskId]).then(([rows]) => rows)).toEqual([{ owner: null }]);

    const runs = (await runsOf(h.database.db, taskId)).length;
    expect(await retry(taskId)).toEqual({ status: 'nothing-to-retry', retried: 0, succeeded: 0, stillFailed: 0, leftAlone: 0 });
    expect(h.llm.requests.length).toBe(asked + 2);
    expect(await runsOf(h.database.db, taskId)).toHaveLength(runs);
  });

  it('records the tokens of a re-run on top of the first analysis, for the lead and for the cost per task and day', async () => {
    const { taskId } = await givenFailedAnalyses(['interested', 'unclear']);
    const activity = async () => {
      const [[row]] = (await h.database.pool.query(
        'SELECT COALESCE(SUM(analyses), 0) AS analyses, COALESCE(SUM(input_tokens), 0) AS input, COALESCE(SUM(output_tokens), 0) AS output FROM af_task_activity WHERE task_id = ?', [taskId],
      )) as unknown as [[{ analyses: number; input: number; output: number }]];
      return { analyses: Number(row.analyses), input: Number(row.input), output: Number(row.output) };
    };
    const sum = (values: Array<number | null>) => values.reduce<number>((total, v) => total + (v ?? 0), 0);
    const before = await statesOf(h.database.db, taskId);
    const first = await activity();
    expect(first).toEqual({ analyses: 2, input: sum(before.map((s) => s.inputTokens)), output: sum(before.map((s) => s.outputTokens)) });
    const asked = h.llm.requests.length;

    expect(await retry(taskId)).toMatchObject({ succeeded: 2 });

    // The simulator counts a prompt's tokens as the length of its messages in JSON.
    const retryInput = sum(h.llm.requests.slice(asked).map((r) => JSON.stringify(r.body.messages).length));
    const after = await statesOf(h.database.db, taskId);
    after.forEach((s, i) => {
      expect(s.inputTokens!).toBeGreaterThan(before[i]!.inputTokens!);
      expect(s.outputTokens!).toBeGreaterThan(before[i]!.outputTokens!);
    });
    expect(sum(after.map((s) => s.inputTokens)) - sum(before.map((s) => s.inputTokens))).toBe(retryInput);
    expect(await activity()).toEqual({
      analyses: 4,
      input: sum(after.map((s) => s.inputTokens)),
      output: sum(after.map((s) => s.outputTokens)),
    });
  });

  it('leaves a follow record or an interest a person changed exactly as it is, and does not offer it again', async () => {
    const { taskId, leadIds } = await givenFailedAnalyses(['interested', 'interested', 'interested']);
    const [edited, decided, untouched] = await leadsOf(h.database.db, taskId);
    await h.database.db.update(dccLeadsFollow).set({ leadsRemark: '已电话回访，客户下周到店' }).where(eq(dccLeadsFollow.id, edited!.leadsFollowId!));
    await h.database.db.update(leadsTaskList).set({ isInterested: 2 }).where(eq(leadsTaskList.id, decided!.id));
    const asked = h.llm.requests.length;

    expect(await retry(taskId)).toMatchObject({ status: 'processed', retried: 3, succeeded: 1, stillFailed: 0, leftAlone: 2 });

    expect(h.llm.requests.length).toBe(asked + 1); // a lead a person took over is not even analysed
    const follows = new Map((await followsOf(h.database.db)).map((f) => [f.id, f.leadsRemark]));
    const leads = await leadsOf(h.database.db, taskId);
    expect(follows.get(edited!.leadsFollowId!)).toBe('已电话回访，客户下周到店');
    expect(leads[0]!.isInterested).toBe(0);
    expect(follows.get(decided!.leadsFollowId!)).toBe(ANALYSIS_FAILED_REMARK);
    expect(leads[1]!.isInterested).toBe(2);
    expect(follows.get(untouched!.leadsFollowId!)).not.toBe(ANALYSIS_FAILED_REMARK);
    expect(leads[2]!.isInterested).toBe(1);
    expect((await statesOf(h.database.db, taskId)).map((s) => s.analysisStatus)).toEqual(['superseded', 'superseded', 'ok']);
    expect(leadIds).toHaveLength(3);
    expect((await retry(taskId)).status).toBe('nothing-to-retry');
  });

  it('leaves a follow record alone when a person set only its next follow time', async () => {
    const { taskId } = await givenFailedAnalyses(['interested']);
    const [scheduled] = await leadsOf(h.database.db, taskId);
    await h.database.db.update(dccLeadsFollow).set({ nextFollowTime: '2026-12-24 10:00:00' }).where(eq(dccLeadsFollow.id, scheduled!.leadsFollowId!));
    const asked = h.llm.requests.length;

    expect(await retry(taskId)).toMatchObject({ status: 'processed', retried: 1, succeeded: 0, leftAlone: 1 });

    expect(h.llm.requests.length).toBe(asked);
    const record = (await followsOf(h.database.db)).find((f) => f.id === scheduled!.leadsFollowId);
    expect(record).toMatchObject({ leadsRemark: ANALYSIS_FAILED_REMARK, nextFollowTime: '2026-12-24 10:00:00' });
    expect((await leadsOf(h.database.db, taskId))[0]!.isInterested).toBe(0);
  });

  it('drops the answer when a person edits the follow record while the LLM is thinking', async () => {
    const { taskId } = await givenFailedAnalyses(['interested']);
    const [lead] = await leadsOf(h.database.db, taskId);
    const asked = h.llm.requests.length;
    h.llm.failNext('slow', { delayMs: 400 });
    const running = retry(taskId);
    while (h.llm.requests.length === asked) await new Promise((resolve) => setImmediate(resolve));
    await h.database.db.update(dccLeadsFollow).set({ leadsRemark: '人工备注' }).where(eq(dccLeadsFollow.id, lead!.leadsFollowId!));

    expect(await running).toMatchObject({ status: 'processed', retried: 1, succeeded: 0, leftAlone: 1 });
    expect((await followsOf(h.database.db)).map((f) => f.leadsRemark)).toEqual(['人工备注']);
    expect((await leadsOf(h.database.db, taskId))[0]!.isInterested).toBe(0);
    expect((await statesOf(h.database.db, taskId))[0]!.analysisStatus).toBe('superseded');
  });

  it('keeps an analysis that fails again marked failed, with the new error, in a partial run', async () => {
    const { taskId } = await givenFailedAnalyses(['interested']);
    const [before] = await statesOf(h.database.db, taskId);
    h.llm.failNext('bad-request');

    const result = await retry(taskId);

    expect(result).toMatchObject({ status: 'processed', retried: 1, succeeded: 0, stillFailed: 1, leftAlone: 0, outcome: 'partial' });
    const [after] = await statesOf(h.database.db, taskId);
    expect(after!.analysisStatus).toBe('failed');
    expect(after!.analysisError).not.toBe(before!.analysisError);
    expect((await followsOf(h.database.db)).map((f) => f.leadsRemark)).toEqual([ANALYSIS_FAILED_REMARK]);
    expect((await runsOf(h.database.db, taskId)).at(-1)).toMatchObject({ outcome: 'partial', errorCode: 'AnalysisFailed' });
    // Still offered: the next retry succeeds.
    expect(await retry(taskId)).toMatchObject({ succeeded: 1, stillFailed: 0 });
  });

  it('retries only the lead it is given, and tells a stranger lead or a lead without failure apart', async () => {
    const { taskId, leadIds } = await givenFailedAnalyses(['interested', 'interested']);
    const other = await givenTask(h.database.db, { taskType: 4, jobGroupId: 'g' });
    const [stranger] = await givenLeads(h.database.db, other, [{ phone: '13700000001' }]);

    expect(await retry(taskId, leadIds[1])).toMatchObject({ status: 'processed', retried: 1, succeeded: 1 });
    expect((await statesOf(h.database.db, taskId)).map((s) => s.analysisStatus)).toEqual(['failed', 'ok']);
    expect((await leadsOf(h.database.db, taskId)).map((l) => l.isInterested)).toEqual([0, 1]);

    expect(await retry(taskId, leadIds[1])).toMatchObject({ status: 'nothing-to-retry' });
    expect(await retry(taskId, stranger)).toMatchObject({ status: 'not-found', retried: 0 });
    expect(await retry(taskId, 987_654)).toMatchObject({ status: 'not-found' });
    expect(await retry(987_654)).toMatchObject({ status: 'not-found' });
    expect((await statesOf(h.database.db, taskId)).map((s) => s.analysisStatus)).toEqual(['failed', 'ok']);
  });

  it('refuses while another process holds the lease, or the task is paused, and changes nothing', async () => {
    const { taskId } = await givenFailedAnalyses(['interested']);
    const asked = h.llm.requests.length;
    const runs = (await runsOf(h.database.db, taskId)).length;
    await claimLease(h.database.db, taskId, 'someone-else', 300);

    expect(await retry(taskId)).toEqual({ status: 'leased-elsewhere', retried: 0, succeeded: 0, stillFailed: 0, leftAlone: 0 });

    await h.database.pool.query('UPDATE af_task_leases SET owner = NULL, expires_at = NULL WHERE task_id = ?', [taskId]);
    await pauseTask(h.database.db, taskId, 'alice');
    expect((await retry(taskId)).status).toBe('paused');

    expect(h.llm.requests.length).toBe(asked);
    expect(await runsOf(h.database.db, taskId)).toHaveLength(runs);
    expect((await statesOf(h.database.db, taskId))[0]!.analysisStatus).toBe('failed');
    expect((await followsOf(h.database.db)).map((f) => f.leadsRemark)).toEqual([ANALYSIS_FAILED_REMARK]);
  });
});
