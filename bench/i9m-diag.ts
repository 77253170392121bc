import { loadConfigWith } from '../server/config.ts';
import { openDatabase } from '../server/db/client.ts';
import { diagnoseTask } from '../server/pipeline/diagnose.ts';
import { readTaskProgress } from '../server/read-model/task-progress.ts';
import { countLeadReasons } from '../server/read-model/lead-reasons.ts';
import { readTaskRow } from '../server/dashboard/task-list.ts';
import { listLeads } from '../server/dashboard/lead-list.ts';
import { lastRuns } from '../server/pipeline/task-runs.ts';
const base = loadConfigWith(process.env);
const url = new URL(base.databaseUrl); url.pathname = '/af_bench_issue9model';
const config = loadConfigWith({ ...process.env, DATABASE_URL: url.toString() });
const database = openDatabase(config.databaseUrl);
const deps = { db: database.db, config, clock: { now: () => Date.now() } };
async function time(name: string, f: () => Promise<unknown>) {
  const t: number[] = [];
  for (let i = 0; i < 7; i++) { const s = performance.now(); await f(); t.push(performance.now() - s); }
  t.sort((a, b) => a - b);
  console.log(name.padEnd(34), t[3]!.toFixed(1), 'ms (min', t[0]!.toFixed(1), ')');
}
for (const id of [995]) {
  await time(`progress ${id}`, () => readTaskProgress(database.db, id));
  await time(`progress+conv ${id}`, () => readTaskProgress(database.db, id, { withConversation: true }));
  await time(`reasons ${id}`, () => countLeadReasons(database.db, id, '2020-01-01 00:00:00'));
  await time(`diagnose ${id}`, () => diagnoseTask(deps as never, id));
  await time(`taskRow ${id}`, () => readTaskRow(database.db, id));
  await time(`leads ${id}`, () => listLeads(database.db, id, { page: 1, pageSize: 50, timeZone: config.timeZone }));
  await time(`runs ${id}`, () => lastRuns(database.db, id, 20));
}
await database.close();
