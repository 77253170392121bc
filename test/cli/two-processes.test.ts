// Two copies of the service, as real processes, running `run-once` at the same moment against one
// database: they coordinate through MySQL alone, so every lead still gets exactly one follow record.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLlmSimulator, type LlmSimulator } from '../../server/simulator/llm.ts';
import { startOutboundBotSimulator, type OutboundBotSimulator } from '../../server/simulator/outboundbot.ts';
import { simulatorEnv } from '../../server/simulator/simulator-env.ts';
import { givenLeads, givenTask, phones, stageOf } from '../helpers/builders.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { runCli } from '../helpers/run-cli.ts';

let database: TestDatabase;
let sim: OutboundBotSimulator;
let llm: LlmSimulator;
beforeAll(async () => {
  [database, sim, llm] = await Promise.all([createTestDatabase(), startOutboundBotSimulator(), startLlmSimulator()]);
});
afterAll(async () => {
  await Promise.all([sim?.stop(), llm?.stop()]);
  await database?.drop();
});

describe('two processes', () => {
  it('run-once in two processes at once: each task processed by one of them, one follow record per lead', async () => {
    const tasks: number[] = [];
    for (let t = 0; t < 4; t++) {
      const group = sim.createJobGroup();
      const numbers = phones(25, t * 100);
      const taskId = await givenTask(database.db, { jobGroupId: group });
      await givenLeads(database.db, taskId, numbers.map((phone) => ({ phone })));
      sim.assignJobs(group, numbers.map((phone) => ({ phone }))).forEach((jobId, i) =>
        sim.finishJob(jobId, i % 4 === 0 ? { status: 'Failed', failureReason: 'NoAnswer' } : { status: 'Succeeded', kind: 'interested' }),
      );
      tasks.push(taskId);
    }
    const env = { DATABASE_URL: database.url, ...simulatorEnv(sim, llm), LOG_LEVEL: 'warn' };
    const [a, b] = await Promise.all([runCli(['run-once'], env), runCli(['run-once'], env)]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const [failures] = await database.pool.query("SELECT task_id, error_message FROM af_task_runs WHERE outcome <> 'ok'");
    expect(failures).toEqual([]);

    const [[counts]] = (await database.pool.query(
      `SELECT (SELECT COUNT(*) FROM dcc_leads_follow) AS follows,
              (SELECT COUNT(DISTINCT leads_follow_id) FROM leads_task_list) AS followed,
              (SELECT COUNT(*) FROM leads_task_list) AS leads`,
    )) as unknown as [[{ follows: number; followed: number; leads: number }]];
    expect(counts).toEqual({ follows: 100, followed: 100, leads: 100 });
    expect(await Promise.all(tasks.map((t) => stageOf(database.db, t)))).toEqual([4, 4, 4, 4]);
    // No task was run twice at the same time: one run per task, whichever process it was.
    const [runs] = (await database.pool.query('SELECT task_id, COUNT(*) AS n FROM af_task_runs GROUP BY task_id')) as unknown as [Array<{ n: number }>];
    expect(runs.map((r) => r.n)).toEqual([1, 1, 1, 1]);
  }, 60_000);
});
