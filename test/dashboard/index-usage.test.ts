// Every dashboard read must stay on an index of leads_task_list and dcc_leads_follow: with a million
// lead rows a full scan (or a walk of the primary key, which a small LIMIT tempts the optimiser into)
// takes seconds. Captures the SQL of real reads and EXPLAINs each one with its own parameters.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEAD_FILTERS, listLeads, readLead } from '../../server/dashboard/lead-list.ts';
import { findStuck } from '../../server/dashboard/stuck.ts';
import { countTasksByStage, listTasks, readTaskRow } from '../../server/dashboard/task-list.ts';
import { readSparklines } from '../../server/dashboard/task-sparklines.ts';
import { readTaskTrends } from '../../server/dashboard/task-trends.ts';
import { readDailyLlmUsage, readTaskLlmUsage } from '../../server/dashboard/llm-usage.ts';
import { CHANNELS } from '../../server/notify/channels.ts';
import { countDead, recentDeliveries } from '../../server/notify/deliveries.ts';
import { givenTask } from '../helpers/builders.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { arrangeLeads, crmAgo, givenRun, TZ } from './fixtures.ts';
const PRICES = { perThousandInput: 0.0008, perThousandOutput: 0.002 };

let database: TestDatabase;
const statements: Array<{ sql: string; params: unknown[] }> = [];

beforeAll(async () => {
  database = await createTestDatabase({ onQuery: (sql, params) => statements.push({ sql, params }) });
});
afterAll(async () => database?.drop());

/** Finished tasks first, so the tasks under test sit at the end of the primary key, as new tasks do;
 * many small ones, so a page of 20 tasks is a small part of the table, as it is in production. */
async function givenBackground(tasks: number, leadsPerTask: number) {
  for (let t = 0; t < tasks; t++) await givenFinishedLeads(await givenTask(database.db, { taskType: 4, jobGroupId: `done-${t}` }), t, leadsPerTask);
  await database.pool.query('ANALYZE TABLE leads_task_list, dcc_leads_follow, af_lead_states, af_task_runs');
}

async function givenFinishedLeads(taskId: number, t: number, leadsPerTask: number) {
  {
    const values = Array.from({ length: leadsPerTask }, (_, i) => [
      taskId, 100_000 + t * leadsPerTask + i, `王${i}`, `1390000${String(i).padStart(4, '0')}`, `job-${t}-${i}`, i % 3 ? 'Failed' : 'Succeeded', 100_000 + t * leadsPerTask + i, 0,
    ]);
    await database.pool.query(
      'INSERT INTO leads_task_list (task_id, leads_id, leads_name, leads_phone, call_job_id, call_status, leads_follow_id, is_interested) VALUES ?',
      [values],
    );
    await database.pool.query(
      `INSERT INTO dcc_leads_follow (id, leads_id, follow_time, leads_remark) SELECT leads_follow_id, leads_id, '2026-01-01 10:00:00', '未接通'
         FROM leads_task_list WHERE task_id = ?`,
      [taskId],
    );
  }
}

/** 14 days of hourly counts for the background tasks and the active one, and deliveries in every state. */
async function givenActivityAndDeliveries(active: number) {
  const hours = Array.from({ length: 14 * 24 }, (_, h) => h);
  await database.pool.query(
    'INSERT INTO af_task_activity (task_id, hour, calls_finished, follows_written) VALUES ?',
    [[active, ...Array.from({ length: 60 }, (_, i) => active - 1 - i)].flatMap((taskId) => hours.filter((h) => (h + taskId) % 4 === 0).map((h) => [
      taskId, new Date(Math.floor(Date.now() / 3_600_000 - h) * 3_600_000), 1 + (h % 7), h % 5,
    ]))],
  );
  await database.pool.query(
    'INSERT INTO af_hot_lead_events (event_id, task_id, lead_row_id, follow_id, created_at, fanned_out) VALUES ?',
    [Array.from({ length: 300 }, (_, i) => [`e-${i}`, active, i + 1, i + 1, new Date(), 1])],
  );
  const [events] = await database.pool.query<mysql.RowDataPacket[]>('SELECT id FROM af_hot_lead_events');
  await database.pool.query(
    'INSERT INTO af_deliveries (hot_lead_id, channel, state, attempts, next_attempt_at, created_at) VALUES ?',
    [events.flatMap((e, i) => CHANNELS.map((channel) => [e.id, channel, i % 50 === 0 ? 'dead' : i % 10 === 0 ? 'pending' : 'sent', 1, new Date(), new Date()]))],
  );
  await database.pool.query('ANALYZE TABLE af_task_activity, af_deliveries, af_hot_lead_events');
}

