// /stuck: each cause appears for a task built to have it, with the action that fixes it, and never
// for a healthy task; progress causes only at stages 2-3, analysis failures at any stage. "No
// progress" is read from the task's runs and its own row (see the header of dashboard/stuck.ts), no
// longer from its leads' updated_time: the tests of that definition say so where it matters.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { taskRuns } from '../../server/db/schema/app.ts';
import { findStuck, findStuckPage, LOOKBACK_RUNS, type StuckCause, type StuckCauseKind, type StuckTask } from '../../server/dashboard/stuck.ts';
import { translator } from '../../server/web/i18n/index.ts';
import { causeRenderer } from '../../server/web/routes/stuck.ts';
import type { StepReport } from '../../server/pipeline/step-report.ts';
import { givenTask } from '../helpers/builders.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { ageTask, arrangeLeads, CONVERSATION, crmAgo, givenLease, givenPause, givenRun, TZ } from './fixtures.ts';

let database: TestDatabase;
const STUCK_AFTER = 2 * 3600;
const OPTIONS = { stuckAfterSeconds: STUCK_AFTER, leaseSeconds: 300, limit: 50, timeZone: TZ };

beforeAll(async () => {
  database = await createTestDatabase();
});
beforeEach(async () => database.reset());
afterAll(async () => database?.drop());

/** A stage-2 task that is moving: a lead changed a minute ago and a run just succeeded. */
async function givenHealthyTask(name: string, taskType = 2): Promise<number> {
  const id = await givenTask(database.db, { name, taskType, jobGroupId: `g-${name}` });
  await arrangeLeads(database.db, id, [
    { phone: '13800000001', callJobId: `${name}-1`, updatedTime: crmAgo(60) },
    { phone: '13800000002', callJobId: `${name}-2`, callStatus: 'Succeeded', conversation: CONVERSATION, isInterested: 1, follow: { remark: '有意向' } },
    { phone: '13800000003', callJobId: `${name}-3`, callStatus: 'Succeeded', updatedTime: crmAgo(600) }, // waiting, but not for long
  ]);
  await givenRun(database.db, id, { outcome: 'ok', agoSeconds: 120 });
  return id;
}

/** A run as the pipeline records it: its stage before and after, and what its steps counted. */
async function givenRecordedRun(taskId: number, run: { outcome: string; agoSeconds: number; counts?: Partial<Record<StepReport['step'], Record<string, number>>>; stageAfter?: number }) {
  const steps = Object.entries(run.counts ?? { sync_call_job_ids: { pages: 1, matched: 0 }, query_task_execution: { leadsChecked: 3, statusesStored: 0 } })
    .map(([step, counts]) => ({ step, durationMs: 5, counts, errors: [], incomplete: run.outcome !== 'ok' }));
  await database.db.insert(taskRuns).values({
    taskId, owner: 'host-a:1', trigger: 'schedule', outcome: run.outcome, stageBefore: 2, stageAfter: run.stageAfter ?? 2, steps: JSON.stringify(steps),
    startedAt: sql`UTC_TIMESTAMP(3) - INTERVAL ${run.agoSeconds} SECOND`, finishedAt: sql`UTC_TIMESTAMP(3) - INTERVAL ${run.agoSeconds - 2} SECOND`,
  });
}

const kinds = (list: StuckTask[], id: number) => list.find((t) => t.id === id)?.causes.map((c) => c.kind) ?? [];

/** A cause's sentences as the English page shows them, and as the Chinese one does. */
const english = causeRenderer(translator('en'), TZ);
const chinese = causeRenderer(translator('zh'), TZ);
const text = (cause: StuckCause) => english(cause.details);

