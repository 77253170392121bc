// A production-sized database for the dashboard's queries: 1,000 tasks and about 1,000,000 lead rows,
// filled by INSERT ... SELECT over a numbers table so the rows never cross the wire. The mix is what a
// season of use leaves: most tasks done (stage 4, a follow record per called lead), ~5% part way at
// stage 2/3 (calling, waiting for conversations, unsynced, a few not in their job group, cancelled jobs,
// API errors), analysis failures in one task of 25 (an LLM outage), expired and long-held leases, run history, paused tasks.
// Run: npx tsx bench/seed-large.ts [tasks] [leadsPerTask]  (database autofollow_bench on DATABASE_URL's server,
// or BENCH_DATABASE so two people on one server do not drop each other's)
import { pathToFileURL } from 'node:url';
import mysql from 'mysql2/promise';
import { loadConfig } from '../server/config.ts';
import { openDatabase } from '../server/db/client.ts';
import { migrateDatabase } from '../server/db/migrate.ts';
import { toCrmDateTime } from '../server/crm-time.ts';

export interface SeedOptions {
  tasks: number;
  leadsPerTask: number;
  /** One stage-3 task near the top of the list gets this many leads (the "biggest task"). */
  biggestTaskLeads: number;
  /** CRM zone of the DATETIME strings. */
  timeZone: string;
  log: (line: string) => void;
}

export interface SeedReport {
  tasks: number;
  leads: number;
  follows: number;
  leadStates: number;
  runs: number;
  biggestTaskId: number;
  /** A stage-4 task with exactly leadsPerTask leads. */
  typicalTaskId: number;
  ms: number;
}

type Kind = 'done' | 'calling' | 'calls-done' | 'not-started';

interface PlannedTask {
  id: number;
  name: string;
  stage: 1 | 2 | 3 | 4;
  kind: Kind;
  leads: number;
  idBase: number;
  /** Percentage of the task's leads that are final and followed (part-way tasks). */
  donePct: number;
  /** Minutes since the task's last activity: its leads were updated and its last run ran then. */
  idleMinutes: number;
  runs: number;
  /** The last three runs ended partial (repeated API errors). */
  failingRuns: boolean;
}

const CITIES = ['北京', '上海', '广州', '深圳', '杭州', '成都', '武汉', '南京', '西安', '苏州'];
const CAMPAIGNS = ['新车到店邀约', '试驾回访', '置换补贴回访', '保养提醒', '车展邀约'];

export function planTasks(options: Pick<SeedOptions, 'tasks' | 'leadsPerTask' | 'biggestTaskLeads'>): PlannedTask[] {
  const plan: PlannedTask[] = [];
  const biggestId = Math.max(1, options.tasks - 5);
  let idBase = 1;
  for (let id = 1; id <= options.tasks; id++) {
    const kind: Kind = id === biggestId ? 'calls-done' : id % 20 === 0 ? (id % 40 === 0 ? 'calling' : 'calls-done') : id % 50 === 7 ? 'not-started' : 'done';
    const leads = id === biggestId ? options.biggestTaskLeads : options.leadsPerTask;
    const active = kind === 'calling' || kind === 'calls-done';
    plan.push({
      id,
      name: `${CITIES[id % CITIES.length]}门店 ${CAMPAIGNS[id % CAMPAIGNS.length]} 第${id}批`,
      stage: kind === 'not-started' ? 1 : kind === 'calling' ? 2 : kind === 'calls-done' ? 3 : 4,
      kind,
      leads,
      idBase,
      donePct: active ? 30 + ((id * 37) % 60) : 100,
      // Active tasks were touched minutes ago, except every fourth one, idle for a day (no progress).
      idleMinutes: active ? (id % 80 === 0 ? 24 * 60 : 3 + (id % 20)) : 60 * 24 * (1 + ((options.tasks - id) % 300)),
      runs: active ? 30 : kind === 'done' ? 8 : 0,
      failingRuns: active && id % 60 === 0,
    });
    idBase += leads;
  }
  return plan;
}

