// Every path that writes is_interested = 1 enqueues the hot lead in its own transaction (issue 11):
// the pipeline's analysis, a retried analysis that turns out interested, and 人工跟进.
import { asc } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { hotLeadEvents } from '../../server/db/schema/app.ts';
import { closeLeads } from '../../server/pipeline/close-leads.ts';
import { processTask } from '../../server/pipeline/process-task.ts';
import { retryFailedAnalyses } from '../../server/pipeline/retry-analysis.ts';
import { givenLeads, givenTask, leadsOf } from '../helpers/builders.ts';
import { usePipelineHarness } from '../helpers/pipeline.ts';
import { randomPhones } from '../helpers/seeded-random.ts';

const h = usePipelineHarness();

const events = () => h.database.db.select().from(hotLeadEvents).orderBy(asc(hotLeadEvents.id));

async function givenCalledTask(kinds: Array<'interested' | 'not-interested' | 'unclear'>) {
  const group = h.sim.createJobGroup();
  const numbers = randomPhones(kinds.length);
  const taskId = await givenTask(h.database.db, { jobGroupId: group });
  const leadIds = await givenLeads(h.database.db, taskId, numbers.map((phone) => ({ phone })));
  h.sim.assignJobs(group, numbers.map((phone) => ({ phone }))).forEach((jobId, i) => h.sim.finishJob(jobId, { status: 'Succeeded', kind: kinds[i]! }));
  return { taskId, leadIds };
}

describe('hot-lead outbox', () => {
  it('gets one event per interested lead the pipeline writes, pointing at its follow record', async () => {
    const { taskId, leadIds } = await givenCalledTask(['interested', 'not-interested', 'interested']);
    await processTask(h.deps(), taskId, { trigger: 'cli' });
    const leads = await leadsOf(h.database.db, taskId);
    expect(leads.map((l) => l.isInterested)).toEqual([1, 2, 1]);
    expect((await events()).map((e) => [e.taskId, e.leadRowId, e.followId])).toEqual([
      [taskId, leadIds[0], leads[0]!.leadsFollowId],
      [taskId, leadIds[2], leads[2]!.leadsFollowId],
    ]);
    await processTask(h.deps(), taskId, { trigger: 'cli' }); // nothing new: no second event
    expect(await events()).toHaveLength(2);
  });

  it('gets an event when a retried analysis finds the lead interested, and none for one that stays at 0', async () => {
    const { taskId, leadIds } = await givenCalledTask(['interested', 'unclear']);
    h.llm.failNext('invalid-answer', { times: 2 });
    await processTask(h.deps(), taskId, { trigger: 'cli' });
    expect(await events()).toEqual([]); // failed analyses wrote is_interested 0
    await retryFailedAnalyses(h.deps(), taskId, { trigger: 'dashboard' });
    expect((await events()).map((e) => e.leadRowId)).toEqual([leadIds[0]]);
  });

  it('gets an event for each lead a person closes as interested (人工跟进)', async () => {
    const taskId = await givenTask(h.database.db, { jobGroupId: 'jg-x' });
    const ids = await givenLeads(h.database.db, taskId, [{ phone: '13900000001', callJobId: 'job-1' }, { phone: '13900000002', callJobId: 'job-2' }]);
    await h.database.pool.query("INSERT INTO af_lead_states (lead_row_id, task_id, last_job_status) VALUES (?, ?, 'Cancelled'), (?, ?, 'Cancelled')", [ids[0], taskId, ids[1], taskId]);
    await closeLeads(h.deps(), taskId, { cause: 'cancelled', remark: '已电话联系，周六到店', interest: 1, nextFollowTime: null }, 'alice');
    expect((await events()).map((e) => e.leadRowId)).toEqual(ids);
  });
});
