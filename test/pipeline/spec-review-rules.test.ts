// Issue 7 §8: smaller rules from a review against the spec, each through the real pipeline.
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/client.ts';
import { migrateDatabase } from '../../server/db/migrate.ts';
import { writeAudit, readAudit } from '../../server/audit-log.ts';
import { leadStates } from '../../server/db/schema/app.ts';
import { diagnoseTask } from '../../server/pipeline/diagnose.ts';
import { UNANSWERED_REMARK } from '../../server/pipeline/follow-up-remarks.ts';
import { runPass } from '../../server/pipeline/monitor.ts';
import { processTask } from '../../server/pipeline/process-task.ts';
import { pauseScheduler } from '../../server/scheduler/scheduler-switch.ts';
import { followsOf, givenLeads, givenTask, leadsOf, phones, statesOf } from '../helpers/builders.ts';
import { adminQuery, testDatabaseName, urlFor } from '../helpers/database.ts';
import { startPipelineHarness, usePipelineHarness } from '../helpers/pipeline.ts';
import { FAKE_LIVE_ENV, runCli } from '../helpers/run-cli.ts';

const h = usePipelineHarness();

async function givenCallingTask(n: number, start: number) {
  const group = h.sim.createJobGroup();
  const numbers = phones(n, start);
  const taskId = await givenTask(h.database.db, { jobGroupId: group });
  const leadIds = await givenLeads(h.database.db, taskId, numbers.map((phone) => ({ phone })));
  const jobIds = h.sim.assignJobs(group, numbers.map((phone) => ({ phone })));
  return { taskId, leadIds, jobIds };
}

describe('re-runs after 60 s', () => {
  it('are asked for after a network or server failure that outlasted the retries, not after a business error', async () => {
    const transient = await givenCallingTask(1, 10);
    h.sim.failNext('server-error', { action: 'ListJobsByGroup', times: 10 });
    const summary = await runPass(h.deps(), { trigger: 'cli' });
    expect(summary.retryLater).toEqual([{ taskId: transient.taskId, afterMs: 60_000 }]);
  });
});

describe("autofollow's own tables", () => {
  it('are utf8mb4 in a latin1 database, so Chinese operator names fit', async () => {
    const name = testDatabaseName('af_latin1');
    await adminQuery(`CREATE DATABASE \`${name}\` CHARACTER SET latin1`);
    const database = openDatabase(urlFor(name), { connectionLimit: 2 });
    try {
      await migrateDatabase(urlFor(name), name);
      await writeAudit(database.db, { actor: '张三（门店经理）', action: 'pause', taskId: 1, leadRowId: null, outcome: 'ok', detail: '暂停：客户投诉' });
      const [entry] = await readAudit(database.db, { limit: 1 });
      expect(entry).toMatchObject({ actor: '张三（门店经理）', detail: '暂停：客户投诉' });
      const [rows] = await database.pool.query<mysql.RowDataPacket[]>(
        "SELECT TABLE_NAME AS t, TABLE_COLLATION AS c FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'af\\_%'",
      );
      expect(rows.length).toBeGreaterThan(5);
      expect(rows.filter((r) => !String(r.c).startsWith('utf8mb4'))).toEqual([]);
    } finally {
      await database.close();
      await adminQuery(`DROP DATABASE IF EXISTS \`${name}\``);
    }
  });
});

describe('the LLM timeout', () => {
  it('is not capped by a short lease: LEASE_SECONDS=5 still gets an analysis that takes 3 s', async () => {
    const short = await startPipelineHarness({ LEASE_SECONDS: '5', LLM_TIMEOUT_MS: '10000' });
    try {
      const group = short.sim.createJobGroup();
      const taskId = await givenTask(short.database.db, { jobGroupId: group });
      await givenLeads(short.database.db, taskId, [{ phone: '13600001234' }]);
      const [jobId] = short.sim.assignJobs(group, [{ phone: '13600001234' }]);
      short.sim.finishJob(jobId!, { status: 'Succeeded', kind: 'interested' });
      short.llm.failNext('slow', { delayMs: 3000, times: 3 }); // every attempt takes 3 s
      await processTask(short.deps(), taskId, { trigger: 'cli' });
      const [lead] = await leadsOf(short.database.db, taskId);
      expect(lead!.isInterested).toBe(1);
      expect((await statesOf(short.database.db, taskId))[0]!.analysisStatus).toBe('ok');
    } finally {
      await short.close();
    }
  }, 30_000);
});

describe('diagnose', () => {
  it('counts every lead it lists, a lead without an af_lead_states row included', async () => {
    const taskId = await givenTask(h.database.db, { jobGroupId: 'g-diag' });
    const [calling, cancelled] = await givenLeads(h.database.db, taskId, [
      { phone: '13600000001', callJobId: 'job-a' }, // called, never fetched: no state row at all
      { phone: '13600000002', callJobId: 'job-b' },
    ]);
    await h.database.db.insert(leadStates).values({ leadRowId: cancelled!, taskId, lastJobStatus: 'Cancelled' });
    const diagnosis = (await diagnoseTask(h.deps(), taskId))!;
    expect(diagnosis.leadReasons['still-calling']).toBe(1);
    expect(diagnosis.leadReasons['job-cancelled']).toBe(1);
    const listed = diagnosis.blockedLeads.map((b) => [b.leadRowId, b.reason]);
    expect(listed).toEqual([[calling, 'still-calling'], [cancelled, 'job-cancelled']]);
    for (const [reason, count] of Object.entries(diagnosis.leadReasons)) {
      expect(diagnosis.blockedLeads.filter((b) => b.reason === reason)).toHaveLength(count);
    }
  });
});

describe('a Failed call', () => {
  it('is never stored without the failure reason its remark is made from', async () => {
    const { taskId, jobIds } = await givenCallingTask(1, 20);
    h.sim.finishJob(jobIds[0]!, { status: 'Failed', failureReason: 'NoAnswer', taskStatus: 'NoAnswer' });
    // The second write of the page fails (as a crash between the two would leave it).
    await h.database.pool.query(
      "CREATE TRIGGER af_test_fail_states BEFORE INSERT ON af_lead_states FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'simulated crash'",
    );
    try {
      await processTask(h.deps(), taskId, { trigger: 'cli' }).catch(() => undefined);
    } finally {
      await h.database.pool.query('DROP TRIGGER af_test_fail_states');
    }
    expect((await leadsOf(h.database.db, taskId))[0]!.callStatus).toBeNull(); // rolled back with it
    await processTask(h.deps(), taskId, { trigger: 'cli' });
    const [follow] = await followsOf(h.database.db);
    expect(follow!.leadsRemark).toBe(UNANSWERED_REMARK);
  });
});

describe('run-once', () => {
  it('honours the scheduler pause and says so; --force runs the pass anyway', async () => {
    await pauseScheduler(h.database.db, '王经理');
    const env = { ...FAKE_LIVE_ENV, DATABASE_URL: h.database.url };
    const paused = await runCli(['run-once'], env);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toMatch(/^the scheduler is paused \(by 王经理 since .*\): no pass was run; resume it on the dashboard, or run `autofollow run-once --force`\n$/);
    const forced = await runCli(['run-once', '--force'], env);
    expect(forced.code).toBe(0);
    expect(forced.stdout).not.toContain('paused');
    expect(forced.stdout).toMatch(/pass/);
  });
});
