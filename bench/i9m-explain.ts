import { loadConfigWith } from '../server/config.ts';
import { openDatabase } from '../server/db/client.ts';
import { readTaskProgress } from '../server/read-model/task-progress.ts';
import { countLeadReasons } from '../server/read-model/lead-reasons.ts';
import { diagnoseTask } from '../server/pipeline/diagnose.ts';
const base = loadConfigWith(process.env);
const url = new URL(base.databaseUrl); url.pathname = '/af_bench_issue9model';
const config = loadConfigWith({ ...process.env, DATABASE_URL: url.toString() });
const statements: Array<{ sql: string; params: unknown[] }> = [];
const database = openDatabase(config.databaseUrl, { onQuery: (sql, params) => statements.push({ sql, params }) });
const which = process.argv[2] ?? 'progress';
if (which === 'progress') await readTaskProgress(database.db, 995, { withConversation: true });
else if (which === 'reasons') await countLeadReasons(database.db, 995, '2020-01-01 00:00:00');
else await diagnoseTask({ db: database.db, config, clock: { now: () => Date.now() } } as never, 995);
const list = [...statements];
for (const s of list) {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) { const t0 = performance.now(); await database.pool.query(s.sql, s.params); times.push(performance.now() - t0); }
  times.sort((a, b) => a - b);
  const [plan] = (await database.pool.query(`EXPLAIN ${s.sql}`, s.params)) as any;
  console.log(`${times[2]!.toFixed(1)} ms  ${s.sql.slice(0, 200)}`);
  for (const r of plan) console.log(`    ${r.table} ${r.type} key=${r.key} rows=${r.rows} ${r.Extra ?? ''}`);
}
await database.close();
