// Two copies of the service, as real processes, running `run-once` at the same moment against one
// database: they coordinate through MySQL alone, so every lead still gets exactly one follow record.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASKS_IN_PARALLEL } from '../../server/pipeline/monitor.ts';
import { startLlmSimulator, type LlmSimulator } from '../../server/simulator/llm.ts';
import { startOutboundBotSimulator, type OutboundBotSimulator } from '../../server/simulator/outboundbot.ts';
import { simulatorEnv } from '../../server/simulator/simulator-env.ts';
import { givenLeads, givenTask, phones, stageOf } from '../helpers/builders.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { runCli } from '../helpers/run-cli.ts';
import { until } from '../helpers/until.ts';

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
  it('run-once in two processes at once: both work, no task runs in both at once, one follow record per lead', async () => {
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
    // Every Outbound Bot answer is held, and a process works on at most TASKS_IN_PARALLEL tasks at a
    // time, so all four job groups are asked about only once the second process has claimed tasks
    // of its own: both processes do work, whichever of them starts first.
    expect(tasks.length).toBe(2 * TASKS_IN_PARALLEL);
    const release = sim.holdAnswers();
    const env = { DATABASE_URL: database.url, ...simulatorEnv(sim, llm), LOG_LEVEL: 'warn', OUTBOUNDBOT_TIMEOUT_MS: '60000' };
    const both = Promise.all([runCli(['run-once'], env), runCli(['run-once'], env)]);
    const groupsAsked = () => sim.requests.map((r) => r.params.JobGroupId).filter((group) => group !== undefined);
    const allAsked = await until('both processes to ask about their tasks\' job groups', () => new Set(groupsAsked()).size === tasks.length, { timeoutMs: 30_000 })
      .then(() => true, () => false);
    // Each run waits on its first request while answers are held: a group asked twice is one task
    // run by two processes at once (runs that change nothing keep no row, so the rows below miss them).
    const askedWhileHeld = groupsAsked();
    release(); // either way, so what went wrong shows below
    const [a, b] = await both;
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
    expect(askedWhileHeld.filter((group, i) => askedWhileHeld.indexOf(group) !== i), 'job groups asked about by two runs at once').toEqual([]);
    expect(allAsked, 'all four job groups asked about while every answer was held').toBe(true);
    const [failures] = await database.pool.query("SELECT task_id, error_message FROM af_task_runs WHERE outcome <> 'ok'");
    expect(failures).toEqual([]);

    const [[counts]] = (await database.pool.query(
      `SELECT (SELECT COUNT(*) FROM dcc_leads_follow) AS follows,
              (SELECT COUNT(DISTINCT leads_follow_id) FROM leads_task_list) AS followed,
              (SELECT COUNT(*) FROM leads_task_list) AS leads`,
    )) as unknown as [[{ follows: number; followed: number; leads: number }]];
    expect(counts).toEqual({ follows: 100, followed: 100, leads: 100 });
    expect(await Promise.all(tasks.map((t) => stageOf(database.db, t)))).toEqual([4, 4, 4, 4]);

    // Each run row names its process (owner = host:pid:random): both processes kept runs.
    const [runs] = (await database.pool.query(
      'SELECT id, task_id AS taskId, owner, started_at AS startedAt, finished_at AS finishedAt FROM af_task_runs',
    )) as unknown as [Array<{ id: number; taskId: number; owner: string; startedAt: string; finishedAt: string | null }>];
    const owners = new Set(runs.map((r) => r.owner));
    expect(owners.size, `runs by ${[...owners].join(', ')}`).toBe(2);
    expect(new Set(runs.map((r) => r.taskId))).toEqual(new Set(tasks));
    // No two runs of one task overlap in time, over every pair of rows. A later run of a finished
    // task is allowed (a process that read it as pending just before the other finished may claim it
    // after the release); it finds nothing to do and keeps no row.
    expect(runs.filter((r) => r.finishedAt === null)).toEqual([]);
    const overlapping = runs.flatMap((x) =>
      runs.filter((y) => y.id > x.id && y.taskId === x.taskId && x.startedAt < y.finishedAt! && y.startedAt < x.finishedAt!).map((y) => `task ${x.taskId}: runs ${x.id} and ${y.id}`),
    );
    expect(overlapping).toEqual([]);
  }, 120_000);
});
