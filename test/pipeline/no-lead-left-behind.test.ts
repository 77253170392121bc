// Issue 7: leads that fell off the automatic path at the API's edges. Each case drives the real
// pipeline against the Outbound Bot simulator behaving as the real service may: capped pages, a group
// growing while it is listed, one job for two rows, cancelled and re-issued jobs, a conversation that
// never arrives.
import { eq } from 'drizzle-orm';
import { describe, expect, it, vi } from 'vitest';
import { jobGroupListings, leadStates, supersededJobs, taskLeases } from '../../server/db/schema/app.ts';
import { diagnoseTask } from '../../server/pipeline/diagnose.ts';
import { processTask } from '../../server/pipeline/process-task.ts';
import { syncCallResults, writeCallResults } from '../../server/pipeline/sync-call-results.ts';
import { diagnosisJson } from '../../server/web/i18n/render-reason.ts';
import { followsOf, givenLeads, givenTask, leadsOf, phones, runsOf, stageOf, statesOf } from '../helpers/builders.ts';
import { usePipelineHarness } from '../helpers/pipeline.ts';

const h = usePipelineHarness();
const process = (taskId: number) => processTask(h.deps(), taskId, { trigger: 'cli' });

let phoneBlock = 0;
/** A task whose n leads each have a job in the group (not started yet). */
async function givenCallingTask(n: number) {
  const group = h.sim.createJobGroup();
  const numbers = phones(n, (phoneBlock += 10_000));
  const taskId = await givenTask(h.database.db, { jobGroupId: group });
  const leadIds = await givenLeads(h.database.db, taskId, numbers.map((phone) => ({ phone })));
  const jobIds = h.sim.assignJobs(group, numbers.map((phone) => ({ phone })));
  return { group, taskId, leadIds, jobIds, numbers };
}

describe('a listing is complete only when proven complete (DESIGN §3.6)', () => {
  it('pages by the size the API answers with: 230 leads behind pages capped at 40 are all synced, none called absent', async () => {
    const { taskId, jobIds } = await givenCallingTask(230);
    h.sim.capPageSize(40);
    await process(taskId);
    const leads = await leadsOf(h.database.db, taskId);
    expect(leads.map((l) => l.callJobId)).toEqual(jobIds);
    expect((await diagnoseTask(h.deps(), taskId))!.leadReasons['not-in-job-group']).toBe(0);
    const listed = h.sim.requests.filter((r) => r.action === 'ListJobsByGroup');
    expect(listed.map((r) => Number(r.params.PageNumber)).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]); // pages 2-6 side by side
  });

  it('is not fooled by a server that echoes the page size it was asked for while answering fewer', async () => {
    const { taskId, jobIds } = await givenCallingTask(150);
    h.sim.capPageSize(40, { echoRequested: true });
    await process(taskId);
    expect((await leadsOf(h.database.db, taskId)).map((l) => l.callJobId)).toEqual(jobIds);
  });

  it('lists again when the group grows during the listing, and then pairs the new jobs too', async () => {
    const { group, taskId, numbers } = await givenCallingTask(120);
    const late = phones(3, (phoneBlock += 10_000));
    await givenLeads(h.database.db, taskId, late.map((phone) => ({ phone })));
    h.sim.addJobsWhileListing(group, late.map((phone) => ({ phone })));
    const result = await process(taskId);
    expect(result.outcome).toBe('ok');
    const leads = await leadsOf(h.database.db, taskId);
    expect(leads.every((l) => l.callJobId)).toBe(true);
    expect(leads).toHaveLength(numbers.length + 3);
    const [run] = await runsOf(h.database.db, taskId);
    expect(JSON.parse(run!.steps!)[0].counts).toMatchObject({ relisted: 1, matched: 123 });
  });

  it('marks nobody "not in job group" and moves no stage when a page of the listing failed', async () => {
    const { taskId } = await givenCallingTask(130);
    const stray = await givenLeads(h.database.db, taskId, [{ phone: '13999990001' }]); // in no job
    h.sim.capPageSize(50);
    h.sim.failNext('business-error', { action: 'ListJobsByGroup', code: 'InvalidParameter', after: 1 }); // page 2 of 3
    await process(taskId);
    expect((await statesOf(h.database.db, taskId)).filter((s) => s.notInGroupSince)).toEqual([]);
    expect(await stageOf(h.database.db, taskId)).toBe(2);
    await process(taskId);
    const states = await statesOf(h.database.db, taskId);
    expect(states.filter((s) => s.notInGroupSince).map((s) => s.leadRowId)).toEqual(stray);
  });
});

