// A whole run against CRM tables that existed before autofollow, with columns of their own: the
// pipeline reads and writes only its columns and leaves every other value as the CRM set it.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPipelineDeps } from '../../server/cli/build-deps.ts';
import { loadConfig } from '../../server/config.ts';
import { openDatabase, type Database } from '../../server/db/client.ts';
import { migrateDatabase } from '../../server/db/migrate.ts';
import { createLogger } from '../../server/log.ts';
import { runPass } from '../../server/pipeline/monitor.ts';
import { startLlmSimulator, type LlmSimulator } from '../../server/simulator/llm.ts';
import { startOutboundBotSimulator, type OutboundBotSimulator } from '../../server/simulator/outboundbot.ts';
import { simulatorEnv } from '../../server/simulator/simulator-env.ts';
import { CRM_WITH_EXTRAS } from '../helpers/crm-with-extras.ts';
import { adminQuery, testDatabaseName, urlFor } from '../helpers/database.ts';

const name = testDatabaseName('af_crm_extras');
let sim: OutboundBotSimulator;
let llm: LlmSimulator;
let database: Database;

beforeAll(async () => {
  await adminQuery(`CREATE DATABASE \`${name}\``);
  const connection = await mysql.createConnection({ uri: urlFor(name) });
  for (const statement of CRM_WITH_EXTRAS) await connection.query(statement);
  await connection.end();
  await migrateDatabase(urlFor(name), name);
  [sim, llm] = await Promise.all([startOutboundBotSimulator(), startLlmSimulator()]);
  database = openDatabase(urlFor(name));
});
afterAll(async () => {
  await Promise.all([sim?.stop(), llm?.stop(), database?.close()]);
  await adminQuery(`DROP DATABASE IF EXISTS \`${name}\``);
});

describe('a run on pre-existing CRM tables', () => {
  it('takes the task to stage 4 and leaves the CRM-only columns intact', async () => {
    const group = sim.createJobGroup();
    await database.pool.query("INSERT INTO call_tasks (task_name, task_type, job_group_id, owner_sales_id, channel) VALUES ('已有任务', 2, ?, 9, 'web')", [group]);
    const [[task]] = (await database.pool.query('SELECT id FROM call_tasks WHERE job_group_id = ?', [group])) as unknown as [[{ id: number }]];
    await database.pool.query("INSERT INTO leads_task_list (task_id, leads_id, leads_phone, dealer_code, remark_by_sales) VALUES (?, 71, '13811112222', 'GZ03', '销售备注'), (?, 72, '13811113333', DEFAULT, NULL)", [task.id, task.id]);
    const [first, second] = sim.assignJobs(group, [{ phone: '13811112222' }, { phone: '13811113333' }]);
    sim.finishJob(first!, { status: 'Succeeded', kind: 'interested' });
    sim.finishJob(second!, { status: 'Failed', failureReason: 'NoAnswer' });

    const config = loadConfig({ DATABASE_URL: urlFor(name), ...simulatorEnv(sim, llm), LOG_LEVEL: 'silent' });
    const { deps } = buildPipelineDeps(config, createLogger('silent', { pretty: false }), { database });
    await runPass(deps, { trigger: 'cli' });

    const [[taskRow]] = (await database.pool.query('SELECT task_type, owner_sales_id, channel FROM call_tasks WHERE id = ?', [task.id])) as unknown as [[object]];
    expect(taskRow).toEqual({ task_type: 4, owner_sales_id: 9, channel: 'web' });
    const [leads] = (await database.pool.query('SELECT leads_id, dealer_code, remark_by_sales, leads_follow_id IS NOT NULL AS followed FROM leads_task_list WHERE task_id = ? ORDER BY id', [task.id])) as unknown as [object[]];
    expect(leads).toEqual([
      { leads_id: 71, dealer_code: 'GZ03', remark_by_sales: '销售备注', followed: 1 },
      { leads_id: 72, dealer_code: 'SH01', remark_by_sales: null, followed: 1 },
    ]);
    const [follows] = (await database.pool.query('SELECT leads_id, follow_type FROM dcc_leads_follow ORDER BY leads_id')) as unknown as [object[]];
    expect(follows).toEqual([{ leads_id: 71, follow_type: 3 }, { leads_id: 72, follow_type: 3 }]);
    // The pre-existing row of the other task is untouched.
    const [[old]] = (await database.pool.query('SELECT dealer_code, remark_by_sales, call_job_id FROM leads_task_list WHERE leads_id = 5')) as unknown as [[object]];
    expect(old).toEqual({ dealer_code: 'BJ02', remark_by_sales: '老客户', call_job_id: null });
  });
});