/** Fills an empty, migrated database. Uses one connection (temporary tables live on it). */
export async function seedLarge(pool: mysql.Pool, partial: Partial<SeedOptions> = {}): Promise<SeedReport> {
  const options: SeedOptions = { tasks: 1000, leadsPerTask: 1000, biggestTaskLeads: 50_000, timeZone: 'Asia/Shanghai', log: () => undefined, ...partial };
  const started = Date.now();
  const plan = planTasks(options);
  const connection = await pool.getConnection();
  try {
    const [[existing]] = await connection.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM call_tasks');
    if (Number(existing?.n) > 0) throw new Error('seedLarge fills an empty database; this one already has call_tasks rows.');
    // Ages are measured against the database's clock (UTC_TIMESTAMP), so both "nows" come from it.
    const [[clock]] = await connection.query<mysql.RowDataPacket[]>('SELECT UNIX_TIMESTAMP(NOW(3)) * 1000 AS ms');
    await connection.query('SET @now_crm = ?, @now_utc = UTC_TIMESTAMP(3), @now_ms = ?', [toCrmDateTime(Number(clock!.ms), options.timeZone), Math.round(Number(clock!.ms))]);

    await createNumbers(connection, Math.max(options.leadsPerTask, options.biggestTaskLeads, 100));
    await insertTasks(connection, plan);
    options.log(`tasks: ${plan.length} (${Date.now() - started} ms)`);

    const chunkRows = 50_000;
    for (let i = 0; i < plan.length; ) {
      let rows = 0;
      let j = i;
      while (j < plan.length && (rows === 0 || rows + plan[j]!.leads <= chunkRows)) rows += plan[j++]!.leads;
      await seedLeadChunk(connection, plan[i]!.id, plan[j - 1]!.id);
      i = j;
      options.log(`leads of tasks ${plan[i - 1]!.id}/${plan.length} (${Date.now() - started} ms)`);
    }
    await seedRunsLeasesPauses(connection, plan, options);
    await seedActivity(connection);
    await connection.query('ANALYZE TABLE call_tasks, leads_task_list, dcc_leads_follow, af_lead_states, af_task_runs, af_task_leases, af_task_activity');
    const count = async (table: string) => Number((await connection.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`))[0][0]!.n);
    return {
      tasks: plan.length,
      leads: await count('leads_task_list'),
      follows: await count('dcc_leads_follow'),
      leadStates: await count('af_lead_states'),
      runs: await count('af_task_runs'),
      biggestTaskId: Math.max(1, options.tasks - 5),
      typicalTaskId: plan.find((t) => t.kind === 'done' && t.leads === options.leadsPerTask)!.id,
      ms: Date.now() - started,
    };
  } finally {
    await connection.query('DROP TEMPORARY TABLE IF EXISTS bench_numbers, bench_plan, bench_chunk').catch(() => undefined);
    connection.release();
  }
}

async function createNumbers(connection: mysql.PoolConnection, upTo: number): Promise<void> {
  await connection.query('CREATE TEMPORARY TABLE bench_numbers (n INT UNSIGNED NOT NULL PRIMARY KEY)');
  await connection.query(`INSERT INTO bench_numbers (n) VALUES ${Array.from({ length: 10 }, (_, i) => `(${i})`).join(',')}`);
  // Each round multiplies the table by ten: 10, 100, ... until it covers upTo.
  for (let size = 10; size < upTo; size *= 10) {
    await connection.query(`INSERT INTO bench_numbers (n) SELECT a.n + ${size} * d.n FROM bench_numbers a JOIN (SELECT n FROM bench_numbers WHERE n BETWEEN 1 AND 9) d`);
  }
}

async function insertTasks(connection: mysql.PoolConnection, plan: PlannedTask[]): Promise<void> {
  await connection.query(
    `CREATE TEMPORARY TABLE bench_plan (task_id INT UNSIGNED PRIMARY KEY, name VARCHAR(255), stage TINYINT, kind VARCHAR(16),
       leads INT UNSIGNED, id_base INT UNSIGNED, done_pct INT UNSIGNED, idle_minutes INT UNSIGNED, runs INT UNSIGNED, failing_runs TINYINT)`,
  );
  await connection.query('INSERT INTO bench_plan VALUES ?', [
    plan.map((t) => [t.id, t.name, t.stage, t.kind, t.leads, t.idBase, t.donePct, t.idleMinutes, t.runs, t.failingRuns ? 1 : 0]),
  ]);
  // Created before their last activity; the row itself last changed when its leads did.
  await connection.query(
    `INSERT INTO call_tasks (id, task_name, task_type, job_group_id, created_time, updated_time)
     SELECT p.task_id, p.name, p.stage, IF(p.stage = 1, NULL, CONCAT('jg-bench-', p.task_id)),
            CAST(@now_crm AS DATETIME) - INTERVAL (p.idle_minutes + 600 + p.task_id % 97) MINUTE,
            CAST(@now_crm AS DATETIME) - INTERVAL p.idle_minutes MINUTE
       FROM bench_plan p`,
  );
}

/**
 * One chunk of tasks: their leads are classified once into a temporary table (cat), from which the
 * leads, their af_lead_states and their follow records are inserted. Follow ids equal lead row ids.
 */
async function seedLeadChunk(connection: mysql.PoolConnection, fromTask: number, toTask: number): Promise<void> {
  await connection.query('DROP TEMPORARY TABLE IF EXISTS bench_chunk');
  await connection.query(
    `CREATE TEMPORARY TABLE bench_chunk ENGINE=MEMORY AS
     SELECT x.*,
       CASE
         WHEN x.kind = 'not-started' THEN 'unsynced'
         WHEN x.kind = 'done' OR x.pos < x.done_pct * 10 THEN
           CASE WHEN x.r < 5 THEN 'nig' WHEN x.r < 10 THEN 'unsynced' WHEN x.r < 15 THEN 'outside'
                WHEN x.r < 400 THEN 'failed' WHEN x.r % 50 = 42 AND x.task_id % 25 = 3 THEN 'anfail' ELSE 'succ' END
         WHEN x.pos < x.done_pct * 10 + 100 THEN
           CASE WHEN x.r % 50 = 3 THEN 'cancelled' WHEN x.r % 40 = 1 THEN 'apierr' ELSE 'calling' END
         WHEN x.pos < x.done_pct * 10 + 150 THEN 'waiting'
         WHEN x.kind = 'calling' THEN CASE WHEN x.r < 30 THEN 'nig' ELSE 'unsynced' END
         ELSE 'pending'
       END AS cat
     FROM (
       SELECT p.id_base + s.n AS id, p.task_id, p.kind, p.done_pct, p.idle_minutes,
              FLOOR(s.n * 1000 / p.leads) AS pos, ((p.id_base + s.n) * 7919) % 1000 AS r
         FROM bench_plan p JOIN bench_numbers s ON s.n < p.leads
        WHERE p.task_id BETWEEN ? AND ?
     ) x`,
    [fromTask, toTask],
  );
  await connection.query(
    `INSERT INTO leads_task_list (id, task_id, leads_id, leads_name, leads_phone, call_job_id, call_task_id, call_status,
        call_conversation, calling_number, planed_time, leads_follow_id, is_interested, created_time, updated_time)
     SELECT c.id, c.task_id, 500000 + c.id,
       CONCAT(ELT(1 + c.r % 10, '张', '王', '李', '赵', '刘', '陈', '杨', '黄', '周', '吴'),
              ELT(1 + (c.id DIV 7) % 8, '伟', '芳', '娜', '敏', '静', '磊', '强', '洋'), IF(c.r % 3 = 0, '', ELT(1 + c.id % 4, '华', '军', '丽', '明'))),
       IF(c.r % 4 = 0,
          CONCAT('+86 13', SUBSTR(LPAD(c.id, 9, '0'), 1, 1), '-', SUBSTR(LPAD(c.id, 9, '0'), 2, 4), '-', SUBSTR(LPAD(c.id, 9, '0'), 6, 4)),
          CONCAT('13', LPAD(c.id, 9, '0'))),
       IF(c.cat IN ('unsynced', 'nig'), NULL, CONCAT('job-', c.id)),
       IF(c.cat IN ('unsynced', 'nig', 'calling', 'cancelled', 'apierr'), NULL, CONCAT('ctask-', c.id)),
       CASE WHEN c.cat IN ('failed', 'pending') THEN 'Failed' WHEN c.cat IN ('succ', 'anfail', 'outside', 'waiting') THEN 'Succeeded' END,
       IF(c.cat IN ('succ', 'anfail', 'outside'), CONCAT(
         '[{"Speaker":"Robot","Script":"您好，请问是客户本人吗？我是星辰汽车4S店的顾问小王。","Timestamp":', @now_ms - c.idle_minutes * 60000 - 9000, ',"Action":"Broadcast"},',
         '{"Speaker":"Contact","Script":"嗯，是我，什么事？","Timestamp":', @now_ms - c.idle_minutes * 60000 - 6500, '},',
         '{"Speaker":"Robot","Script":"这周店里有到店礼和置换补贴，想问问您最近方便来店看看车、试驾一下吗？","Timestamp":', @now_ms - c.idle_minutes * 60000 - 4000, '},',
         '{"Speaker":"Contact","Script":"', ELT(1 + c.r % 3, '明天下午三点吧，想试驾一下。', '不需要了，已经买了。', '再说吧，最近比较忙。'), '","Timestamp":', @now_ms - c.idle_minutes * 60000 - 1000, ',"Action":"Hangup"}]'),
         NULL),
       IF(c.cat IN ('unsynced', 'nig'), NULL, '02150001234'),
       CAST(@now_crm AS DATETIME) - INTERVAL (c.idle_minutes + 120) MINUTE,
       IF(c.cat IN ('failed', 'succ', 'anfail'), c.id, NULL),
       CASE WHEN c.cat = 'failed' THEN 0 WHEN c.cat IN ('succ', 'anfail') THEN c.r % 3 WHEN c.cat = 'outside' THEN 1 END,
       CAST(@now_crm AS DATETIME) - INTERVAL (c.idle_minutes + 600) MINUTE,
       CASE WHEN c.cat IN ('unsynced', 'nig') THEN NULL
            -- half the waiting leads have waited for hours: stuck without conversation
            WHEN c.cat = 'waiting' AND c.r % 2 = 0 THEN CAST(@now_crm AS DATETIME) - INTERVAL (c.idle_minutes + 300) MINUTE
            ELSE CAST(@now_crm AS DATETIME) - INTERVAL (c.idle_minutes + c.r % 3) MINUTE END
     FROM bench_chunk c`,
  );
  await connection.query(
    `INSERT INTO af_lead_states (lead_row_id, task_id, last_job_status, job_failure_reason, last_task_status, analysis_status,
        analysis_error, analysed_at, not_in_group_since, api_error_code, api_error_message, api_error_at, has_conversation)
     SELECT c.id, c.task_id,
       CASE WHEN c.cat = 'nig' THEN NULL WHEN c.cat IN ('failed', 'pending') THEN 'Failed' WHEN c.cat = 'cancelled' THEN 'Cancelled'
            WHEN c.cat IN ('calling', 'apierr') THEN 'Executing' ELSE 'Succeeded' END,
       IF(c.cat IN ('failed', 'pending'), 'NoAnswer', NULL),
       IF(c.cat IN ('failed', 'pending'), 'NoAnswer', IF(c.cat = 'nig', NULL, 'Succeeded')),
       CASE WHEN c.cat = 'anfail' THEN 'failed' WHEN c.cat = 'succ' THEN 'ok' END,
       IF(c.cat = 'anfail', 'LLM answer was not valid JSON: Unexpected token', NULL),
       IF(c.cat IN ('succ', 'anfail'), @now_utc - INTERVAL (c.idle_minutes + 1) MINUTE, NULL),
       IF(c.cat = 'nig', @now_utc - INTERVAL (c.idle_minutes + 30) MINUTE, NULL),
       IF(c.cat = 'apierr', 'JobNotFound', NULL),
       IF(c.cat = 'apierr', CONCAT('Outbound Bot does not return job job-', c.id), NULL),
       IF(c.cat = 'apierr', @now_utc - INTERVAL c.idle_minutes MINUTE, NULL),
       -- as writeCallResults marks the conversations it writes (above: succ, anfail, outside)
       c.cat IN ('succ', 'anfail', 'outside')
     FROM bench_chunk c WHERE c.cat <> 'unsynced'`,
  );
  await connection.query(
    `INSERT INTO dcc_leads_follow (id, leads_id, follow_time, leads_remark, frist_follow_time, new_follow_time, next_follow_time)
     SELECT c.id, 500000 + c.id, CAST(@now_crm AS DATETIME) - INTERVAL (c.idle_minutes + 1) MINUTE,
       CASE WHEN c.cat = 'failed' THEN '客户未接电话，未打通；' WHEN c.cat = 'anfail' THEN 'AI 分析失败；请人工查看通话记录。'
            ELSE ELT(1 + c.r % 3, '客户无法判断意向，建议再次联系。', '客户有意向，约明天下午三点试驾。', '客户表示已购车，无需跟进。') END,
       CAST(@now_crm AS DATETIME) - INTERVAL (c.idle_minutes + 1) MINUTE,
       CAST(@now_crm AS DATETIME) - INTERVAL (c.idle_minutes + 1) MINUTE,
       IF(c.cat = 'succ' AND c.r % 3 = 1, CAST(@now_crm AS DATETIME) + INTERVAL 1 DAY, NULL)
     FROM bench_chunk c WHERE c.cat IN ('failed', 'succ', 'anfail')`,
  );
}

async function seedRunsLeasesPauses(connection: mysql.PoolConnection, plan: PlannedTask[], options: SeedOptions): Promise<void> {
  // Runs every 5 minutes back from the task's last activity; failing tasks end with three partial runs.
  await connection.query(
    `INSERT INTO af_task_runs (task_id, owner, \`trigger\`, started_at, finished_at, outcome, stage_before, stage_after, steps, error_code, error_message)
     SELECT p.task_id, 'bench-host:4242', IF(s.n % 7 = 0, 'api', 'schedule'),
       @now_utc - INTERVAL (p.idle_minutes + 5 * s.n) MINUTE,
       @now_utc - INTERVAL (p.idle_minutes + 5 * s.n) MINUTE + INTERVAL (800 + s.n * 13 % 4000) * 1000 MICROSECOND,
       IF(p.failing_runs = 1 AND s.n < 3, 'partial', 'ok'),
       IF(p.kind = 'done' AND s.n = 0, 3, IF(p.kind = 'calling', 2, 3)), IF(p.kind = 'done' AND s.n = 0, 4, IF(p.kind = 'calling', 2, 3)),
       '[{"step":"sync_call_job_ids","durationMs":412,"counts":{"matched":0}},{"step":"query_task_execution","durationMs":903,"counts":{"pages":3}}]',
       IF(p.failing_runs = 1 AND s.n < 3, 'Throttling.User', NULL),
       IF(p.failing_runs = 1 AND s.n < 3, 'Request was denied due to user flow control.', NULL)
     FROM bench_plan p JOIN bench_numbers s ON s.n < p.runs`,
  );
  await connection.query(
    `INSERT INTO af_task_leases (task_id, owner, acquired_at, renewed_at, expires_at)
     SELECT p.task_id, NULL, @now_utc - INTERVAL p.idle_minutes MINUTE, @now_utc - INTERVAL p.idle_minutes MINUTE, NULL
       FROM bench_plan p WHERE p.runs > 0`,
  );
  const active = plan.filter((t) => t.kind === 'calling' || t.kind === 'calls-done');
  // Three crashed owners (expired, still held) and one run that never ends (held 40 minutes, renewed).
  for (const task of active.slice(0, 3)) {
    await connection.query(
      `UPDATE af_task_leases SET owner = 'crashed-host:9', acquired_at = @now_utc - INTERVAL 20 MINUTE, renewed_at = @now_utc - INTERVAL 15 MINUTE,
         expires_at = @now_utc - INTERVAL 10 MINUTE WHERE task_id = ?`,
      [task.id],
    );
  }
  if (active[3]) {
    await connection.query(
      `UPDATE af_task_leases SET owner = 'slow-host:7', acquired_at = @now_utc - INTERVAL 40 MINUTE, renewed_at = @now_utc,
         expires_at = @now_utc + INTERVAL 5 MINUTE WHERE task_id = ?`,
      [active[3].id],
    );
  }
  const paused = active.slice(4, 6);
  if (paused.length > 0) {
    await connection.query('INSERT INTO af_task_pauses (task_id, paused_at, paused_by) VALUES ?', [
      paused.map((t) => [t.id, new Date(Date.now() - 3_600_000), 'operator-bench']),
    ]);
  }
  options.log(`runs, leases and pauses seeded`);
}

/**
 * The hourly counts (af_task_activity) over the last 30 days, every task busy one hour in three: the
 * trends and sparklines read 48 hours and 14 days of them, /usage the analyses and tokens of 30 days.
 */
async function seedActivity(connection: mysql.PoolConnection): Promise<void> {
  await connection.query(
    `INSERT INTO af_task_activity (task_id, hour, calls_finished, follows_written, analyses, input_tokens, output_tokens)
     SELECT p.task_id, DATE_FORMAT(@now_utc, '%Y-%m-%d %H:00:00') - INTERVAL s.n HOUR, 1 + (p.task_id + s.n) % 40, 1 + (p.task_id * 7 + s.n) % 30,
            (1 + (p.task_id * 7 + s.n) % 30) * 2 DIV 3, ((1 + (p.task_id * 7 + s.n) % 30) * 2 DIV 3) * 1100, ((1 + (p.task_id * 7 + s.n) % 30) * 2 DIV 3) * 60
       FROM bench_plan p JOIN bench_numbers s ON s.n < 30 * 24 AND (p.task_id + s.n) % 3 = 0`,
  );
}

export const BENCH_DATABASE = process.env.BENCH_DATABASE ?? 'autofollow_bench';

/**
 * The database `name` on DATABASE_URL's server, migrated and seeded with these options. One already
 * seeded with as many lead rows is kept (seeding 1,000,000 rows takes minutes), unless `reseed`.
 */
export async function ensureSeeded(
  name: string,
  options: Pick<SeedOptions, 'tasks' | 'leadsPerTask'> & Partial<Pick<SeedOptions, 'biggestTaskLeads' | 'log'>>,
  reseed = false,
): Promise<{ url: string; seeded: SeedReport | null }> {
  const config = loadConfig();
  const url = new URL(config.databaseUrl);
  url.pathname = `/${name}`;
  const server = new URL(config.databaseUrl);
  server.pathname = '/';
  const wanted = planTasks({ biggestTaskLeads: 50_000, ...options }).reduce((sum, t) => sum + t.leads, 0);
  const admin = await mysql.createConnection({ uri: server.toString() });
  try {
    const [found] = await admin.query<mysql.RowDataPacket[]>('SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?', [name, 'leads_task_list']);
    if (!reseed && found.length > 0) {
      const [[row]] = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${name}\`.leads_task_list`);
      if (Number(row!.n) === wanted) {
        await migrateDatabase(url.toString(), name);
        return { url: url.toString(), seeded: null };
      }
    }
    // A clean slate: the previous bench database is dropped (it holds only seeded rows).
    await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  } finally {
    await admin.end();
  }
  await migrateDatabase(url.toString(), name);
  const { pool, close } = openDatabase(url.toString(), { databaseName: name, connectionLimit: 2 });
  try {
    return { url: url.toString(), seeded: await seedLarge(pool, { ...options, timeZone: config.timeZone }) };
  } finally {
    await close();
  }
}

async function main(): Promise<void> {
  const tasks = Number(process.argv[2] ?? 1000);
  const leadsPerTask = Number(process.argv[3] ?? 1000);
  const { seeded } = await ensureSeeded(BENCH_DATABASE, { tasks, leadsPerTask, log: (line) => console.error(`seed: ${line}`) }, true);
  console.log(JSON.stringify(seeded));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(`seed-large: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
