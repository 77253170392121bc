// Every query the pipeline runs on leads_task_list must use an index: with a million lead rows a
// full scan per page would stall every pass. Captures the SQL of real passes and EXPLAINs each one.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPass } from '../../server/pipeline/monitor.ts';
import { diagnoseTask } from '../../server/pipeline/diagnose.ts';
import { givenTask } from '../helpers/builders.ts';
import { startPipelineHarness, type PipelineHarness } from '../helpers/pipeline.ts';

let h: PipelineHarness;
const statements: Array<{ sql: string; params: unknown[] }> = [];

beforeAll(async () => {
  h = await startPipelineHarness();
});
afterAll(async () => h?.close());

/** Other tasks' leads, so the optimiser has a reason to prefer an index over a scan. */
async function givenBackground(tasks: number, leadsPerTask: number) {
  for (let t = 0; t < tasks; t++) {
    const taskId = await givenTask(h.database.db, { taskType: 4, jobGroupId: `done-${t}` });
    const values = Array.from({ length: leadsPerTask }, (_, i) => [taskId, 100_000 + t * leadsPerTask + i, `1390000${String(i).padStart(4, '0')}`, `job-${t}-${i}`, 'Failed', 1, 0]);
    await h.database.pool.query(
      'INSERT INTO leads_task_list (task_id, leads_id, leads_phone, call_job_id, call_status, leads_follow_id, is_interested) VALUES ?',
      [values],
    );
  }
  await h.database.pool.query('ANALYZE TABLE leads_task_list, dcc_leads_follow');
}

describe('index use', () => {
  it('runs no full scan of leads_task_list in a pass or in diagnose', async () => {
    await givenBackground(40, 250);
    const group = h.sim.createJobGroup();
    const taskId = await givenTask(h.database.db, { jobGroupId: group });
    const numbers = Array.from({ length: 120 }, (_, i) => `1370000${String(i).padStart(4, '0')}`);
    await h.database.pool.query('INSERT INTO leads_task_list (task_id, leads_id, leads_phone) VALUES ?', [numbers.map((p, i) => [taskId, i + 1, p])]);
    const jobIds = h.sim.assignJobs(group, numbers.slice(0, 110).map((phone) => ({ phone })));
    jobIds.forEach((jobId, i) => h.sim.finishJob(jobId, i % 2 ? { status: 'Succeeded', kind: 'unclear' } : { status: 'Failed', failureReason: 'NoAnswer' }));

    const deps = h.deps();
    const logging = { ...deps, db: (await import('drizzle-orm/mysql2')).drizzle(h.database.pool, { logger: { logQuery: (sql, params) => statements.push({ sql, params }) } }) as typeof deps.db };
    await runPass(logging, { trigger: 'cli' });
    await runPass(logging, { trigger: 'cli' });
    await diagnoseTask(logging, taskId);

    const onLeads = statements.filter((s) => /`leads_task_list`/.test(s.sql) && !/^insert/i.test(s.sql));
    expect(onLeads.length).toBeGreaterThan(5);
    const scans: string[] = [];
    const connection = await h.database.pool.getConnection();
    try {
      for (const { sql, params } of dedupe(onLeads)) {
        const [plan] = await connection.query<mysql.RowDataPacket[]>(`EXPLAIN ${sql}`, params);
        for (const row of plan) {
          if (row.table === 'leads_task_list' && (row.type === 'ALL' || row.key === null)) scans.push(`${row.type} ${sql.slice(0, 160)}`);
        }
      }
    } finally {
      connection.release();
    }
    expect(scans).toEqual([]);
  });
});

function dedupe(list: Array<{ sql: string; params: unknown[] }>) {
  const seen = new Map<string, { sql: string; params: unknown[] }>();
  for (const s of list) if (!seen.has(s.sql)) seen.set(s.sql, s);
  return [...seen.values()];
}
