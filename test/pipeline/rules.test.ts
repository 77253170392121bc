// Every rule of DESIGN §3, including what must NOT happen, through processTask on the simulators.
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { leadsTaskList } from '../../server/db/schema/crm.ts';
import { diagnoseTask } from '../../server/pipeline/diagnose.ts';
import { ANALYSIS_FAILED_REMARK } from '../../server/pipeline/follow-up-remarks.ts';
import { runPass } from '../../server/pipeline/monitor.ts';
import { processTask } from '../../server/pipeline/process-task.ts';
import { followsOf, givenLeads, givenTask, leadsOf, runsOf, stageOf, statesOf } from '../helpers/builders.ts';
import { usePipelineHarness } from '../helpers/pipeline.ts';
import { randomPhones } from '../helpers/seeded-random.ts';
import { until } from '../helpers/until.ts';

const h = usePipelineHarness();

/** A stage 2 task whose n leads each have a job in a fresh group. */
async function givenCallingTask(n: number, options: { taskType?: number } = {}) {
  const group = h.sim.createJobGroup();
  const numbers = randomPhones(n);
  const taskId = await givenTask(h.database.db, { jobGroupId: group, ...(options.taskType ? { taskType: options.taskType } : {}) });
  const leadIds = await givenLeads(h.database.db, taskId, numbers.map((phone) => ({ phone })));
  const jobIds = h.sim.assignJobs(group, numbers.map((phone) => ({ phone })));
  return { group, taskId, leadIds, jobIds };
}

const process = (taskId: number, owner?: string) => processTask(h.deps(owner), taskId, { trigger: 'cli' });

async function snapshot() {
  const rows = await h.database.pool.query(
    'SELECT (SELECT JSON_ARRAYAGG(JSON_OBJECT("id", id, "t", task_type, "u", updated_time)) FROM call_tasks) AS tasks, ' +
      '(SELECT COUNT(*) FROM dcc_leads_follow) AS follows, ' +
      '(SELECT GROUP_CONCAT(CONCAT_WS("|", id, call_job_id, call_status, LENGTH(call_conversation), leads_follow_id, is_interested, updated_time) ORDER BY id) FROM leads_task_list) AS leads',
  );
  return JSON.stringify(rows[0]);
}

describe('DESIGN §3.1 final states only', () => {
  it('never stores Scheduling, Executing or Paused, and stores Succeeded/Failed as soon as they are final', async () => {
    const { taskId, jobIds } = await givenCallingTask(3);
    h.sim.startJob(jobIds[0]!);
    h.sim.startJob(jobIds[1]!);
    await process(taskId);
    expect((await leadsOf(h.database.db, taskId)).map((l) => l.callStatus)).toEqual([null, null, null]);
    h.sim.finishJob(jobIds[0]!, { status: 'Failed', failureReason: 'NoAnswer', taskStatus: 'NoAnswer' });
    await process(taskId);
    expect((await leadsOf(h.database.db, taskId)).map((l) => l.callStatus)).toEqual(['Failed', null, null]);
    // Our own table remembers the non-final status for diagnose; call_status does not.
    expect((await statesOf(h.database.db, taskId)).map((s) => s.lastJobStatus)).toEqual(['Failed', 'Executing', 'Scheduling']);
  });
});