describe('shared phones (DESIGN §3.6)', () => {
  it('gives two rows of one phone with one job that job; each gets its own record, the LLM reads the call once', async () => {
    const group = h.sim.createJobGroup();
    const taskId = await givenTask(h.database.db, { jobGroupId: group });
    const [first, second] = await givenLeads(h.database.db, taskId, [
      { phone: '13700001111', name: '王先生(门店)' },
      { phone: '+86 137-0000-1111', name: '王先生(线上)' },
    ]);
    const [jobId] = h.sim.assignJobs(group, [{ phone: '13700001111' }]);
    h.sim.finishJob(jobId!, { status: 'Succeeded', kind: 'interested' });
    h.llm.requests.length = 0;
    await process(taskId);
    const leads = await leadsOf(h.database.db, taskId);
    expect(leads.map((l) => [l.id, l.callJobId, l.callStatus])).toEqual([[first, jobId, 'Succeeded'], [second, jobId, 'Succeeded']]);
    expect(new Set(leads.map((l) => l.leadsFollowId)).size).toBe(2);
    expect(leads.map((l) => l.isInterested)).toEqual([1, 1]);
    expect(await followsOf(h.database.db)).toHaveLength(2);
    expect(h.llm.requests).toHaveLength(1);
    expect(await stageOf(h.database.db, taskId)).toBe(4);
  });

  it('pairs rows and jobs of one phone one to one while there are jobs', async () => {
    const group = h.sim.createJobGroup();
    const taskId = await givenTask(h.database.db, { jobGroupId: group });
    await givenLeads(h.database.db, taskId, [{ phone: '13700002222' }, { phone: '13700002222' }, { phone: '13700002222' }]);
    const jobIds = h.sim.assignJobs(group, [{ phone: '13700002222' }, { phone: '13700002222' }]);
    await process(taskId);
    // Two jobs for three rows: one each for the first two, the third shares the latest.
    expect((await leadsOf(h.database.db, taskId)).map((l) => l.callJobId)).toEqual([jobIds[0], jobIds[1], jobIds[1]]);
  });
});

describe('API errors on a lead', () => {
  it('are cleared when its job is read again, which stores the state the job then has', async () => {
    const { taskId, jobIds } = await givenCallingTask(2);
    await process(taskId);
    const waiting = (await statesOf(h.database.db, taskId))[1]!.lastJobStatus;
    await h.database.db.update(leadStates).set({ apiErrorCode: 'Throttling.User', apiErrorMessage: "it's \\ busy", apiErrorAt: new Date() }).where(eq(leadStates.taskId, taskId));
    h.sim.finishJob(jobIds[0]!, { status: 'Failed', failureReason: 'NoAnswer' });
    await process(taskId);
    const states = (await statesOf(h.database.db, taskId)).map((s) => [s.lastJobStatus, s.jobFailureReason, s.apiErrorCode, s.apiErrorMessage, s.apiErrorAt]);
    expect(states).toEqual([['Failed', 'NoAnswer', null, null, null], [waiting, null, null, null, null]]);
  });
});

describe('cancelled jobs (DESIGN §3.1, §3.7)', () => {
  it('are not stored, hold no stage, are not polled again, and diagnose names them with their ids', async () => {
    const { taskId, jobIds, leadIds } = await givenCallingTask(3);
    h.sim.finishJob(jobIds[0]!, { status: 'Failed', failureReason: 'NoAnswer' });
    h.sim.finishJob(jobIds[1]!, { status: 'Succeeded', kind: 'unclear' });
    h.sim.cancelJob(jobIds[2]!);
    await process(taskId);
    expect(await stageOf(h.database.db, taskId)).toBe(4);
    const cancelled = (await leadsOf(h.database.db, taskId))[2]!;
    expect(cancelled).toMatchObject({ callJobId: jobIds[2], callStatus: null, leadsFollowId: null, isInterested: null });
    const diagnosis = (await diagnoseTask(h.deps(), taskId))!;
    expect(diagnosis.blockedLeads).toEqual([expect.objectContaining({ leadRowId: leadIds[2], reason: 'job-cancelled', jobId: jobIds[2], leadsId: cancelled.leadsId })]);
    expect(diagnosis.reasonCodes.filter((r) => r.code === 'job-cancelled')).toEqual([{ code: 'job-cancelled', count: 1, leadIds: [leadIds[2]] }]);
    expect(diagnosisJson(diagnosis).reasons.join('\n')).toContain('close-leads --cause cancelled');
  });

  it('leave a task whose every call was cancelled at stage 2, unpolled, adding no run row per pass', async () => {
    const { taskId, jobIds } = await givenCallingTask(2);
    jobIds.forEach((jobId) => h.sim.cancelJob(jobId));
    await process(taskId);
    expect(await stageOf(h.database.db, taskId)).toBe(2);
    const runs = (await runsOf(h.database.db, taskId)).length;
    h.sim.requests.length = 0;
    const [checkedBefore] = await h.database.db.select().from(taskLeases).where(eq(taskLeases.taskId, taskId));
    await process(taskId);
    expect(h.sim.requests.map((r) => r.action)).toEqual(['ListJobsByGroup']); // page 1: has a job been re-issued?
    expect(await runsOf(h.database.db, taskId)).toHaveLength(runs);
    const [checkedAfter] = await h.database.db.select().from(taskLeases).where(eq(taskLeases.taskId, taskId));
    expect(checkedAfter!.lastCheckedAt!.getTime()).toBeGreaterThan(checkedBefore!.lastCheckedAt!.getTime());
  });
});

