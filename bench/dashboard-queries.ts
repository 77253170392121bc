// Times every dashboard read (server/dashboard/) against the database bench/seed-large.ts fills, and
// EXPLAINs each statement they ran, listing any full scan of leads_task_list or dcc_leads_follow.
// Prints figures; asserts nothing. Run: npx tsx bench/seed-large.ts && npx tsx bench/dashboard-queries.ts
import type mysql from 'mysql2/promise';
import { loadConfig } from '../server/config.ts';
import { openDatabase } from '../server/db/client.ts';
import { LEAD_FILTERS, listLeads } from '../server/dashboard/lead-list.ts';
import { findStuckPage } from '../server/dashboard/stuck.ts';
import { countTasksByStage, listTasks, readTaskRow } from '../server/dashboard/task-list.ts';
import { planTasks } from './seed-large.ts';

const RUNS = 5;
const config = loadConfig();
const url = new URL(config.databaseUrl);
url.pathname = '/autofollow_bench';
let captured: Array<{ sql: string; params: unknown[] }> = [];
const { db, pool, close } = openDatabase(url.toString(), { connectionLimit: 4, onQuery: (sql, params) => captured.push({ sql, params }) });

interface Result { name: string; median: number; min: number; max: number; rows: string; statements: Array<{ sql: string; params: unknown[] }> }
const results: Result[] = [];

async function measure(name: string, run: () => Promise<unknown>, describe: (value: unknown) => string): Promise<void> {
  const times: number[] = [];
  let value: unknown;
  let statements: Result['statements'] = [];
  for (let i = 0; i < RUNS; i++) {
    captured = [];
    const started = performance.now();
    value = await run();
    times.push(performance.now() - started);
    statements = captured;
  }
  times.sort((a, b) => a - b);
  results.push({ name, median: times[Math.floor(RUNS / 2)]!, min: times[0]!, max: times[RUNS - 1]!, rows: describe(value), statements });
}

const pageOf = (v: unknown) => {
  const r = v as { rows: unknown[]; hasNext: boolean; matching?: number };
  return `${r.rows.length} rows${r.hasNext ? ', more' : ''}${r.matching !== undefined ? `, ${r.matching} matching` : ''}`;
};

