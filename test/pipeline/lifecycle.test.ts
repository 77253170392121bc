// A task's whole life from stage 2 to 4 on the simulator, pass by pass, with a realistic mix of
// outcomes. Asserts what must happen and what must not (no intermediate status, no duplicate).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { diagnoseTask } from '../../server/pipeline/diagnose.ts';
import { runPass } from '../../server/pipeline/monitor.ts';
import { CALL_FAILED_REMARK, UNANSWERED_REMARK } from '../../server/pipeline/follow-up-remarks.ts';
import { followsOf, givenLeads, givenTask, leadsOf, stageOf } from '../helpers/builders.ts';
import { startPipelineHarness, type PipelineHarness } from '../helpers/pipeline.ts';

let h: PipelineHarness;
beforeAll(async () => {
  h = await startPipelineHarness();
});
afterAll(async () => h?.close());
beforeEach(async () => h.database.reset());

describe('a task from stage 2 to stage 4', () => {
  it('syncs job ids, stores only final statuses, writes one follow record per lead and moves 2 -> 3 -> 4', async () => {
    const { db } = h.database;
    const group = h.sim.createJobGroup('四季度试驾邀约');
    // The CRM typed the phones in many ways; the API returns them as assigned (plain digits).
    const crmPhones = ['+86 138-0000-0001', '13800000002', '138 0000 0003', '+8613800000004', '0086 13800000005', '13800000006', '13800000007'];
    const apiPhones = ['13800000001', '13800000002', '13800000003', '13800000004', '13800000005', '13800000006'];
    const taskId = await givenTask(db, { name: '四季度试驾邀约', jobGroupId: group });
    const leadIds = await givenLeads(db, taskId, [
      ...crmPhones.map((phone, i) => ({ phone, name: `客户${i + 1}` })),
      { phone: '13800000008', name: '已人工跟进', isInterested: 1 }, // handled by a person before the robot's call
    ]);
    const jobIds = h.sim.assignJobs(group, [...apiPhones, '13800000008'].map((phone, i) => ({ phone, name: `客户${i + 1}` })));
    const deps = h.deps();

    // Pass 1: jobs are only scheduled. Job ids are stored; nothing else.
    await runPass(deps, { trigger: 'cli' });
    let leads = await leadsOf(db, taskId);
    expect(leads.slice(0, 6).map((l) => l.callJobId)).toEqual(jobIds.slice(0, 6));
    expect(leads[6]!.callJobId).toBeNull(); // 13800000007 is not in the job group
    expect(leads.every((l) => l.callStatus === null)).toBe(true);
    expect(await stageOf(db, taskId)).toBe(2);
    const afterSync = await diagnoseTask(deps, taskId);
    expect(afterSync!.leadReasons['not-in-job-group']).toBe(1);
    expect(afterSync!.blockedLeads.find((b) => b.leadRowId === leadIds[6])?.reason).toBe('not-in-job-group');

    // Pass 2: calls are under way. No intermediate status is ever stored (DESIGN §3.1).
    for (const jobId of jobIds) h.sim.startJob(jobId);
    await runPass(deps, { trigger: 'cli' });
    leads = await leadsOf(db, taskId);
    expect(leads.map((l) => l.callStatus)).toEqual(Array(8).fill(null));
    expect(await followsOf(db)).toHaveLength(0);

    // Pass 3: every call ends; one Succeeded call's conversation is late.
    h.sim.finishJob(jobIds[0]!, { status: 'Succeeded', kind: 'interested' });
    h.sim.finishJob(jobIds[1]!, { status: 'Succeeded', kind: 'not-interested' });
    h.sim.finishJob(jobIds[2]!, { status: 'Succeeded', kind: 'unclear' });
    h.sim.finishJob(jobIds[3]!, { status: 'Failed', failureReason: 'NoAnswer', taskStatus: 'NoAnswer' });
    h.sim.finishJob(jobIds[4]!, { status: 'Failed', failureReason: 'CallFailed', taskStatus: 'Failed' });
    h.sim.finishJob(jobIds[5]!, { status: 'Succeeded', kind: 'interested', conversationAvailable: false });
    h.sim.finishJob(jobIds[6]!, { status: 'Succeeded', kind: 'interested' });
    await runPass(deps, { trigger: 'cli' });
    leads = await leadsOf(db, taskId);
    expect(leads.map((l) => l.callStatus)).toEqual(['Succeeded', 'Succeeded', 'Succeeded', 'Failed', 'Failed', 'Succeeded', null, 'Succeeded']);
    expect(leads[5]!.callConversation).toBeNull();
    expect(leads[5]!.leadsFollowId).toBeNull();
    expect(JSON.parse(leads[0]!.callConversation!)[0]).toHaveProperty('Speaker');
    expect(leads[0]!.callTaskId).toBeTruthy();
    expect(leads[0]!.planedTime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(leads.slice(0, 5).map((l) => l.isInterested)).toEqual([1, 2, 0, 0, 0]);
    expect(leads[7]!.isInterested).toBe(1); // the person's value stands
    expect(leads[7]!.leadsFollowId).toBeNull(); // and gets no follow record
    expect(await stageOf(db, taskId)).toBe(3); // all calls final; one follow record still owed

    let follows = await followsOf(db);
    expect(follows).toHaveLength(5);
    const byLead = new Map(follows.map((f) => [f.id, f]));
    expect(byLead.get(leads[3]!.leadsFollowId!)!.leadsRemark).toBe(UNANSWERED_REMARK);
    expect(byLead.get(leads[4]!.leadsFollowId!)!.leadsRemark).toBe(CALL_FAILED_REMARK);
    const interested = byLead.get(leads[0]!.leadsFollowId!)!;
    expect(interested.leadsId).toBe(leads[0]!.leadsId);
    expect(interested.leadsRemark).toBeTruthy();
    expect(interested.nextFollowTime! > interested.followTime).toBe(true);
    expect(interested.firstFollowTime).toBe(interested.followTime);
    expect(byLead.get(leads[3]!.leadsFollowId!)!.nextFollowTime).toBeNull();
    const waiting = await diagnoseTask(deps, taskId);
    expect(waiting!.leadReasons['waiting-for-conversation']).toBe(1);
    expect(waiting!.leadReasons['handled-outside']).toBe(1);

    // Pass 4: the conversation arrives; the last follow record is written and the task is done.
    h.sim.attachConversation(jobIds[5]!);
    await runPass(deps, { trigger: 'cli' });
    leads = await leadsOf(db, taskId);
    expect(leads[5]!.callConversation).toBeTruthy();
    expect(leads[5]!.isInterested).toBe(1);
    follows = await followsOf(db);
    expect(follows).toHaveLength(6);
    expect(new Set(leads.filter((l) => l.leadsFollowId).map((l) => l.leadsFollowId)).size).toBe(6);
    expect(await stageOf(db, taskId)).toBe(4);

    // A stage 4 task is no longer pending: another pass does nothing.
    const summary = await runPass(deps, { trigger: 'cli' });
    expect(summary.pending).toBe(0);
    const final = await diagnoseTask(deps, taskId);
    expect(final!.eligible).toBe(false);
    expect(final!.stats).toMatchObject({ total: 8, called: 7, withStatus: 7, succeeded: 5, failed: 2, withConversation: 5, withFollow: 6, withInterest: 7 });
  });
});
