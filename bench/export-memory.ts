// Memory of an export (issue 11): one task of N leads (default 50,000) with conversations and
// follow records, exported as .xlsx and .csv to /dev/null-like files; prints peak RSS and heap.
// `npx tsx bench/export-memory.ts [leads]` (uses autofollow_bench_export on DATABASE_URL's server, or
// BENCH_DATABASE).
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { openDatabase } from '../server/db/client.ts';
import { migrateDatabase } from '../server/db/migrate.ts';
import { exportRows } from '../server/export/export-rows.ts';
import { writeExport, type ExportFormat } from '../server/export/write-export.ts';

const n = Number(process.argv[2] ?? 50_000);
const server = new URL(process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/autofollow');
const name = process.env.BENCH_DATABASE ?? 'autofollow_bench_export';
server.pathname = `/${name}`;
await migrateDatabase(server.toString(), name);
const database = openDatabase(server.toString());
const pool = database.pool;
await pool.query('DELETE FROM leads_task_list');
await pool.query('DELETE FROM dcc_leads_follow');
await pool.query('DELETE FROM call_tasks');
const [task] = (await pool.query("INSERT INTO call_tasks (task_name, task_type) VALUES ('五万条导出', 4)")) as unknown as [mysql.ResultSetHeader];
const conversation = JSON.stringify(Array.from({ length: 8 }, (_, i) => ({ Speaker: i % 2 ? 'Contact' : 'Robot', Script: '您好，这里是星辰汽车，请问周末方便来店里试驾新款SUV吗？', Timestamp: 1_900_000_000_000 + i * 3000 })));
for (let start = 0; start < n; start += 1000) {
  const count = Math.min(1000, n - start);
  const [follow] = (await pool.query(
    `INSERT INTO dcc_leads_follow (leads_id, follow_time, leads_remark, next_follow_time) VALUES ${Array(count).fill("(?, '2031-05-01 10:00:00', '客户周六上午到店试驾', NULL)").join(',')}`,
    Array.from({ length: count }, (_, i) => start + i),
  )) as unknown as [mysql.ResultSetHeader];
  await pool.query(
    `INSERT INTO leads_task_list (task_id, leads_id, leads_name, leads_phone, call_status, call_conversation, leads_follow_id, is_interested) VALUES ${Array(count).fill("(?, ?, '张伟', ?, 'Succeeded', ?, ?, 1)").join(',')}`,
    Array.from({ length: count }, (_, i) => [task.insertId, start + i, `138${String(start + i).padStart(8, '0')}`, conversation, follow.insertId + i]).flat(),
  );
}
for (const format of ['xlsx', 'csv'] as ExportFormat[]) {
  global.gc?.();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakHeap = before.heapUsed;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 50);
  const started = Date.now();
  const file = path.join(tmpdir(), `af-export-bench.${format}`);
  const rows = await writeExport(format, exportRows(database.db, task.insertId, { fullPhones: false, timeZone: 'Asia/Shanghai' }), createWriteStream(file), '五万条导出');
  clearInterval(sampler);
  const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
  console.log(`${format}: ${rows} leads in ${((Date.now() - started) / 1000).toFixed(1)} s; RSS ${mb(before.rss)} -> peak ${mb(peakRss)}; heap ${mb(before.heapUsed)} -> peak ${mb(peakHeap)}`);
}
await database.close();
