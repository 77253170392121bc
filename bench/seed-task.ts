// One call task for the benchmarks: `leads` leads on the simulator whose jobs are final, written to
// the database in blocks of 1,000 rows.
import { givenTask } from '../test/helpers/builders.ts';
import type { PipelineHarness } from '../test/helpers/pipeline.ts';

/** One task of `leads` leads whose jobs are final: 30% Failed, the rest Succeeded with a conversation. */
export async function seedTask(h: PipelineHarness, leads: number, failedShare = 0.3): Promise<number> {
  const group = h.sim.createJobGroup('bench');
  const taskId = await givenTask(h.database.db, { name: `bench ${leads}`, jobGroupId: group });
  const numbers = Array.from({ length: leads }, (_, i) => `13${String(100_000_000 + i).slice(-9)}`);
  for (let i = 0; i < leads; i += 1000) {
    await h.database.pool.query('INSERT INTO leads_task_list (task_id, leads_id, leads_phone) VALUES ?', [
      numbers.slice(i, i + 1000).map((phone, j) => [taskId, i + j + 1, phone]),
    ]);
  }
  const jobIds = h.sim.assignJobs(group, numbers.map((phone) => ({ phone })));
  jobIds.forEach((jobId, i) => {
    const kind = (i % 10) / 10;
    if (kind < failedShare) h.sim.finishJob(jobId, { status: 'Failed', failureReason: 'NoAnswer', taskStatus: 'NoAnswer' });
    else h.sim.finishJob(jobId, { status: 'Succeeded', kind: i % 3 === 0 ? 'interested' : i % 3 === 1 ? 'not-interested' : 'unclear' });
  });
  return taskId;
}
