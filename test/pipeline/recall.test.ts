// 重新外呼 (issue 10): leads whose call was cancelled, never made or failed get a new job, never
// twice; the task goes back to stage 2 while they call and ends at stage 4 with each lead followed once.
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { launches, supersededJobs } from '../../server/db/schema/app.ts';
import { callTasks } from '../../server/db/schema/crm.ts';
import { processTask } from '../../server/pipeline/process-task.ts';
import { recallLeads, type RecallRequest } from '../../server/pipeline/recall-leads.ts';
import { followsOf, givenLeads, givenTask, leadsOf, stageOf } from '../helpers/builders.ts';
import { usePipelineHarness } from '../helpers/pipeline.ts';
import { randomPhones } from '../helpers/seeded-random.ts';

const h = usePipelineHarness({ OUTBOUNDBOT_TIMEOUT_MS: '300' });
const request: RecallRequest = { actor: 'alice', trigger: 'cli', scriptId: null, callingNumbers: [], window: null };
const process = (taskId: number) => processTask(h.deps(), taskId, { trigger: 'cli' });

/** A task run to stage 4: the first two calls answered, the last `cancelled` jobs cancelled and closed out of the stage rule. */
async function givenFinishedTaskWithCancelledCalls(answered: number, cancelled: number) {
  const group = h.sim.createJobGroup();
  const numbers = randomPhones(answered + cancelled);
  const taskId = await givenTask(h.database.db, { jobGroupId: group });
  const leadIds = await givenLeads(h.database.db, taskId, numbers.map((phone) => ({ phone })));
  const jobIds = h.sim.assignJobs(group, numbers.map((phone, i) => ({ phone, referenceId: String(leadIds[i]) })));
  jobIds.slice(0, answered).forEach((id) => h.sim.finishJob(id, { status: 'Succeeded', kind: 'interested' }));
  jobIds.slice(answered).forEach((id) => h.sim.cancelJob(id));
  await process(taskId);
  await h.database.db.update(callTasks).set({ taskType: 4 }).where(eq(callTasks.id, taskId)); // as a person's closing of the task would
  return { group, taskId, leadIds, jobIds };
}

describe('recallLeads', () => {
  it('re-calls the cancelled leads of a finished task: back to stage 2, then stage 4 with every such lead followed once', async () => {
    const { group, taskId, leadIds, jobIds } = await givenFinishedTaskWithCancelledCalls(2, 3);
    // Every job of the group is final: Outbound Bot has completed it, so the new calls go into a new group.
    const result = await recallLeads(h.deps(), taskId, { ...request, causes: ['cancelled'] });
    expect(result).toMatchObject({ status: 'recalled', leads: 3, jobsCreated: 3, newJobGroup: true, stageBefore: 4, stageAfter: 2 });
    expect(await stageOf(h.database.db, taskId)).toBe(2);
    const [task] = await h.database.db.select().from(callTasks).where(eq(callTasks.id, taskId));
    expect(task!.jobGroupId).not.toBe(group);
    // A second re-call before any pass finds the new jobs and sends nothing.
    expect(await recallLeads(h.deps(), taskId, { ...request, causes: ['cancelled'] })).toMatchObject({ status: 'recalled', jobsCreated: 0, newJobGroup: false });
    expect(h.sim.jobsOf(task!.jobGroupId!)).toHaveLength(3);

    await process(taskId);
    const leads = await leadsOf(h.database.db, taskId);
    const newJobs = leads.slice(2).map((l) => l.callJobId!);
    expect(newJobs.every((id) => !jobIds.includes(id))).toBe(true);
    const superseded = await h.database.db.select().from(supersededJobs).where(eq(supersededJobs.taskId, taskId));
    expect(superseded.map((s) => s.jobId).sort()).toEqual(jobIds.slice(2).sort());

    newJobs.forEach((id) => h.sim.finishJob(id, { status: 'Failed', failureReason: 'NoAnswer' }));
    await process(taskId);
    expect(await stageOf(h.database.db, taskId)).toBe(4);
    const follows = await followsOf(h.database.db);
    expect(follows).toHaveLength(5);
    expect(new Set(follows.map((f) => f.leadsId)).size).toBe(5);
    expect((await leadsOf(h.database.db, taskId)).map((l) => l.leadsFollowId === null)).toEqual([false, false, false, false, false]);
    expect(leadIds).toHaveLength(5);
  });

  it('assigns into the task\'s own group while it still calls, and the leads follow their new jobs', async () => {
    const group = h.sim.createJobGroup();
    const numbers = randomPhones(3);
    const taskId = await givenTask(h.database.db, { jobGroupId: group });
    await givenLeads(h.database.db, taskId, numbers.map((phone) => ({ phone })));
    const jobIds = h.sim.assignJobs(group, numbers.map((phone) => ({ phone })));
    h.sim.cancelJob(jobIds[0]!);
    h.sim.startJob(jobIds[1]!);
    await process(taskId);
    const result = await recallLeads(h.deps(), taskId, { ...request, causes: ['cancelled'] });
    expect(result).toMatchObject({ status: 'recalled', leads: 1, jobsCreated: 1, newJobGroup: false, stageBefore: 2, stageAfter: 2 });
    await process(taskId);
    const [first] = await leadsOf(h.database.db, taskId);
    expect(first!.callJobId).toBe(h.sim.jobsOf(group).at(-1)!.jobId);
    expect(h.sim.jobsOf(group)).toHaveLength(4);
  });

  it('gives a lead never called a job in a new group when Outbound Bot has ended the old one by hand', async () => {
    const group = h.sim.createJobGroup();
    const taskId = await givenTask(h.database.db, { jobGroupId: group });
    const [leadId] = await givenLeads(h.database.db, taskId, [{ phone: randomPhones(1)[0]! }]);
    h.sim.endJobGroup(group);
    await process(taskId); // a complete listing without the lead: not in the job group
    const result = await recallLeads(h.deps(), taskId, { ...request, causes: ['not-in-group'], leadIds: [leadId!] });
    expect(result).toMatchObject({ status: 'recalled', leads: 1, jobsCreated: 1, newJobGroup: true });
    await process(taskId);
    const [task] = await h.database.db.select().from(callTasks).where(eq(callTasks.id, taskId));
    expect((await leadsOf(h.database.db, taskId))[0]!.callJobId).toBe(h.sim.jobsOf(task!.jobGroupId!)[0]!.jobId);
  });

  it('never re-calls a lead that has its follow record, and says when nothing is left', async () => {
    const { taskId, leadIds } = await givenFinishedTaskWithCancelledCalls(2, 0);
    expect(await recallLeads(h.deps(), taskId, { ...request, leadIds })).toEqual({ status: 'nothing-to-recall' });
    const [row] = await h.database.db.select().from(launches).where(eq(launches.taskId, taskId));
    expect(row).toBeUndefined();
  });
});