/** Each statement's EXPLAIN rows, run with its own parameters. */
async function explainEach(list: Array<{ sql: string; params: unknown[] }>): Promise<Array<{ sql: string; row: mysql.RowDataPacket }>> {
  const plans: Array<{ sql: string; row: mysql.RowDataPacket }> = [];
  const connection = await database.pool.getConnection();
  try {
    for (const { sql, params } of list) {
      const [plan] = await connection.query<mysql.RowDataPacket[]>(`EXPLAIN ${sql}`, params);
      for (const row of plan) plans.push({ sql, row });
    }
  } finally {
    connection.release();
  }
  return plans;
}

describe('index use of the dashboard reads', () => {
  it('runs no full scan of leads_task_list or dcc_leads_follow', async () => {
    await givenBackground(400, 100);
    // A big task, finished leads first: a filter's page lies past them. Here a small LIMIT makes the
    // optimiser want to walk the primary key from the table's first row (seen on a million rows).
    const active = await givenTask(database.db, { name: '杭州 回访', taskType: 2, jobGroupId: 'g-active' });
    await givenFinishedLeads(active, 1000, 1500);
    const leadIds = await arrangeLeads(database.db, active, Array.from({ length: 60 }, (_, i) => ({
      phone: `+86 137-0000-${String(i).padStart(4, '0')}`, name: `张${i}`,
      callJobId: i < 40 ? `a-${i}` : null, callStatus: i < 20 ? 'Failed' : i < 30 ? 'Succeeded' : null, updatedTime: crmAgo(i < 25 ? 60 : 86_400),
      state: i === 45 ? { notInGroupSince: new Date() } : i === 22 ? { analysisStatus: 'failed' } : i === 35 ? { lastJobStatus: 'Cancelled' } : undefined,
    })));
    await givenRun(database.db, active, { outcome: 'partial', agoSeconds: 60 });
    await database.pool.query('ANALYZE TABLE leads_task_list, af_lead_states');

    statements.length = 0;
    await listTasks(database.db, { page: 1, pageSize: 20 });
    await listTasks(database.db, { page: 2, pageSize: 20, stage: 4, q: '回访' });
    await countTasksByStage(database.db);
    await readTaskRow(database.db, active);
    for (const state of [undefined, ...LEAD_FILTERS]) {
      await listLeads(database.db, active, { state, page: 1, pageSize: 10 });
      await listLeads(database.db, active, { state, page: 3, pageSize: 10 });
    }
    await listLeads(database.db, active, { q: '张1', page: 1, pageSize: 10 });
    await listLeads(database.db, active, { q: '+86 137-0000-0012', page: 1, pageSize: 10 });
    await readLead(database.db, active, leadIds[3]!);
    await findStuck(database.db, { stuckAfterSeconds: 3600, leaseSeconds: 300, limit: 50, timeZone: TZ });
    // Issue 11: the task page's trends and interest split, the overview's sparklines, /deliveries and its gauge.
    await givenActivityAndDeliveries(active);
    await readTaskTrends(database.db, active, Date.now(), TZ);
    await readSparklines(database.db, Array.from({ length: 50 }, (_, i) => active - i), Date.now(), TZ);
    for (const channel of CHANNELS) await recentDeliveries(database.db, channel, 20);
    await countDead(database.db);
    // Issue 12: the LLM's tokens and cost of the task page and of /usage (the same hourly counts), with
    // half a year of older hours behind the last 30 days, as a long-running service has.
    await database.pool.query('INSERT INTO af_task_activity (task_id, hour, analyses, input_tokens, output_tokens) VALUES ?', [
      Array.from({ length: 61 }, (_, t) => active - t).flatMap((taskId) => Array.from({ length: 600 }, (_, i) => [
        taskId, new Date(Math.floor(Date.now() / 3_600_000 - 31 * 24 - i * 6) * 3_600_000), 3, 3000, 600,
      ])),
    ]);
    await database.pool.query('ANALYZE TABLE af_task_activity');
    await readTaskLlmUsage(database.db, active, PRICES);
    await readDailyLlmUsage(database.db, Date.now(), TZ, PRICES);

    const onLeads = statements.filter((s) => /`?(leads_task_list|dcc_leads_follow)`?/.test(s.sql));
    expect(onLeads.length).toBeGreaterThan(20);
    const scans: string[] = [];
    for (const { sql, row } of await explainEach(onLeads)) {
      // const/system: one row known before the join (e.g. the lead of readLead had no follow record).
      const oneRow = row.type === 'const' || row.type === 'system';
      if ((row.table === 'leads_task_list' || row.table === 'dcc_leads_follow') && !oneRow && (row.type === 'ALL' || row.type === 'index' || row.key === null)) {
        scans.push(`${row.table} ${row.type} ${row.key}: ${sql.slice(0, 200)}`);
      }
    }
    expect(scans).toEqual([]);
    // Nor of the trends' hourly counts (a primary-key range per task) or of the deliveries (their indexes).
    const onIssue11 = statements.filter((s) => /af_task_activity|af_deliveries/.test(s.sql) && /^\s*select/i.test(s.sql));
    expect(onIssue11.length).toBeGreaterThanOrEqual(5 + CHANNELS.length);
    const issue11Scans = (await explainEach(onIssue11))
      .filter(({ row }) => /^af_(task_activity|deliveries|hot_lead_events)$/.test(String(row.table)) && (row.type === 'ALL' || row.type === 'index' || row.key === null))
      .map(({ sql, row }) => `${row.table} ${row.type} ${row.key}: ${sql.slice(0, 200)}`);
    expect(issue11Scans).toEqual([]);
  });

  it('reads /stuck from indexes: lead rows only for the leads that match, never all of a task', async () => {
    // The background of the test above is in place: 400 finished tasks and a big active one.
    const marked = await database.pool.query<mysql.RowDataPacket[]>('SELECT id, task_id FROM leads_task_list WHERE task_id <= 40 ORDER BY id LIMIT 40');
    const rows = marked[0].map((r, i) => [r.id, r.task_id, i % 2 ? new Date() : null, i % 4 === 0 ? 'Throttling' : null, i % 4 === 1 ? 'Cancelled' : 'Succeeded']);
    await database.pool.query('INSERT IGNORE INTO af_lead_states (lead_row_id, task_id, not_in_group_since, api_error_code, last_job_status) VALUES ?', [rows]);
    await database.pool.query('ANALYZE TABLE leads_task_list, af_lead_states, af_task_runs');
    statements.length = 0;
    await findStuck(database.db, { stuckAfterSeconds: 3600, leaseSeconds: 300, limit: 50, timeZone: TZ });
    const plans = (await explainEach(statements.filter((s) => /leads_task_list|af_lead_states|af_task_runs/.test(s.sql))))
      .filter(({ row }) => row.table)
      .map(({ row }) => `${row.table} ${row.type} ${row.key} ${row.key_len} ${/Using index(?! condition)/.test(row.Extra ?? '') ? 'index-only' : 'rows'}`);
    // Leads: the waiting-for-conversation range, the marked leads (index-only), and one row per
    // flagged state; never a task's every lead (idx_task, af_idx_task_job, or only the task_id part
    // of af_idx_task_progress: key_len 4) nor a scan.
    const onLeads = plans.filter((p) => p.startsWith('leads_task_list'));
    expect(onLeads.length).toBeGreaterThanOrEqual(3);
    expect(onLeads.filter((p) => !/ (range|ref|eq_ref) af_idx_task_progress (?!4 )\d+ | eq_ref PRIMARY /.test(p))).toEqual([]);
    // The marks: each one a point of the index (task, NULLs, row id), not its lead row.
    expect(onLeads.filter((p) => p.startsWith('leads_task_list eq_ref af_idx_task_progress') && p.endsWith('index-only'))).toHaveLength(1);
    expect(plans.filter((p) => / (ALL|index) /.test(p))).toEqual([]);
    expect(plans.filter((p) => p.includes('idx_af_lead_states_attention'))).toHaveLength(1); // API errors of stage 2-3 tasks
    expect(plans.filter((p) => p.includes('idx_af_lead_states_job_status'))).toHaveLength(1); // cancelled jobs at every stage
  });
});
