// Issue 7 §7: run history stays bounded however badly a task goes, and a pass that changed nothing
// leaves no run row.
import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createSession, IDLE_MINUTES, readSession } from '../../server/access/sessions.ts';
import { sessions, taskRuns } from '../../server/db/schema/app.ts';
import { leadsTaskList } from '../../server/db/schema/crm.ts';
import { diagnoseTask } from '../../server/pipeline/diagnose.ts';
import { maskPhone } from '../../server/phone.ts';
import { processTask } from '../../server/pipeline/process-task.ts';
import { MAX_ERROR_CHARS, MAX_STEP_ERRORS, type StepReport } from '../../server/pipeline/step-report.ts';
import { pruneRunHistory, RUNS_KEPT_PER_TASK } from '../../server/pipeline/task-runs.ts';
import { createScheduler } from '../../server/scheduler/scheduler.ts';
import { givenLeads, givenTask, phones, runsOf, statesOf } from '../helpers/builders.ts';
import { usePipelineHarness } from '../helpers/pipeline.ts';

const h = usePipelineHarness();

describe('a run row stays bounded', () => {
  it('records the run of a 5,000-lead task whose every status page fails, and diagnose still answers', async () => {
    const group = h.sim.createJobGroup();
    const taskId = await givenTask(h.database.db, { jobGroupId: group });
    const numbers = phones(5000, 700_000);
    await h.database.db.insert(leadsTaskList).values(numbers.map((phone, i) => ({ taskId, leadsId: 50_000 + i, leadsPhone: phone, callJobId: `job-${i}` })));
    h.sim.failNext('business-error', { action: 'ListJobs', code: 'InvalidParameter.JobId', times: 1000 });
    const result = await processTask(h.deps(), taskId, { trigger: 'cli' });
    expect(result.outcome).toBe('partial');

    const [run] = await runsOf(h.database.db, taskId);
    const steps = JSON.parse(run!.steps!) as StepReport[];
    const status = steps.find((s) => s.step === 'query_task_execution')!;
    expect(status.counts.pagesFailed).toBe(51);
    expect(status.errors).toHaveLength(MAX_STEP_ERRORS);
    expect(status.errorsOmitted).toBe(51 - MAX_STEP_ERRORS);
    expect(status.errors.every((e) => e.message.length <= MAX_ERROR_CHARS)).toBe(true);
    expect(run!.steps!.length).toBeLessThan(20_000);

    const diagnosis = await diagnoseTask(h.deps(), taskId);
    expect(diagnosis!.leadReasons['api-error']).toBe(5000);
    expect(diagnosis!.lastRuns[0]!.id).toBe(run!.id);
  });
});

describe('stored error messages', () => {
  it('mask a phone a business error quotes, in the run history and in the lead\'s last API error, as the logs do', async () => {
    const group = h.sim.createJobGroup();
    const taskId = await givenTask(h.database.db, { jobGroupId: group });
    const [phone] = phones(1, 900_000);
    await givenLeads(h.database.db, taskId, [{ phone: phone! }]);
    h.sim.assignJobs(group, [{ phone: phone! }]);
    await processTask(h.deps(), taskId, { trigger: 'cli' }); // the job id is synced
    h.sim.failNext('business-error', { action: 'ListJobs', code: 'InvalidParameter.JobId', message: `The job of +86 ${phone} is not valid.` });
    expect((await processTask(h.deps(), taskId, { trigger: 'cli' })).outcome).toBe('partial');

    const stored = JSON.stringify([await runsOf(h.database.db, taskId), await statesOf(h.database.db, taskId)]);
    expect(stored).toContain(`The job of ${maskPhone(phone)} is not valid.`);
    expect(stored).not.toContain(phone!.slice(3));
  });
});

describe('a pass that changed nothing', () => {
  it('adds no run row; one that learned something does', async () => {
    const group = h.sim.createJobGroup();
    const taskId = await givenTask(h.database.db, { jobGroupId: group });
    const numbers = phones(3, 800_000);
    await givenLeads(h.database.db, taskId, numbers.map((phone) => ({ phone })));
    const jobIds = h.sim.assignJobs(group, numbers.map((phone) => ({ phone })));
    const process = () => processTask(h.deps(), taskId, { trigger: 'schedule' });
    await process(); // syncs the job ids
    expect(await runsOf(h.database.db, taskId)).toHaveLength(1);
    await process();
    await process();
    expect(await runsOf(h.database.db, taskId)).toHaveLength(1);
    h.sim.startJob(jobIds[0]!); // Scheduling -> Executing: something new, kept
    await process();
    expect(await runsOf(h.database.db, taskId)).toHaveLength(2);
  });
});

describe('pruning', () => {
  async function givenRuns(taskId: number, n: number, daysAgo: number) {
    await h.database.db.insert(taskRuns).values(
      Array.from({ length: n }, () => ({
        taskId, owner: 'old', trigger: 'schedule', startedAt: sql`UTC_TIMESTAMP(3) - INTERVAL ${daysAgo} DAY`, outcome: 'ok', stageBefore: 2,
      })),
    );
  }
  const count = async (taskId: number) => (await h.database.db.select({ id: taskRuns.id }).from(taskRuns).where(eq(taskRuns.taskId, taskId))).length;

  it('deletes runs older than 30 days beyond the newest 200 of their task, and nothing else', async () => {
    await givenRuns(1, 250, 40);
    await givenRuns(1, 10, 1);
    await givenRuns(2, 50, 40);
    await givenRuns(3, 260, 5);
    expect(await pruneRunHistory(h.database.db)).toBe(60);
    expect(await count(1)).toBe(RUNS_KEPT_PER_TASK);
    expect(await count(2)).toBe(50);
    expect(await count(3)).toBe(260);
    expect(await pruneRunHistory(h.database.db)).toBe(0);
  });

  it('is done by the scheduler after a pass, with the dashboard sessions that ended', async () => {
    await givenRuns(9, 230, 31);
    const origin = { address: '127.0.0.1', userAgent: 'test' };
    const live = await createSession(h.database.db, { operatorId: null, name: 'live', role: 'admin' }, origin);
    await createSession(h.database.db, { operatorId: null, name: 'idle', role: 'admin' }, origin);
    await h.database.db.update(sessions).set({ lastSeenAt: sql`UTC_TIMESTAMP(3) - INTERVAL ${IDLE_MINUTES + 1} MINUTE` }).where(eq(sessions.name, 'idle'));
    const scheduler = createScheduler({ deps: h.deps('pruner'), log: h.deps().log, cron: '0 0 1 1 *', timeZone: 'UTC', pruneEveryMs: 0 });
    await scheduler.runNow('cli');
    await scheduler.stop(); // waits for the background work, pruning included
    expect(await count(9)).toBe(RUNS_KEPT_PER_TASK);
    expect((await h.database.db.select({ name: sessions.name }).from(sessions)).map((s) => s.name)).toEqual(['live']);
    expect(await readSession(h.database.db, live)).not.toBeNull();
  });
});