describe('re-issued jobs (DESIGN §3.6)', () => {
  it('never writes an old job\'s state onto a lead moved to a newer job while the answer was on its way', async () => {
    // After a broken lease: pass A asked for job 1 (cancelled), pass B moved the lead to job 2 before
    // A's answer was written. Job 1's Cancelled must not land on the lead: it would stop job 2 from being read.
    const group = h.sim.createJobGroup();
    const taskId = await givenTask(h.database.db, { jobGroupId: group });
    const [phone] = phones(1, 92_000);
    const [oldJob, newJob] = h.sim.assignJobs(group, [{ phone: phone! }, { phone: phone! }]);
    h.sim.cancelJob(oldJob!);
    const [id] = await givenLeads(h.database.db, taskId, [{ phone: phone!, callJobId: oldJob! }]);
    const release = h.sim.holdAnswers();
    const lease = { taskId, check() {}, async renew() {}, stop() {} };
    const run = syncCallResults(h.deps(), { id: taskId, name: 't', taskType: 2, jobGroupId: group }, lease);
    await vi.waitFor(() => expect(h.sim.requests.some((r) => r.action === 'ListJobs')).toBe(true), { timeout: 5000, interval: 10 });
    await h.database.pool.query('UPDATE leads_task_list SET call_job_id = ? WHERE id = ?', [newJob, id]);
    release();
    await run;
    expect((await statesOf(h.database.db, taskId)).filter((s) => s.lastJobStatus !== null)).toEqual([]);
  });

  it('never writes a call result onto a lead that has left the job it was read from', async () => {
    // A pass that read job-old's result while another (after a broken lease) moved the lead to job-new.
    const taskId = await givenTask(h.database.db, { jobGroupId: 'jg-moved' });
    const [id] = await givenLeads(h.database.db, taskId, [{ phone: phones(1, 91_000)[0]!, callJobId: 'job-new' }]);
    const result = (jobId: string) => ({ id: id!, jobId, status: 'Failed' as const, conversation: null, callTaskId: null, callingNumber: null, planedTime: null });
    expect(await writeCallResults(h.database.db, h.deps(), taskId, [result('job-old')])).toBe(0);
    expect((await leadsOf(h.database.db, taskId))[0]!.callStatus).toBeNull();
    expect(await writeCallResults(h.database.db, h.deps(), taskId, [result('job-new')])).toBe(1);
  });

  it('moves a lead without a follow record to the newest job for its phone, keeping the old job id', async () => {
    const { group, taskId, jobIds, leadIds, numbers } = await givenCallingTask(3);
    h.sim.cancelJob(jobIds[0]!);
    h.sim.finishJob(jobIds[1]!, { status: 'Failed' });
    h.sim.startJob(jobIds[2]!); // still calling: the task stays at stage 2
    await process(taskId);
    const [reissued] = h.sim.assignJobs(group, [{ phone: numbers[0]! }, { phone: numbers[1]! }]);
    const otherGroup = h.sim.createJobGroup();
    h.sim.assignJobs(otherGroup, [{ phone: numbers[0]! }]); // another group's job is never followed
    await process(taskId);
    let leads = await leadsOf(h.database.db, taskId);
    expect(leads.map((l) => l.callJobId)).toEqual([reissued, jobIds[1], jobIds[2]]); // the followed lead stays put
    const superseded = await h.database.db.select().from(supersededJobs).where(eq(supersededJobs.taskId, taskId));
    expect(superseded).toEqual([expect.objectContaining({ leadRowId: leadIds[0], jobId: jobIds[0], lastJobStatus: 'Cancelled', supersededBy: reissued })]);
    expect((await diagnoseTask(h.deps(), taskId))!.supersededJobs).toEqual([expect.objectContaining({ leadRowId: leadIds[0], jobId: jobIds[0] })]);

    h.sim.finishJob(reissued!, { status: 'Succeeded', kind: 'interested' });
    h.sim.finishJob(jobIds[2]!, { status: 'Failed' });
    await process(taskId);
    leads = await leadsOf(h.database.db, taskId);
    expect(leads[0]).toMatchObject({ callStatus: 'Succeeded', isInterested: 1 });
    expect(leads[0]!.leadsFollowId).not.toBeNull();
    expect(await stageOf(h.database.db, taskId)).toBe(4);
  });

  it('reads "newest" in listing order even when a later page answers first', async () => {
    const { group, taskId, jobIds, numbers } = await givenCallingTask(4); // at 2 a page: jobs 0-1 page 1, jobs 2-3 page 2
    h.sim.startJob(jobIds[2]!);
    await process(taskId);
    const [reissued] = h.sim.assignJobs(group, [{ phone: numbers[2]! }]); // page 3
    h.sim.capPageSize(2);
    h.sim.failNext('slow', { action: 'ListJobsByGroup', after: 1, delayMs: 400 }); // page 2 answers after page 3
    await process(taskId);
    expect((await leadsOf(h.database.db, taskId))[2]!.callJobId).toBe(reissued);
  });

  it('needs one request per pass to know nothing was re-issued', async () => {
    const { taskId, jobIds } = await givenCallingTask(150);
    await process(taskId);
    const [memo] = await h.database.db.select().from(jobGroupListings).where(eq(jobGroupListings.taskId, taskId));
    expect(memo!.totalCount).toBe(150);
    h.sim.requests.length = 0;
    h.sim.startJob(jobIds[0]!);
    await process(taskId);
    expect(h.sim.requests.filter((r) => r.action === 'ListJobsByGroup')).toHaveLength(1);
  });
});

