// Launch (issue 10): a stage-1 task's leads become one job each in one job group, the task moves
// 1 -> 2, and an attempt whose answers were lost, started again, never creates a job twice.
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { launches } from '../../server/db/schema/app.ts';
import { callTasks } from '../../server/db/schema/crm.ts';
import { launchTask, type LaunchRequest } from '../../server/pipeline/launch-calls.ts';
import { givenLeads, givenTask, phones, stageOf } from '../helpers/builders.ts';
import { usePipelineHarness } from '../helpers/pipeline.ts';

const h = usePipelineHarness({ OUTBOUNDBOT_TIMEOUT_MS: '300' });
const request: LaunchRequest = { actor: 'alice', trigger: 'cli', scriptId: 'sim-script', callingNumbers: [], window: null };

async function givenStageOneTask(n: number) {
  const taskId = await givenTask(h.database.db, { taskType: 1, name: '四季度回访' });
  const ids = await givenLeads(h.database.db, taskId, phones(n).map((phone, i) => ({ phone, name: `客户${i}` })));
  return { taskId, ids };
}

async function taskRow(taskId: number) {
  const [row] = await h.database.db.select().from(callTasks).where(eq(callTasks.id, taskId));
  return row!;
}

/** One job per lead, each carrying the lead's row id, in the one group the task names. */
function expectOneJobPerLead(jobGroupId: string, ids: number[]) {
  const refs = h.sim.jobsOf(jobGroupId).map((j) => j.contact.referenceId);
  expect(refs.sort()).toEqual(ids.map(String).sort());
  const taskId = h.sim.jobGroups().find((g) => g.jobGroupId === jobGroupId)!.name.match(/\[autofollow (\d+)\]/)![1];
  expect(h.sim.jobGroups().filter((g) => g.name.endsWith(`[autofollow ${taskId}]`))).toHaveLength(1);
}

describe('launchTask', () => {
  it('creates one job group, assigns one job per lead in batches of at most 99, writes job_group_id and moves the task to stage 2', async () => {
    const { taskId, ids } = await givenStageOneTask(120);
    const result = await launchTask(h.deps(), taskId, request);
    expect(result).toMatchObject({ status: 'launched', jobsCreated: 120, leadsFound: 0, stageMoved: true });
    const task = await taskRow(taskId);
    expect(task.taskType).toBe(2);
    expectOneJobPerLead(task.jobGroupId!, ids);
    const assigns = h.sim.requests.filter((r) => r.action === 'AssignJobs');
    expect(assigns.map((r) => Object.keys(r.params).filter((k) => k.startsWith('JobsJson.')).length)).toEqual([99, 21]);
    const [row] = await h.database.db.select().from(launches).where(eq(launches.taskId, taskId));
    expect(row).toMatchObject({ status: 'done', batchesSent: 2, jobsCreated: 120, leadsToCall: 120, jobGroupId: task.jobGroupId });
  });

  it('never assigns a job twice when an AssignJobs answer was lost after the jobs were created', async () => {
    const { taskId, ids } = await givenStageOneTask(150);
    h.sim.failNext('lost-answer', { action: 'AssignJobs', after: 1 }); // batch 2 lands, its answer never comes
    const result = await launchTask(h.deps(), taskId, request);
    expect(result).toMatchObject({ status: 'launched', stageMoved: true });
    expectOneJobPerLead((await taskRow(taskId)).jobGroupId!, ids);
    expect(h.sim.requests.filter((r) => r.action === 'AssignJobs')).toHaveLength(2);
  });

  it('finds the group whose CreateJobGroup answer was lost instead of creating a second one', async () => {
    const { taskId, ids } = await givenStageOneTask(5);
    h.sim.failNext('lost-answer', { action: 'CreateJobGroup' });
    const first = await launchTask(h.deps(), taskId, request);
    expect(first.status).toBe('launched');
    expectOneJobPerLead((await taskRow(taskId)).jobGroupId!, ids);
  });

  it('retries a throttled batch and goes on', async () => {
    const { taskId, ids } = await givenStageOneTask(200);
    h.sim.failNext('throttle', { action: 'AssignJobs', after: 1 });
    expect(await launchTask(h.deps(), taskId, request)).toMatchObject({ status: 'launched', jobsCreated: 200 });
    expectOneJobPerLead((await taskRow(taskId)).jobGroupId!, ids);
  });

  it('stops with the service\'s message on a bad script id, creating nothing and leaving the task at stage 1', async () => {
    const { taskId } = await givenStageOneTask(3);
    const result = await launchTask(h.deps(), taskId, { ...request, scriptId: 'no-such-script' });
    expect(result).toMatchObject({ status: 'failed', code: 'ScriptNotFound', business: true });
    expect(await stageOf(h.database.db, taskId)).toBe(1);
    expect(h.sim.jobGroups().filter((g) => g.name.endsWith(`[autofollow ${taskId}]`))).toHaveLength(0);
    const [row] = await h.database.db.select().from(launches).where(eq(launches.taskId, taskId));
    expect(row).toMatchObject({ status: 'failed', errorCode: 'ScriptNotFound', jobsCreated: 0 });
    expect(row!.errorMessage).toContain('no-such-script');
  });

  it('refuses a task that is not at stage 1', async () => {
    const taskId = await givenTask(h.database.db, { taskType: 2, jobGroupId: 'jg' });
    expect(await launchTask(h.deps(), taskId, request)).toEqual({ status: 'not-eligible' });
  });
});