describe('DESIGN §3.2 exactly one follow record per lead', () => {
  it('gives two processes racing on one task one run, and one follow record per lead', async () => {
    const { taskId, jobIds } = await givenCallingTask(20);
    jobIds.forEach((jobId, i) => h.sim.finishJob(jobId, i % 3 === 0 ? { status: 'Failed', failureReason: 'NoAnswer' } : { status: 'Succeeded', kind: 'interested' }));
    const [a, b] = await Promise.all([process(taskId, 'process-a'), process(taskId, 'process-b')]);
    expect([a.status, b.status].sort()).toEqual(['leased-elsewhere', 'processed']);
    const leads = await leadsOf(h.database.db, taskId);
    const follows = await followsOf(h.database.db);
    expect(follows).toHaveLength(20);
    expect(new Set(leads.map((l) => l.leadsFollowId)).size).toBe(20);
    expect(follows.map((f) => f.id).sort()).toEqual(leads.map((l) => l.leadsFollowId!).sort());
  });

  it('still writes one record per lead when a lease was lost and two workers run the step at once', async () => {
    const { taskId, jobIds, group } = await givenCallingTask(30);
    jobIds.forEach((jobId) => h.sim.finishJob(jobId, { status: 'Succeeded', kind: 'unclear' }));
    // Both "processes" believe they hold the lease (one's expired mid-run and was taken over).
    const { createFollowUps } = await import('../../server/pipeline/create-follow-ups.ts');
    const { syncCallResults } = await import('../../server/pipeline/sync-call-results.ts');
    const { syncCallJobIds } = await import('../../server/pipeline/sync-call-job-ids.ts');
    const task = { id: taskId, name: 't', taskType: 2, jobGroupId: group };
    const held = { taskId, check() {}, async renew() {}, stop() {} };
    await syncCallJobIds(h.deps('a'), task, held);
    await syncCallResults(h.deps('a'), task, held);
    const [ra, rb] = await Promise.all([createFollowUps(h.deps('a'), task, held), createFollowUps(h.deps('b'), task, held)]);
    expect((ra.counts.created ?? 0) + (rb.counts.created ?? 0)).toBe(30);
    expect(await followsOf(h.database.db)).toHaveLength(30);
    const leads = await leadsOf(h.database.db, taskId);
    expect(new Set(leads.map((l) => l.leadsFollowId)).size).toBe(30);
  });

  it('drops the result when a person sets is_interested while the LLM is thinking, and never overwrites it', async () => {
    const { taskId, jobIds, leadIds } = await givenCallingTask(1);
    h.sim.finishJob(jobIds[0]!, { status: 'Succeeded', kind: 'interested' });
    await process(taskId); // stores status + conversation; LLM answers at once here, so redo with the LLM held:
    await h.database.db.update(leadsTaskList).set({ leadsFollowId: null, isInterested: null }).where(eq(leadsTaskList.id, leadIds[0]!));
    await h.database.pool.query('DELETE FROM dcc_leads_follow');
    await h.database.pool.query('UPDATE call_tasks SET task_type = 3 WHERE id = ?', [taskId]);
    const asked = h.llm.requests.length;
    const release = h.llm.holdAnswers();
    const run = process(taskId);
    // The person's answer lands while the analysis is at the LLM, which answers only afterwards.
    try {
      await until('the analysis to reach the LLM', () => h.llm.requests.length === asked + 1);
      await h.database.db.update(leadsTaskList).set({ isInterested: 2 }).where(eq(leadsTaskList.id, leadIds[0]!));
    } finally {
      release();
    }
    expect((await run).status).toBe('processed');
    expect(h.llm.requests.length).toBe(asked + 1); // the analysis really ran, and lost the race
    const [lead] = await leadsOf(h.database.db, taskId);
    expect(lead!.isInterested).toBe(2);
    expect(lead!.leadsFollowId).toBeNull();
    expect(await followsOf(h.database.db)).toHaveLength(0);
  });
});