describe('findStuck', () => {
  it('finds nothing when every task is healthy, whatever its stage', async () => {
    await givenHealthyTask('a');
    await givenHealthyTask('b', 3);
    const done = await givenHealthyTask('done', 4);
    await ageTask(database.db, done, 86_400);
    expect(await findStuck(database.db, OPTIONS)).toEqual([]);
  });

  it('reports each cause on the task built to have it, with its fixing action', async () => {
    const healthy = await givenHealthyTask('healthy');
    const expiredLease = await givenHealthyTask('expired-lease');
    await givenLease(database.db, expiredLease, { owner: 'dead-host:1', acquiredAgo: 900, expiresIn: -600 });
    const longLease = await givenHealthyTask('long-lease');
    await givenLease(database.db, longLease, { owner: 'slow-host:2', acquiredAgo: 3 * 300 + 120, expiresIn: 200 });
    const shortLease = await givenHealthyTask('short-lease');
    await givenLease(database.db, shortLease, { owner: 'busy-host:3', acquiredAgo: 3 * 300 - 120, expiresIn: 200 });

    // Its last move: a partial run 3 h ago that stored a call result; since then a run failed.
    const idle = await givenTask(database.db, { name: 'idle', taskType: 3, jobGroupId: 'g-idle' });
    await arrangeLeads(database.db, idle, [{ phone: '13900000001', callJobId: 'i-1', callStatus: 'Failed', updatedTime: crmAgo(3 * 3600) }]);
    await ageTask(database.db, idle, 5 * 3600);
    await givenRecordedRun(idle, { outcome: 'partial', agoSeconds: 3 * 3600, counts: { query_task_execution: { leadsChecked: 1, statusesStored: 1 } } });
    await givenRun(database.db, idle, { outcome: 'failed', agoSeconds: 600, errorCode: 'Forbidden' });

    const apiLeads = await givenHealthyTask('api-leads');
    await arrangeLeads(database.db, apiLeads, [
      { phone: '13900000002', callJobId: 'a-1', state: { apiErrorCode: 'JobNotFound', apiErrorMessage: 'gone', apiErrorAt: new Date(Date.now() - 60_000) } },
    ]);
    const apiRuns = await givenHealthyTask('api-runs');
    for (const ago of [90, 60, 30]) await givenRun(database.db, apiRuns, { outcome: 'partial', agoSeconds: ago, errorCode: 'Throttling.User' });

    const noConversation = await givenHealthyTask('no-conversation');
    await arrangeLeads(database.db, noConversation, [
      { phone: '13900000003', callJobId: 'n-1', callStatus: 'Succeeded', updatedTime: crmAgo(STUCK_AFTER + 600) },
      { phone: '13900000004', callJobId: 'n-2', callStatus: 'Succeeded', updatedTime: crmAgo(STUCK_AFTER + 60) },
    ]);
    const notInGroup = await givenHealthyTask('not-in-group');
    await arrangeLeads(database.db, notInGroup, [{ phone: '13900000005', state: { notInGroupSince: new Date(Date.now() - 3_600_000) } }]);
    const cancelled = await givenHealthyTask('cancelled');
    await arrangeLeads(database.db, cancelled, [{ phone: '13900000006', callJobId: 'c-1', state: { lastJobStatus: 'Cancelled' } }]);
    const analysisDone = await givenTask(database.db, { name: 'analysis at stage 4', taskType: 4, jobGroupId: 'g-done' });
    await ageTask(database.db, analysisDone, 86_400);
    await arrangeLeads(database.db, analysisDone, [
      { phone: '13900000007', callJobId: 'd-1', callStatus: 'Succeeded', conversation: CONVERSATION, isInterested: 0, follow: { remark: 'AI 分析失败' }, state: { analysisStatus: 'failed', analysedAt: new Date() } },
    ]);

    const stuck = await findStuck(database.db, OPTIONS);
    const expected: Array<[number, StuckCauseKind[]]> = [
      [expiredLease, ['lease-expired']], [longLease, ['lease-held-long']], [idle, ['no-progress']], [apiLeads, ['api-errors']],
      [apiRuns, ['api-errors']], [noConversation, ['no-conversation']], [notInGroup, ['not-in-group']], [cancelled, ['job-cancelled']],
      [analysisDone, ['analysis-failed']],
    ];
    for (const [id, causes] of expected) expect(kinds(stuck, id), `task ${id}`).toEqual(causes);
    expect(kinds(stuck, healthy)).toEqual([]);
    expect(kinds(stuck, shortLease)).toEqual([]);
    expect(stuck).toHaveLength(expected.length);

    const cause = (id: number) => stuck.find((t) => t.id === id)!.causes[0]!;
    expect(cause(expiredLease)).toMatchObject({ action: 'break-lease', count: null });
    expect(text(cause(expiredLease))).toMatch(/dead-host:1 expired 10 min( \d+ s)? ago/);
    expect(cause(longLease)).toMatchObject({ action: 'break-lease', count: null });
    expect(cause(idle)).toMatchObject({ action: 'process', count: null });
    expect(Math.abs(Date.now() - cause(idle).since!.getTime() - 3 * 3600_000)).toBeLessThan(120_000);
    expect(text(cause(idle))).toMatch(/^Nothing has moved for 3 h: /);
    expect(cause(apiLeads)).toMatchObject({ action: 'process', count: 1 });
    expect(cause(apiRuns)).toMatchObject({ action: 'process', count: null });
    expect(text(cause(apiRuns))).toMatch(/last 3 runs ended partial, partial, partial\. Last error: Throttling.User\./);
    // Processing fetches the jobs again; a re-sync would only look for job ids.
    expect(cause(noConversation)).toMatchObject({ action: 'process', count: 2 });
    expect(Math.abs(Date.now() - cause(noConversation).since!.getTime() - (STUCK_AFTER + 600) * 1000)).toBeLessThan(120_000);
    expect(cause(notInGroup)).toMatchObject({ action: 'resync', count: 1 });
    expect(cause(cancelled)).toMatchObject({ action: 'none', count: 1 });
    expect(cause(analysisDone)).toMatchObject({ action: 'retry-analysis', count: 1 });
    for (const task of stuck) {
      for (const c of task.causes) {
        expect(text(c)).toMatch(/^[A-Z0-9]/);
        // Every fact filled in, in Chinese too: no placeholder left, no English sentence under a Chinese heading.
        expect(chinese(c.details)).not.toMatch(/\{\w+\}|[A-Za-z]{2,} [a-z]{2,} [a-z]{2,}/);
      }
    }
    // Task-level causes come first.
    expect(stuck.slice(0, 2).map((t) => t.id)).toEqual([expiredLease, longLease]);
  });

  it('does not call a paused task idle, nor a waiting task whose runs keep succeeding', async () => {
    const paused = await givenTask(database.db, { name: 'paused', taskType: 2, jobGroupId: 'g-p' });
    await arrangeLeads(database.db, paused, [{ phone: '13700000001', callJobId: 'p-1', updatedTime: crmAgo(86_400) }]);
    await ageTask(database.db, paused, 86_400);
    await givenPause(database.db, paused);
    const waiting = await givenTask(database.db, { name: 'waiting', taskType: 2, jobGroupId: 'g-w' });
    await arrangeLeads(database.db, waiting, [{ phone: '13700000002', callJobId: 'w-1', updatedTime: crmAgo(86_400) }]);
    await ageTask(database.db, waiting, 86_400);
    await givenRun(database.db, waiting, { outcome: 'ok', agoSeconds: 300 });
    expect(await findStuck(database.db, OPTIONS)).toEqual([]);
    await givenRun(database.db, waiting, { outcome: 'ok', agoSeconds: 0 }); // still fine
    await database.db.delete((await import('../../server/db/schema/app.ts')).taskPauses);
    expect((await findStuck(database.db, OPTIONS)).map((t) => [t.id, t.causes.map((c) => c.kind)])).toEqual([[paused, ['no-progress']]]);
  });

  it('counts lead-level progress causes only at stages 2-3, but never-called leads at any stage, and caps the list', async () => {
    const done = await givenTask(database.db, { name: 'done', taskType: 4, jobGroupId: 'g-d' });
    await ageTask(database.db, done, 86_400);
    await arrangeLeads(database.db, done, [
      { phone: '13600000002', callJobId: 'd-2', callStatus: 'Succeeded', updatedTime: crmAgo(86_400) },
      { phone: '13600000003', callJobId: 'd-3', state: { lastJobStatus: 'Cancelled', apiErrorCode: 'X' } },
    ]);
    expect(await findStuck(database.db, OPTIONS)).toEqual([]);
    // A task moves to stage 4 without leads its job group lacks (DESIGN §3.6); they were never
    // called and the task is no longer processed: listed as never called, for a person to handle.
    const doneWithout = await givenTask(database.db, { name: 'done without two', taskType: 4, jobGroupId: 'g-d2' });
    await arrangeLeads(database.db, doneWithout, [
      { phone: '13600000001', state: { notInGroupSince: new Date(Date.now() - 86_400_000) } },
      { phone: '13600000004', state: { notInGroupSince: new Date(Date.now() - 3_600_000) } },
      { phone: '13600000005', callJobId: 'd-5', state: { notInGroupSince: new Date(Date.now() - 3_600_000) } }, // found since
      { phone: '13600000006', callJobId: '', state: { notInGroupSince: new Date(Date.now() - 3_600_000) } }, // an empty job id is none
      { phone: '13600000007', isInterested: 1, state: { notInGroupSince: new Date(Date.now() - 7_200_000) } }, // a person decided already: not stuck
      { phone: '13600000008', callStatus: 'Failed', state: { notInGroupSince: new Date(Date.now() - 3_600_000) } }, // final: not waiting
    ]);
    const listed = await findStuck(database.db, OPTIONS);
    expect(listed.map((t) => [t.id, t.causes.map((c) => [c.kind, c.count, c.action])])).toEqual([[doneWithout, [['never-called', 3, 'none']]]]);
    expect(Math.abs(Date.now() - listed[0]!.causes[0]!.since!.getTime() - 86_400_000)).toBeLessThan(120_000);
    await database.db.delete((await import('../../server/db/schema/app.ts')).leadStates);
    for (let i = 0; i < 4; i++) {
      const id = await givenHealthyTask(`capped-${i}`);
      await givenLease(database.db, id, { owner: 'dead:1', acquiredAgo: 900, expiresIn: -60 });
    }
    const capped = await findStuckPage(database.db, { ...OPTIONS, limit: 3 });
    expect(capped.tasks).toHaveLength(3);
    expect(capped.total).toBe(4);
    // The same tasks and causes (ages move on between the two reads: compared without them).
    const withoutAges = (tasks: StuckTask[]) => JSON.parse(JSON.stringify(tasks, (key, value) => (key === 'ageMs' ? undefined : value)));
    expect(withoutAges(await findStuck(database.db, { ...OPTIONS, limit: 3 }))).toEqual(withoutAges(capped.tasks));
  });

  it('lists the most urgent first when it caps the list, and counts them all', async () => {
    const urgent = await givenHealthyTask('urgent'); // the oldest id: only its cause puts it first
    await givenLease(database.db, urgent, { owner: 'dead:1', acquiredAgo: 900, expiresIn: -60 });
    const missing: number[] = [];
    for (let i = 0; i < 4; i++) {
      const id = await givenHealthyTask(`missing-${i}`);
      await arrangeLeads(database.db, id, [{ phone: `1360000010${i}`, state: { notInGroupSince: new Date(Date.now() - 3_600_000) } }]);
      missing.push(id);
    }
    // A lease outlives a task deleted from the CRM: neither listed nor counted.
    await givenLease(database.db, missing[3]! + 1000, { owner: 'dead:2', acquiredAgo: 900, expiresIn: -60 });
    const page = await findStuckPage(database.db, { ...OPTIONS, limit: 3 });
    expect(page.total).toBe(5);
    expect(page.tasks.map((t) => t.id)).toEqual([urgent, missing[3], missing[2]]);
    expect(await findStuckPage(database.db, { ...OPTIONS, limit: 0 })).toEqual({ tasks: [], total: 5 });
  });

  describe('no progress, read from runs and the task row', () => {
    /** A stage-2 task whose row and leads last changed a day ago. */
    async function givenQuietTask(name: string): Promise<number> {
      const id = await givenTask(database.db, { name, taskType: 2, jobGroupId: `g-${name}` });
      await arrangeLeads(database.db, id, [{ phone: '13500000001', callJobId: `${name}-1`, updatedTime: crmAgo(86_400) }]);
      await ageTask(database.db, id, 86_400);
      return id;
    }
    const noProgress = async (id: number) => (await findStuck(database.db, OPTIONS)).find((t) => t.id === id)?.causes.find((c) => c.kind === 'no-progress');

    it('counts a run that wrote something as a move whatever its outcome, and one that wrote nothing as none', async () => {
      const writing = await givenQuietTask('writing');
      await givenRecordedRun(writing, { outcome: 'partial', agoSeconds: 600, counts: { sync_call_job_ids: { pages: 2, pagesFailed: 1, matched: 3 } } });
      const following = await givenQuietTask('following');
      await givenRecordedRun(following, { outcome: 'failed', agoSeconds: 600, counts: { create_leads_follow: { created: 1, analysisFailed: 1 } } });
      const advancing = await givenQuietTask('advancing');
      await givenRecordedRun(advancing, { outcome: 'partial', agoSeconds: 600, stageAfter: 3 });
      const idle = await givenQuietTask('idle');
      await givenRecordedRun(idle, { outcome: 'partial', agoSeconds: 600, counts: { sync_call_job_ids: { pages: 1, jobsListed: 40, matched: 0 }, create_leads_follow: { alreadyDone: 2 } } });
      await givenRecordedRun(idle, { outcome: 'running', agoSeconds: 30 });

      const stuck = await findStuck(database.db, OPTIONS);
      expect(stuck.map((t) => [t.id, t.causes.map((c) => c.kind)])).toEqual([[idle, ['no-progress']]]);
      // Its row changed a day ago; no run ever wrote anything.
      expect(Math.abs(Date.now() - stuck[0]!.causes[0]!.since!.getTime() - 86_400_000)).toBeLessThan(120_000);
    });

    it('no longer reads the leads: a lead changed outside autofollow does not count as a move (definition change)', async () => {
      const edited = await givenQuietTask('edited');
      await arrangeLeads(database.db, edited, [{ phone: '13500000002', callJobId: 'edited-2', updatedTime: crmAgo(60) }]);
      expect(await noProgress(edited)).toMatchObject({ action: 'process' });
      await ageTask(database.db, edited, 60); // its own row did change: that counts
      expect(await noProgress(edited)).toBeUndefined();
    });

    it(`looks back ${LOOKBACK_RUNS} runs for the last move, then says "at least"`, async () => {
      const quiet = await givenQuietTask('quiet');
      await ageTask(database.db, quiet, 30 * 86_400);
      await givenRecordedRun(quiet, { outcome: 'ok', agoSeconds: 20 * 86_400 });
      for (let i = 0; i < LOOKBACK_RUNS; i++) await givenRecordedRun(quiet, { outcome: 'failed', agoSeconds: 3 * 3600 + i * 600 });
      const bound = await noProgress(quiet);
      const oldestRead = 3 * 3600 + (LOOKBACK_RUNS - 1) * 600;
      expect(Math.abs(Date.now() - bound!.since!.getTime() - oldestRead * 1000)).toBeLessThan(120_000);
      expect(text(bound!)).toMatch(new RegExp(`^Nothing has moved for at least .*none of its last ${LOOKBACK_RUNS} runs`));

      await database.db.delete(taskRuns).where(sql`${taskRuns.startedAt} < UTC_TIMESTAMP(3) - INTERVAL ${3 * 3600 + 10 * 600} SECOND AND ${taskRuns.outcome} = 'failed'`);
      const exact = await noProgress(quiet); // now the ok run 20 days ago is within reach
      expect(Math.abs(Date.now() - exact!.since!.getTime() - 20 * 86_400_000)).toBeLessThan(120_000);
      expect(text(exact!)).toMatch(/^Nothing has moved for 20 d: /);
    });
  });
});