try {
  const [[sizes]] = await pool.query<mysql.RowDataPacket[]>(
    `SELECT (SELECT COUNT(*) FROM call_tasks) AS tasks, (SELECT COUNT(*) FROM leads_task_list) AS leads,
            (SELECT COUNT(*) FROM dcc_leads_follow) AS follows, (SELECT COUNT(*) FROM af_lead_states) AS states`,
  );
  if (!sizes || Number(sizes.tasks) === 0) throw new Error('autofollow_bench is empty: run npx tsx bench/seed-large.ts first.');
  const plan = planTasks({ tasks: Number(sizes.tasks), leadsPerTask: 1000, biggestTaskLeads: 50_000 });
  const biggest = plan.reduce((a, b) => (b.leads > a.leads ? b : a));
  const typical = [...plan].reverse().find((t) => t.kind === 'done')!;
  console.log(`autofollow_bench: ${sizes.tasks} tasks, ${sizes.leads} leads, ${sizes.follows} follow records, ${sizes.states} af_lead_states rows`);
  console.log(`typical task ${typical.id} (${typical.leads} leads, stage ${typical.stage}); biggest task ${biggest.id} (${biggest.leads} leads, stage ${biggest.stage})\n`);

  await measure('listTasks page 1', () => listTasks(db, { page: 1, pageSize: 20 }), pageOf);
  await measure('listTasks page 40', () => listTasks(db, { page: 40, pageSize: 20 }), pageOf);
  await measure('listTasks stage 3', () => listTasks(db, { stage: 3, page: 1, pageSize: 20 }), pageOf);
  await measure('listTasks q=杭州', () => listTasks(db, { q: '杭州', page: 1, pageSize: 20 }), pageOf);
  await measure('countTasksByStage', () => countTasksByStage(db), (v) => JSON.stringify(v));
  await measure(`readTaskRow biggest`, () => readTaskRow(db, biggest.id), (v) => `${(v as { progress: { total: number } }).progress.total} leads`);
  await measure(`readTaskRow typical`, () => readTaskRow(db, typical.id), (v) => `${(v as { progress: { total: number } }).progress.total} leads`);
  for (const [label, t] of [['typical', typical], ['biggest', biggest]] as const) {
    const [[sample]] = await pool.query<mysql.RowDataPacket[]>('SELECT leads_phone, leads_name FROM leads_task_list WHERE task_id = ? ORDER BY id LIMIT 1 OFFSET 500', [t.id]);
    const digits = String(sample!.leads_phone).replace(/\D/g, '').slice(-11);
    const formatted = `+86 ${digits.slice(0, 3)}-${digits.slice(3, 7)}-${digits.slice(7)}`;
    await measure(`listLeads ${label} page 1`, () => listLeads(db, t.id, { page: 1, pageSize: 25 }), pageOf);
    await measure(`listLeads ${label} page 40`, () => listLeads(db, t.id, { page: 40, pageSize: 25 }), pageOf);
    if (t.leads > 10_000) await measure(`listLeads ${label} page 1000`, () => listLeads(db, t.id, { page: 1000, pageSize: 25 }), pageOf);
    for (const state of LEAD_FILTERS) await measure(`listLeads ${label} ${state}`, () => listLeads(db, t.id, { state, page: 1, pageSize: 25 }), pageOf);
    await measure(`listLeads ${label} q=${sample!.leads_name}`, () => listLeads(db, t.id, { q: String(sample!.leads_name), page: 1, pageSize: 25 }), pageOf);
    await measure(`listLeads ${label} q=+86 phone`, () => listLeads(db, t.id, { q: formatted, page: 1, pageSize: 25 }), pageOf);
  }
  await measure('findStuck (the /stuck page: 50)', () => findStuckPage(db, { stuckAfterSeconds: config.stuckAfterSeconds, leaseSeconds: config.leaseSeconds, limit: 50, timeZone: config.timeZone }),
    (v) => `${(v as { tasks: unknown[] }).tasks.length} of ${(v as { total: number }).total} tasks`);

  console.log(`${'query'.padEnd(44)} ${'median'.padStart(9)} ${'min'.padStart(9)} ${'max'.padStart(9)}  result`);
  for (const r of results) {
    console.log(`${r.name.padEnd(44)} ${r.median.toFixed(1).padStart(6)} ms ${r.min.toFixed(1).padStart(6)} ms ${r.max.toFixed(1).padStart(6)} ms  ${r.rows}`);
  }

  const scans: string[] = [];
  const seen = new Set<string>();
  const connection = await pool.getConnection();
  try {
    for (const r of results) {
      for (const { sql, params } of r.statements) {
        // The same text with other parameters (another task) can get another plan: EXPLAIN each.
        const key = `${sql}\u0000${JSON.stringify(params)}`;
        if (seen.has(key) || !/leads_task_list|dcc_leads_follow/.test(sql)) continue;
        seen.add(key);
        const [plan] = await connection.query<mysql.RowDataPacket[]>(`EXPLAIN ${sql}`, params);
        for (const row of plan) {
          if ((row.table === 'leads_task_list' || row.table === 'dcc_leads_follow') && (row.type === 'ALL' || row.type === 'index' || row.key === null)) {
            scans.push(`${r.name}: ${row.table} type=${row.type} key=${row.key} rows=${row.rows}`);
          }
        }
      }
    }
  } finally {
    connection.release();
  }
  console.log(`\nEXPLAIN of ${seen.size} distinct statements (with their parameters) on leads_task_list/dcc_leads_follow: ${scans.length === 0 ? 'no full scan' : `${scans.length} full scan(s):`}`);
  for (const line of scans) console.log(`  ${line}`);
} finally {
  await close();
}
