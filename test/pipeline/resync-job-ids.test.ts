// The dashboard's "re-sync job ids": only the sync step and the stage check, under the task's lease,
// recorded as a run; leads marked "not in job group" are looked for again (DESIGN §3.6).
import { describe, expect, it } from 'vitest';
import { closeLeadsOperation } from '../../server/operations/close-leads.ts';
import { claimLease } from '../../server/pipeline/leases.ts';
import { processTask } from '../../server/pipeline/process-task.ts';
import { resyncJobIds } from '../../server/pipeline/resync-job-ids.ts';
import type { StepReport } from '../../server/pipeline/step-report.ts';
import { pauseTask } from '../../server/pipeline/task-pauses.ts';
import { givenLeads, givenTask, leadsOf, runsOf, stageOf, statesOf } from '../helpers/builders.ts';
import { usePipelineHarness } from '../helpers/pipeline.ts';
import { randomPhones } from '../helpers/seeded-random.ts';

const h = usePipelineHarness();

const resync = (taskId: number) => resyncJobIds(h.deps(), taskId, { trigger: 'dashboard' });

describe('resyncJobIds', () => {
  it('finds a lead added to the job group after it was marked not in group, and runs nothing but the sync', async () => {
    const group = h.sim.createJobGroup();
    const [called, stillCalling, late] = randomPhones(3);
    const taskId = await givenTask(h.database.db, { jobGroupId: group });
    const leadIds = await givenLeads(h.database.db, taskId, [{ phone: called! }, { phone: stillCalling! }, { phone: late! }]);
    const [calledJob, callingJob] = h.sim.assignJobs(group, [{ phone: called! }, { phone: stillCalling! }]);
    h.sim.finishJob(calledJob!, { status: 'Failed', failureReason: 'NoAnswer' });
    await processTask(h.deps(), taskId, { trigger: 'cli' });
    expect((await statesOf(h.database.db, taskId)).find((s) => s.leadRowId === leadIds[2])?.notInGroupSince).toBeInstanceOf(Date);

    // The operator adds the missing lead to the group; meanwhile the other call ends too.
    const [lateJob] = h.sim.assignJobs(group, [{ phone: late! }]);
    h.sim.finishJob(callingJob!, { status: 'Failed', failureReason: 'Busy' });
    h.sim.resetRequests();
    const result = await resync(taskId);

    expect(result).toMatchObject({ taskId, status: 'processed', outcome: 'ok', stageBefore: 2, stageAfter: 2 });
    const leads = await leadsOf(h.database.db, taskId);
    expect(leads[2]!.callJobId).toBe(lateJob);
    expect((await statesOf(h.database.db, taskId)).find((s) => s.leadRowId === leadIds[2])?.notInGroupSince).toBeNull();
    // Only the sync step ran: the finished call's status was not fetched, no follow record was written.
    expect(new Set(h.sim.requests.map((r) => r.action))).toEqual(new Set(['ListJobsByGroup']));
    expect(leads[1]).toMatchObject({ callStatus: null, leadsFollowId: null });

    const run = (await runsOf(h.database.db, taskId)).at(-1)!;
    expect(run).toMatchObject({ id: result.runId, trigger: 'dashboard', outcome: 'ok', stageBefore: 2, stageAfter: 2 });
    const steps = JSON.parse(run.steps!) as StepReport[];
    expect(steps.map((s) => s.step)).toEqual(['sync_call_job_ids', 'check_and_update_task_status']);
    expect(steps[0]!.counts).toMatchObject({ marksCleared: 1, matched: 1 });
    expect(await h.database.pool.query('SELECT owner FROM af_task_leases WHERE task_id = ?', [taskId]).then(([rows]) => rows)).toEqual([{ owner: null }]);
  });

  it('moves the stage as processTask does, but not after a failed page', async () => {
    const group = h.sim.createJobGroup();
    const [done, absent] = randomPhones(2);
    const [doneJob] = h.sim.assignJobs(group, [{ phone: done! }]);
    const taskId = await givenTask(h.database.db, { taskType: 3, jobGroupId: group });
    const [, absentId] = await givenLeads(h.database.db, taskId, [
      { phone: done!, callJobId: doneJob!, callStatus: 'Failed', leadsFollowId: 1, isInterested: 0 },
      { phone: absent! },
    ]);

    h.sim.failNext('business-error', { action: 'ListJobsByGroup', code: 'InvalidParameter' });
    const failed = await resync(taskId);
    expect(failed).toMatchObject({ status: 'processed', outcome: 'partial', stageAfter: 3 });
    expect(await stageOf(h.database.db, taskId)).toBe(3);
    expect((await statesOf(h.database.db, taskId)).find((s) => s.leadRowId === absentId)?.notInGroupSince ?? null).toBeNull();

    // A complete listing shows the lead absent: marked, and it no longer holds the task at stage 3.
    const clean = await resync(taskId);
    expect(clean).toMatchObject({ status: 'processed', outcome: 'ok', stageBefore: 3, stageAfter: 4 });
    expect((await statesOf(h.database.db, taskId)).find((s) => s.leadRowId === absentId)?.notInGroupSince).toBeInstanceOf(Date);
    expect((await runsOf(h.database.db, taskId)).map((r) => r.outcome)).toEqual(['partial', 'ok']);
  });

  it('lets a task finish after a lead a person closed as not in group loses its mark to a re-sync', async () => {
    // The closed lead keeps no job id and no final status, and a re-sync clears its mark (the sync
    // never marks a lead with a follow record again): it must not count as waiting for a job id.
    const group = h.sim.createJobGroup();
    const [called, absent] = randomPhones(2);
    const taskId = await givenTask(h.database.db, { jobGroupId: group });
    const [, absentId] = await givenLeads(h.database.db, taskId, [{ phone: called! }, { phone: absent! }]);
    const [calledJob] = h.sim.assignJobs(group, [{ phone: called! }]);
    await processTask(h.deps(), taskId, { trigger: 'cli' });
    const closed = await closeLeadsOperation(
      { pipeline: h.deps() }, { name: 'alice', role: 'operator', via: 'cli' }, taskId, { cause: 'not-in-group', remark: '号码有误', interest: 0 },
    );
    expect(closed).toMatchObject({ status: 'done', data: { closedIds: [absentId] } });

    h.sim.finishJob(calledJob!, { status: 'Failed', failureReason: 'NoAnswer' });
    expect(await resync(taskId)).toMatchObject({ outcome: 'ok' });
    expect((await statesOf(h.database.db, taskId)).find((s) => s.leadRowId === absentId)?.notInGroupSince).toBeNull();
    expect(await processTask(h.deps(), taskId, { trigger: 'cli' })).toMatchObject({ outcome: 'ok', stageAfter: 4 });
    expect(await stageOf(h.database.db, taskId)).toBe(4);
  });

  it('refuses a task at stage 1 or 4, a paused task, and one another process holds, without a run', async () => {
    const done = await givenTask(h.database.db, { taskType: 4, jobGroupId: 'g' });
    const notStarted = await givenTask(h.database.db, { taskType: 1, jobGroupId: 'g' });
    const paused = await givenTask(h.database.db, { taskType: 3, jobGroupId: 'g' });
    const held = await givenTask(h.database.db, { taskType: 2, jobGroupId: 'g' });
    await pauseTask(h.database.db, paused, 'alice');
    await claimLease(h.database.db, held, 'someone-else', 300);

    expect(await resync(done)).toMatchObject({ status: 'not-eligible', stageBefore: 4 });
    expect(await resync(notStarted)).toMatchObject({ status: 'not-eligible', stageBefore: 1 });
    expect(await resync(paused)).toMatchObject({ status: 'paused' });
    expect(await resync(held)).toMatchObject({ status: 'leased-elsewhere' });
    expect(await resync(987_654)).toEqual({ taskId: 987_654, status: 'not-found' });
    for (const taskId of [done, notStarted, paused, held]) expect(await runsOf(h.database.db, taskId)).toEqual([]);
    expect(h.sim.requests).toEqual([]);
  });
});