describe('DESIGN §3.4 Succeeded without conversation; Failed not fetched again', () => {
  it('stores the status, waits for the conversation without a follow record, and does not fetch a Failed job twice', async () => {
    const { taskId, jobIds } = await givenCallingTask(2);
    h.sim.finishJob(jobIds[0]!, { status: 'Succeeded', kind: 'interested', conversationAvailable: false });
    h.sim.finishJob(jobIds[1]!, { status: 'Failed', failureReason: 'NoAnswer' });
    await process(taskId);
    let leads = await leadsOf(h.database.db, taskId);
    expect(leads[0]).toMatchObject({ callStatus: 'Succeeded', callConversation: null, leadsFollowId: null, isInterested: null });
    expect(leads[1]!.leadsFollowId).not.toBeNull();

    h.sim.resetRequests();
    const before = await snapshot();
    await process(taskId); // conversation still missing: fetched again, nothing written
    expect(await snapshot()).toBe(before);
    const fetched = h.sim.requests.filter((r) => r.action === 'ListJobs').flatMap((r) => Object.entries(r.params).filter(([k]) => k.startsWith('JobId.')).map(([, v]) => v));
    expect(fetched).toEqual([jobIds[0]]);

    h.sim.attachConversation(jobIds[0]!);
    await process(taskId);
    leads = await leadsOf(h.database.db, taskId);
    expect(leads[0]!.callConversation).toBeTruthy();
    expect(leads[0]!.leadsFollowId).not.toBeNull();
  });
  it('shows a lead waiting for its conversation longer than STUCK_AFTER as stuck', async () => {
    const { taskId, jobIds, leadIds } = await givenCallingTask(2);
    jobIds.forEach((jobId) => h.sim.finishJob(jobId, { status: 'Succeeded', kind: 'unclear', conversationAvailable: false }));
    await process(taskId);
    let diagnosis = await diagnoseTask(h.deps(), taskId);
    expect(diagnosis!.leadReasons['waiting-for-conversation']).toBe(2);
    expect(diagnosis!.stuckWaitingForConversation).toBe(0);
    // Age one lead past the default STUCK_AFTER of 2 h.
    await h.database.pool.query('UPDATE leads_task_list SET updated_time = updated_time - INTERVAL 3 HOUR WHERE id = ?', [leadIds[0]]);
    diagnosis = await diagnoseTask(h.deps(), taskId);
    expect(diagnosis!.stuckWaitingForConversation).toBe(1);
    expect(diagnosis!.blockedLeads.find((b) => b.leadRowId === leadIds[0])?.detail).toMatchObject({ code: 'waiting-stuck' });
    expect(diagnosis!.reasonCodes).toContainEqual({ code: 'stuck-waiting', count: 1, stuckAfterSeconds: h.deps().config.stuckAfterSeconds });
  });
});

describe('DESIGN §3.5 LLM failures', () => {
  it('writes the basic record with interest 0 and marks the analysis failed for an operator to re-run', async () => {
    const { taskId, jobIds } = await givenCallingTask(2);
    jobIds.forEach((jobId) => h.sim.finishJob(jobId, { status: 'Succeeded', kind: 'interested' }));
    h.llm.failNext('invalid-answer', { times: 1 });
    h.llm.failNext('server-error', { times: 10 });
    await process(taskId);
    const leads = await leadsOf(h.database.db, taskId);
    expect(leads.map((l) => l.isInterested)).toEqual([0, 0]);
    const follows = await followsOf(h.database.db);
    expect(follows.map((f) => f.leadsRemark)).toEqual([ANALYSIS_FAILED_REMARK, ANALYSIS_FAILED_REMARK]);
    expect((await statesOf(h.database.db, taskId)).map((s) => s.analysisStatus)).toEqual(['failed', 'failed']);
    const diagnosis = await diagnoseTask(h.deps(), taskId);
    expect(diagnosis!.leadReasons['analysis-failed']).toBe(2);
  });
});

describe('DESIGN §3.6 no lead left behind', () => {
  it('keeps syncing at stage 3 and reports a lead its job group does not contain', async () => {
    const { taskId, group } = await givenCallingTask(1, { taskType: 3 });
    const [late] = await givenLeads(h.database.db, taskId, [{ phone: '13912345678' }]);
    await process(taskId);
    let diagnosis = await diagnoseTask(h.deps(), taskId);
    expect(diagnosis!.blockedLeads.find((b) => b.leadRowId === late)?.reason).toBe('not-in-job-group');
    // The CRM assigns it later: the next pass picks it up and the mark goes away.
    const [jobId] = h.sim.assignJobs(group, [{ phone: '139-1234-5678' }]);
    await process(taskId);
    expect((await leadsOf(h.database.db, taskId))[1]!.callJobId).toBe(jobId);
    diagnosis = await diagnoseTask(h.deps(), taskId);
    expect(diagnosis!.leadReasons['not-in-job-group']).toBe(0);
    expect(diagnosis!.leadReasons['still-calling']).toBe(2);
  });
});