describe('a conversation that never arrives (DESIGN §3.4)', () => {
  async function succeededLongAgo(conversationAvailable: false | 'describe-only') {
    const { taskId, jobIds, leadIds } = await givenCallingTask(1);
    h.sim.finishJob(jobIds[0]!, { status: 'Succeeded', kind: 'interested', conversationAvailable });
    await process(taskId);
    const hoursAgo = new Date(Date.now() - 3 * 3600_000);
    await h.database.pool.query("UPDATE leads_task_list SET updated_time = DATE_FORMAT(CONVERT_TZ(?, '+00:00', '+08:00'), '%Y-%m-%d %H:%i:%s') WHERE id = ?", [
      hoursAgo.toISOString().slice(0, 19).replace('T', ' '), leadIds[0],
    ]);
    h.sim.requests.length = 0;
    return { taskId, leadId: leadIds[0]!, jobId: jobIds[0]! };
  }

  it('is asked for once more with DescribeJob after STUCK_AFTER, then listed as waiting for a person', async () => {
    const { taskId, leadId, jobId } = await succeededLongAgo(false);
    await process(taskId);
    expect(h.sim.requests.filter((r) => r.action === 'DescribeJob').map((r) => r.params.JobId)).toEqual([jobId]);
    const diagnosis = (await diagnoseTask(h.deps(), taskId))!;
    expect(diagnosis.blockedLeads).toEqual([expect.objectContaining({ leadRowId: leadId, reason: 'no-conversation' })]);
    h.sim.requests.length = 0;
    await process(taskId);
    expect(h.sim.requests.filter((r) => r.action === 'DescribeJob')).toHaveLength(0); // once, not every pass
  });

  it('is written when DescribeJob has it, and then followed up', async () => {
    const { taskId } = await succeededLongAgo('describe-only');
    await process(taskId);
    const [lead] = await leadsOf(h.database.db, taskId);
    expect(lead!.callConversation).toContain('Speaker');
    // Marked beside it, as every conversation write is: diagnose's withConversation counts it.
    expect((await statesOf(h.database.db, taskId))[0]!.hasConversation).toBe(true);
    await process(taskId);
    expect((await leadsOf(h.database.db, taskId))[0]!.leadsFollowId).not.toBeNull();
    expect(await stageOf(h.database.db, taskId)).toBe(4);
  });
});

describe('leads a person closes stay closed', () => {
  it('a closed cancelled lead is never polled or moved, and lets its task finish', async () => {
    const { group, taskId, jobIds, numbers, leadIds } = await givenCallingTask(2);
    h.sim.cancelJob(jobIds[0]!);
    h.sim.cancelJob(jobIds[1]!);
    await process(taskId);
    const { closeLeads } = await import('../../server/pipeline/close-leads.ts');
    const result = await closeLeads(h.deps(), taskId, { cause: 'cancelled', remark: '客户已到店，人工跟进', interest: 1, nextFollowTime: null }, 'alice');
    expect(result).toMatchObject({ status: 'closed', closed: 2, skipped: 0 });
    h.sim.assignJobs(group, [{ phone: numbers[0]! }]);
    await process(taskId);
    expect((await leadsOf(h.database.db, taskId)).map((l) => l.callJobId)).toEqual(jobIds);
    expect(await stageOf(h.database.db, taskId)).toBe(4);
    const states = await statesOf(h.database.db, taskId);
    expect(states.map((s) => [s.leadRowId, s.closedBy, s.closedCause])).toEqual(leadIds.map((id) => [id, 'alice', 'cancelled']));
  });
});
