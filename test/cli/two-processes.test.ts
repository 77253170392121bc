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
    // No task was run twice at the same time. A second, later run of a task is allowed: a process
    // that read the task as pending just before the other finished it may claim it after the
    // release, find nothing to do, and write nothing (the counts above prove that).
    const [runs] = (await database.pool.query(
      'SELECT task_id AS taskId, started_at AS startedAt, finished_at AS finishedAt FROM af_task_runs ORDER BY task_id, started_at, id',
    )) as unknown as [Array<{ taskId: number; startedAt: string; finishedAt: string }>];
    expect(new Set(runs.map((r) => r.taskId))).toEqual(new Set(tasks));
    runs.forEach((run, i) => {
      const previous = runs[i - 1];
      if (previous?.taskId === run.taskId) expect(run.startedAt >= previous.finishedAt, `task ${run.taskId} ran twice at once`).toBe(true);
    });
  }, 60_000);
});