describe('DESIGN §3.7 stage changes', () => {
  it('does not move 2 -> 3 while nothing has been called', async () => {
    const group = h.sim.createJobGroup();
    const taskId = await givenTask(h.database.db, { jobGroupId: group });
    await givenLeads(h.database.db, taskId, [{ phone: '13800001111' }]);
    await process(taskId);
    expect(await stageOf(h.database.db, taskId)).toBe(2);
  });

  it('does not move after a pass in which a status page failed, and moves on the next clean pass', async () => {
    const { taskId, jobIds } = await givenCallingTask(3);
    jobIds.forEach((jobId) => h.sim.finishJob(jobId, { status: 'Failed', failureReason: 'NoAnswer' }));
    await process(taskId); // syncs ids only? no: also fetches statuses. Undo by failing the status page instead:
    await h.database.pool.query('DELETE FROM dcc_leads_follow');
    await h.database.pool.query("UPDATE leads_task_list SET call_status = NULL, leads_follow_id = NULL, is_interested = NULL");
    await h.database.pool.query('UPDATE call_tasks SET task_type = 2');
    h.sim.failNext('business-error', { action: 'ListJobs', code: 'InvalidParameter' });
    const result = await process(taskId);
    expect(result.outcome).toBe('partial');
    expect(result.retryAfterMs).toBeNull(); // a business error (spec 5.4) waits for the next pass, not 30 s
    expect(await stageOf(h.database.db, taskId)).toBe(2);
    const [run] = (await runsOf(h.database.db, taskId)).slice(-1);
    expect(run!.errorCode).toBe('InvalidParameter');
    expect((await diagnoseTask(h.deps(), taskId))!.leadReasons['api-error']).toBe(3);
    await process(taskId);
    expect(await stageOf(h.database.db, taskId)).toBe(4);
  });

  it('does not let a lead handled by a person hold the task at stage 3', async () => {
    const { taskId, jobIds, leadIds } = await givenCallingTask(2);
    await h.database.db.update(leadsTaskList).set({ isInterested: 1 }).where(eq(leadsTaskList.id, leadIds[1]!));
    jobIds.forEach((jobId) => h.sim.finishJob(jobId, { status: 'Failed', failureReason: 'NoAnswer' }));
    await process(taskId);
    expect(await stageOf(h.database.db, taskId)).toBe(4);
    const leads = await leadsOf(h.database.db, taskId);
    expect(leads[1]).toMatchObject({ isInterested: 1, leadsFollowId: null });
  });

  it('moves a stage only from the stage it expects (conditional update)', async () => {
    const { taskId, jobIds } = await givenCallingTask(1);
    h.sim.finishJob(jobIds[0]!, { status: 'Failed' });
    await process(taskId);
    await h.database.pool.query('UPDATE call_tasks SET task_type = 1 WHERE id = ?', [taskId]);
    const { advanceTaskStage } = await import('../../server/pipeline/advance-task-stage.ts');
    const { changes } = await advanceTaskStage(h.database.db, taskId, { allowMove: true });
    expect(changes).toEqual([]);
    expect(await stageOf(h.database.db, taskId)).toBe(1);
  });
});

describe('DESIGN §3.8 leases during a pass', () => {
  it('skips a task another live process holds, without waiting', async () => {
    const { taskId } = await givenCallingTask(1);
    const { claimLease } = await import('../../server/pipeline/leases.ts');
    await claimLease(h.database.db, taskId, 'someone-else', 300);
    const summary = await runPass(h.deps(), { trigger: 'cli' });
    expect(summary.pending).toBe(0);
    expect(await processTask(h.deps(), taskId, { trigger: 'api' })).toMatchObject({ status: 'leased-elsewhere' });
    expect(h.sim.requests).toHaveLength(0);
  });
});

