// migrate, diagnose and run-once through the real entry point, against a real database.
import { describe, expect, it } from 'vitest';
import { callTasks, leadsTaskList } from '../../server/db/schema/crm.ts';
import { adminQuery, testDatabaseName, urlFor, useTestDatabase } from '../helpers/database.ts';
import { FAKE_LIVE_ENV, runCli } from '../helpers/run-cli.ts';

const db = useTestDatabase();

async function givenTask(taskType: number, leads: number): Promise<number> {
  const [task] = await db.db.insert(callTasks).values({ taskName: '春季试驾邀约', taskType, jobGroupId: 'jg-cli-1' }).$returningId();
  const taskId = task!.id;
  if (leads > 0) {
    await db.db.insert(leadsTaskList).values(
      Array.from({ length: leads }, (_, i) => ({ taskId, leadsId: 1000 + i, leadsName: `客户${i}`, leadsPhone: `1380013${String(i).padStart(4, '0')}` })),
    );
  }
  return taskId;
}

describe('migrate', () => {
  it('creates a missing database and its tables, then reports nothing to do the second time', async () => {
    const name = testDatabaseName('af_cli_migrate');
    try {
      const first = await runCli(['migrate'], { DATABASE_URL: urlFor(name) });
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(new RegExp(`^migrate: created database ${name}; tables .*af_task_leases.*call_tasks`));

      const second = await runCli(['migrate'], { DATABASE_URL: urlFor(name) });
      expect(second.code).toBe(0);
      expect(second.stdout).toBe(`migrate: database ${name} is already up to date, nothing to do\n`);
      expect(second.stderr).toBe('');
    } finally {
      await adminQuery(`DROP DATABASE IF EXISTS \`${name}\``);
    }
  });
});

