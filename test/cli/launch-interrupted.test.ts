// Never twice (issue 10, reference §5.4): `autofollow launch` killed at each step, as a real process,
// and started again ends with one job group, one job per lead and the task at stage 2, every time.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startLlmSimulator, type LlmSimulator } from '../../server/simulator/llm.ts';
import type { FaultName, FaultOptions } from '../../server/simulator/faults.ts';
import { startOutboundBotSimulator, type OutboundBotSimulator } from '../../server/simulator/outboundbot.ts';
import { simulatorEnv } from '../../server/simulator/simulator-env.ts';
import { givenLeads, givenTask, phones, stageOf } from '../helpers/builders.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { collect, runCli, startCli } from '../helpers/run-cli.ts';

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
beforeEach(() => sim.clearFaults());

const LEADS = 250; // three AssignJobs batches: 99, 99, 52
const env = () => ({ DATABASE_URL: database.url, ...simulatorEnv(sim, llm), LOG_LEVEL: 'warn', LEASE_SECONDS: '5', OUTBOUNDBOT_TIMEOUT_MS: '2000', OUTBOUNDBOT_QPS: '100' });
const requestsOf = (action: string) => sim.requests.filter((r) => r.action === action).length;

/** Starts `launch`, waits until Outbound Bot has seen `count` requests of `action`, then kills the process with SIGKILL. */
async function launchAndKill(taskId: number, fault: FaultName, options: FaultOptions & { action: string }, count: number) {
  sim.failNext(fault, options);
  const before = requestsOf(options.action);
  const child = startCli(['launch', String(taskId), '--by', 'alice'], env());
  const ended = collect(child);
  await vi.waitFor(() => expect(requestsOf(options.action) - before).toBe(count), { timeout: 20_000, interval: 20 });
  child.kill('SIGKILL');
  expect((await ended).signal).toBe('SIGKILL');
  // The killed process's lease runs out (LEASE_SECONDS=5); until then a second launch is refused as busy.
  await vi.waitFor(async () => {
    const [rows] = await database.pool.query('SELECT 1 FROM af_task_leases WHERE task_id = ? AND expires_at > UTC_TIMESTAMP(3)', [taskId]);
    expect(rows).toEqual([]);
  }, { timeout: 10_000, interval: 100 });
}

async function expectLaunchedOnce(taskId: number, ids: number[]) {
  const again = await runCli(['launch', String(taskId), '--by', 'alice'], env());
  expect(again.errorLines).toEqual([]);
  expect(again.code).toBe(0);
  const groups = sim.jobGroups().filter((g) => g.name.endsWith(`[autofollow ${taskId}]`));
  expect(groups).toHaveLength(1);
  const refs = sim.jobsOf(groups[0]!.jobGroupId).map((j) => j.contact.referenceId).sort();
  expect(refs).toEqual(ids.map(String).sort());
  expect(await stageOf(database.db, taskId)).toBe(2);
  const [[task]] = (await database.pool.query('SELECT job_group_id AS g FROM call_tasks WHERE id = ?', [taskId])) as unknown as [[{ g: string }]];
  expect(task.g).toBe(groups[0]!.jobGroupId);
}

async function givenStageOneTask(offset: number) {
  const taskId = await givenTask(database.db, { taskType: 1, name: '中断测试' });
  const ids = await givenLeads(database.db, taskId, phones(LEADS, offset).map((phone) => ({ phone })));
  return { taskId, ids };
}

describe('a launch killed and started again', () => {
  it('killed before CreateJobGroup answers (the group was created): one group, one job per lead, stage 2', async () => {
    const { taskId, ids } = await givenStageOneTask(0);
    await launchAndKill(taskId, 'lost-answer', { action: 'CreateJobGroup' }, 1);
    await expectLaunchedOnce(taskId, ids);
  }, 60_000);

  it('killed between batches (batch 2 sent, not yet answered): one group, one job per lead, stage 2', async () => {
    const { taskId, ids } = await givenStageOneTask(1000);
    await launchAndKill(taskId, 'timeout', { action: 'AssignJobs', after: 1 }, 2);
    await expectLaunchedOnce(taskId, ids);
  }, 60_000);

  it('killed after the last batch landed, before the stage move: one group, one job per lead, stage 2', async () => {
    const { taskId, ids } = await givenStageOneTask(2000);
    await launchAndKill(taskId, 'lost-answer', { action: 'AssignJobs', after: 2 }, 3);
    await expectLaunchedOnce(taskId, ids);
  }, 60_000);
});