describe('DESIGN §3.9 retries and business errors', () => {
  it('retries throttling and 5xx inside the call and completes the pass', async () => {
    const { taskId, jobIds } = await givenCallingTask(2);
    jobIds.forEach((jobId) => h.sim.finishJob(jobId, { status: 'Failed', failureReason: 'NoAnswer' }));
    h.sim.failNext('throttle', { action: 'ListJobsByGroup' });
    h.sim.failNext('server-error', { action: 'ListJobs' });
    const result = await process(taskId);
    expect(result.outcome).toBe('ok');
    expect(await stageOf(h.database.db, taskId)).toBe(4);
  });

  it('records an unknown job group with its code, is not fatal for other tasks, and does not re-run it after 60 s (a business error)', async () => {
    const broken = await givenTask(h.database.db, { jobGroupId: 'no-such-group' });
    await givenLeads(h.database.db, broken, [{ phone: '13800002222' }]);
    const { taskId: healthy, jobIds } = await givenCallingTask(1);
    h.sim.finishJob(jobIds[0]!, { status: 'Failed' });
    const summary = await runPass(h.deps(), { trigger: 'cli' });
    expect(summary.processed).toBe(2);
    expect(summary.retryLater).toEqual([]); // it would fail the same way in 60 s (spec 5.4)
    expect(await stageOf(h.database.db, healthy)).toBe(4);
    const [run] = await runsOf(h.database.db, broken);
    expect(run!.outcome).toBe('partial');
    expect(run!.errorCode).toBeTruthy();
    const listings = h.sim.requests.filter((r) => r.action === 'ListJobsByGroup' && r.params.JobGroupId === 'no-such-group');
    expect(listings).toHaveLength(1); // a business error is not retried
  });
});

describe('DESIGN §3.11 no churn', () => {
  it('writes nothing when a pass learns nothing new', async () => {
    const { taskId, jobIds } = await givenCallingTask(4);
    h.sim.startJob(jobIds[0]!);
    h.sim.finishJob(jobIds[1]!, { status: 'Succeeded', kind: 'unclear', conversationAvailable: false });
    h.sim.finishJob(jobIds[2]!, { status: 'Failed', failureReason: 'Busy' });
    await process(taskId);
    const before = await snapshot();
    const statesBefore = JSON.stringify(await statesOf(h.database.db, taskId));
    // About time itself: updated_time holds whole seconds, written by the database's clock
    // (call_tasks, ON UPDATE) and by the process's (leads), so wait until both have passed the second
    // of the first writes; any rewrite of updated_time would then show.
    const dbNow = async () => ((await h.database.pool.query('SELECT NOW() AS now')) as unknown as [[{ now: Date }]])[0][0].now;
    const second = () => Math.floor(Date.now() / 1000);
    const [dbWrote, processWrote] = [await dbNow(), second()];
    await until('both clocks to pass the second of the first writes', async () => second() > processWrote && (await dbNow()) > dbWrote, { everyMs: 50 });
    await process(taskId);
    await process(taskId);
    expect(await snapshot()).toBe(before);
    expect(JSON.stringify(await statesOf(h.database.db, taskId))).toBe(statesBefore);
  });
});

describe('spec 3.2 step 6: the is_interested default', () => {
  it('sets 0 where a follow record exists without interest, and never touches a set value', async () => {
    const { taskId, leadIds } = await givenCallingTask(2);
    await h.database.db.update(leadsTaskList).set({ leadsFollowId: 999 }).where(eq(leadsTaskList.id, leadIds[0]!));
    await h.database.db.update(leadsTaskList).set({ leadsFollowId: 998, isInterested: 2 }).where(eq(leadsTaskList.id, leadIds[1]!));
    await process(taskId);
    const leads = await leadsOf(h.database.db, taskId);
    expect(leads.map((l) => [l.leadsFollowId, l.isInterested])).toEqual([[999, 0], [998, 2]]);
    const [[count]] = (await h.database.pool.query('SELECT COUNT(*) AS n FROM dcc_leads_follow')) as unknown as [[{ n: number }]];
    expect(count.n).toBe(0);
  });
});