describe('diagnose', () => {
  it('prints only the diagnosis JSON on stdout, with counts as JSON numbers', async () => {
    const taskId = await givenTask(2, 3);
    const result = await runCli(['diagnose', String(taskId), '--json'], { DATABASE_URL: db.url });
    expect(result.code).toBe(0);
    const diagnosis = JSON.parse(result.stdout);
    expect(diagnosis.task).toMatchObject({ id: taskId, name: '春季试驾邀约', taskType: 2, jobGroupId: 'jg-cli-1' });
    expect(typeof diagnosis.eligible).toBe('boolean');
    expect(diagnosis.stats).toEqual({ total: 3, called: 0, withStatus: 0, succeeded: 0, failed: 0, withConversation: 0, withFollow: 0, withInterest: 0 });
    for (const count of Object.values(diagnosis.leadReasons)) expect(typeof count).toBe('number');
    expect(diagnosis.lease).toBeNull();
    expect(diagnosis.lastRuns).toEqual([]);
    // Phone numbers are personal data: masked even in the JSON.
    expect(result.stdout).not.toContain('13800130000');
  });

  it('keeps the JSON reasons English for scripts, whatever --lang says, beside the codes and their facts', async () => {
    const taskId = await givenTask(2, 3);
    const leadIds = (await db.db.select({ id: leadsTaskList.id }).from(leadsTaskList)).map((row) => row.id).sort((a, b) => a - b);
    const result = await runCli(['diagnose', String(taskId), '--json', '--lang', 'zh'], { DATABASE_URL: db.url });
    expect(result.code).toBe(0);
    const diagnosis = JSON.parse(result.stdout);
    expect(diagnosis.reasons).toEqual(['3 leads not synced: no call_job_id yet']);
    expect(diagnosis.reasonCodes).toEqual([{ code: 'not-synced', count: 3, leadIds }]);
  });

  it('prints the reasons in English by default and in Chinese with --lang zh', async () => {
    const taskId = await givenTask(2, 3);
    const english = await runCli(['diagnose', String(taskId)], { DATABASE_URL: db.url });
    expect(english.code).toBe(0);
    expect(english.stdout).toContain('  - 3 leads not synced: no call_job_id yet\n');
    expect(english.stdout).toMatch(/not synced \(no call_job_id\)\s+3/);
    expect(english.stdout).not.toContain('条线索');

    const chinese = await runCli(['diagnose', String(taskId), '--lang', 'zh'], { DATABASE_URL: db.url });
    expect(chinese.code).toBe(0);
    expect(chinese.stdout).toContain('  - 3 条线索尚未同步：还没有 call_job_id\n');
    expect(chinese.stdout).toMatch(/尚未同步（没有 call_job_id）\s+3/);
    expect(chinese.stdout).not.toContain('not synced');
    // The whole report, headings and columns too
    expect(chinese.stdout).toContain(`任务 ${taskId}“春季试驾邀约”`);
    expect(chinese.stdout).toContain('可以处理：是');
    expect(chinese.stdout).toMatch(/总数\s+已分配外呼\s+有最终状态/);
    expect(chinese.stdout).toContain('租约：空闲');
    expect(chinese.stdout).not.toMatch(/Eligible|Leads|Lease|Last runs|times in/);
  });

  it("says a blocked lead's detail in the report's language; the JSON keeps it English beside its code", async () => {
    const taskId = await givenTask(2, 2);
    await db.pool.query("UPDATE leads_task_list SET call_job_id = 'job-cli-1' WHERE task_id = ? AND leads_id = 1000", [taskId]);
    const json = JSON.parse((await runCli(['diagnose', String(taskId), '--json', '--lang', 'zh'], { DATABASE_URL: db.url })).stdout);
    expect(json.blockedLeads[0]).toMatchObject({ reason: 'still-calling', detail: 'not fetched yet', detailCode: { code: 'not-fetched' } });
    const english = await runCli(['diagnose', String(taskId)], { DATABASE_URL: db.url });
    expect(english.stdout).toMatch(/still calling \(no final status\)\s+not fetched yet/);
    const chinese = await runCli(['diagnose', String(taskId), '--lang', 'zh'], { DATABASE_URL: db.url });
    expect(chinese.stdout).toMatch(/外呼中（尚无最终状态）\s+尚未读取任务/);
    expect(chinese.stdout).not.toContain('not fetched');
  });

  it('exits 0 and says "no" for a task that is not eligible', async () => {
    const taskId = await givenTask(4, 1);
    const result = await runCli(['diagnose', String(taskId)], { DATABASE_URL: db.url });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Task ${taskId} "春季试驾邀约"`);
    expect(result.stdout).toContain('Eligible for processing: no');
    expect(result.stdout).toMatch(/total\s+called\s+with status/);
    expect(result.stdout).toContain('Lease: free');
  });

  it('exits 1 with one line for a task that does not exist', async () => {
    const result = await runCli(['diagnose', '999'], { DATABASE_URL: db.url });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.errorLines).toEqual(['autofollow: task 999 does not exist']);
  });

  it('tells the operator to migrate when the database does not exist yet', async () => {
    const result = await runCli(['diagnose', '1'], { DATABASE_URL: urlFor(testDatabaseName('af_cli_absent')) });
    expect(result.code).toBe(1);
    expect(result.errorLines).toEqual([expect.stringMatching(/^autofollow: database "af_cli_absent_\w+" does not exist at 127\.0\.0\.1:3306\. Run `npx autofollow migrate`/)]);
  });
});

describe('run-once', () => {
  it('runs one pass, prints its summary and exits 0 even when the API is down for a task', async () => {
    const taskId = await givenTask(2, 2);
    const result = await runCli(['run-once'], { ...FAKE_LIVE_ENV, DATABASE_URL: db.url });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^monitor pass: 1 pending, 1 processed, 0 skipped, .* in \d+ ms/);
    // The failure is the pipeline's to record (DESIGN §3.9), visible in the run history.
    const [rows] = await db.pool.query(`SELECT outcome, \`trigger\` FROM af_task_runs WHERE task_id = ?`, [taskId]);
    expect(rows).toEqual([expect.objectContaining({ trigger: 'cli' })]);
    expect((rows as Array<{ outcome: string }>)[0]!.outcome).not.toBe('ok');
  });

  it('exits 0 with an empty pass when nothing is pending', async () => {
    const result = await runCli(['run-once'], { ...FAKE_LIVE_ENV, DATABASE_URL: db.url });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^monitor pass: 0 pending, 0 processed, 0 skipped/);
  });
});