describe('follow records written a page at a time', () => {
  it('rolls the page back and writes it record by record when the batch ids cannot be proven', async () => {
    const { writeFollowUps, insertPage, InterleavedIdsError } = await import('../../server/pipeline/write-follow-ups.ts');
    const { taskId, leadIds } = await givenCallingTask(3);
    const leads = await leadsOf(h.database.db, taskId);
    const decisions = leads.map((l, i) => ({
      leadRowId: l.id, taskId, leadsId: l.leadsId, remark: `备注${i}`, isInterested: 1 as const, nextFollowTime: null, analysis: null,
    }));
    let attempts = 0;
    // As if another writer's rows had landed inside this page's id range (MySQL 8, autoinc mode 2).
    const interleaved = async (tx: Parameters<typeof insertPage>[0], rows: Parameters<typeof insertPage>[1]) => {
      attempts++;
      await insertPage(tx, rows);
      throw new InterleavedIdsError();
    };
    const outcome = await writeFollowUps(h.database.db, decisions, '2026-11-29 10:00:00', new Date(), interleaved);
    expect(attempts).toBe(1);
    expect(outcome).toMatchObject({ created: 3, alreadyDone: 0 });
    const follows = await followsOf(h.database.db);
    expect(follows.map((f) => f.leadsRemark)).toEqual(['备注0', '备注1', '备注2']); // the rejected batch left no orphans
    const after = await leadsOf(h.database.db, taskId);
    expect(after.map((l) => l.id)).toEqual(leadIds);
    expect(after.map((l) => follows.find((f) => f.id === l.leadsFollowId)?.leadsRemark)).toEqual(['备注0', '备注1', '备注2']);
  });
});

describe('spec 3.3 / 3.4 entry points', () => {
  const held = (taskId: number) => ({ taskId, check() {}, async renew() {}, stop() {} });

  it('create_leads_follow: writes the follow record of one job once, however often it is asked', async () => {
    const { createFollowUpForJob } = await import('../../server/pipeline/create-follow-ups.ts');
    const { syncCallJobIds } = await import('../../server/pipeline/sync-call-job-ids.ts');
    const { syncCallResults } = await import('../../server/pipeline/sync-call-results.ts');
    const { taskId, jobIds, group } = await givenCallingTask(2);
    jobIds.forEach((jobId) => h.sim.finishJob(jobId, { status: 'Failed', failureReason: 'NoAnswer' }));
    const task = { id: taskId, name: 't', taskType: 2, jobGroupId: group };
    await syncCallJobIds(h.deps(), task, held(taskId));
    await syncCallResults(h.deps(), task, held(taskId));
    expect(await createFollowUpForJob(h.deps(), jobIds[0]!)).toMatchObject({ created: 1, alreadyDone: 0 });
    expect(await createFollowUpForJob(h.deps(), jobIds[0]!)).toMatchObject({ created: 0 });
    expect((await leadsOf(h.database.db, taskId)).map((l) => l.leadsFollowId !== null)).toEqual([true, false]);
    expect(await followsOf(h.database.db)).toHaveLength(1);
  });

  it('create_leads_follow_by_task_and_phone: finds a lead without job id by its phone, in any format, once', async () => {
    const { createFollowUpByTaskAndPhone } = await import('../../server/pipeline/create-follow-ups.ts');
    const taskId = await givenTask(h.database.db, { taskType: 3, jobGroupId: 'g' });
    await givenLeads(h.database.db, taskId, [
      { phone: '+86 138-5555-0001', callStatus: 'Failed' }, // status written outside autofollow, no job id
      { phone: '13855550002', callStatus: 'Failed' },
    ]);
    expect(await createFollowUpByTaskAndPhone(h.deps(), taskId, '13855550001')).toMatchObject({ created: 1 });
    expect(await createFollowUpByTaskAndPhone(h.deps(), taskId, '138 5555 0001')).toMatchObject({ created: 0 });
    expect(await createFollowUpByTaskAndPhone(h.deps(), taskId, '13999999999')).toMatchObject({ created: 0 });
    const leads = await leadsOf(h.database.db, taskId);
    expect(leads.map((l) => [l.leadsFollowId !== null, l.isInterested])).toEqual([[true, 0], [false, null]]);
  });
});
