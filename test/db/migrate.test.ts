// `migrate` against a CRM database that already has its tables, with columns of its own: nothing of
// theirs may change; the app's tables and the pipeline's indexes are added; a second run is a no-op.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../server/db/migrate.ts';
import { CRM_WITH_EXTRAS } from '../helpers/crm-with-extras.ts';
import { adminQuery, testDatabaseName, urlFor } from '../helpers/database.ts';


const name = testDatabaseName('af_migrate');
const url = urlFor(name);
let connection: mysql.Connection;

beforeAll(async () => {
  await adminQuery(`CREATE DATABASE \`${name}\``);
  connection = await mysql.createConnection({ uri: url });
  for (const statement of CRM_WITH_EXTRAS) await connection.query(statement);
});
afterAll(async () => {
  await connection?.end();
  await adminQuery(`DROP DATABASE IF EXISTS \`${name}\``);
});

async function describeTables(): Promise<string> {
  const out: string[] = [];
  for (const table of ['call_tasks', 'leads_task_list', 'dcc_leads_follow']) {
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      `SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [table],
    );
    out.push(`${table}: ${JSON.stringify(rows)}`);
  }
  return out.join('\n');
}

async function indexes(table: string): Promise<string[]> {
  const [rows] = await connection.query<mysql.RowDataPacket[]>(
    `SELECT DISTINCT INDEX_NAME AS name FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY INDEX_NAME`,
    [table],
  );
  return rows.map((r) => String(r.name)).sort();
}

describe('migrate on an existing CRM database', () => {
  it('leaves every CRM column and row as it was and adds only what is missing', async () => {
    const columnsBefore = await describeTables();
    const report = await migrateDatabase(url, name);
    expect(report.databaseCreated).toBe(false);
    expect(report.tablesCreated).toEqual(['__drizzle_migrations', 'af_api_tokens', 'af_audit_log', 'af_channel_leases', 'af_channel_sends', 'af_deliveries', 'af_hot_lead_events', 'af_job_group_listings', 'af_launches', 'af_lead_states', 'af_login_failures', 'af_operators', 'af_processes', 'af_sessions', 'af_settings', 'af_superseded_jobs', 'af_task_activity', 'af_task_leases', 'af_task_pauses', 'af_task_runs']);
    // leads_task_list already has an index leading with call_job_id, and dcc_leads_follow one on leads_id.
    expect(report.indexesCreated).toEqual(['leads_task_list.af_idx_task_progress', 'leads_task_list.af_idx_task_job']);
    expect(await describeTables()).toBe(columnsBefore);
    expect(await indexes('leads_task_list')).toEqual(['af_idx_task_job', 'af_idx_task_progress', 'idx_job_lookup', 'idx_task', 'PRIMARY'].sort());
    const [[task]] = await connection.query<mysql.RowDataPacket[]>('SELECT owner_sales_id, channel FROM call_tasks');
    expect(task).toEqual({ owner_sales_id: 42, channel: 'dcc' });
    const [[lead]] = await connection.query<mysql.RowDataPacket[]>('SELECT dealer_code, remark_by_sales FROM leads_task_list');
    expect(lead).toEqual({ dealer_code: 'BJ02', remark_by_sales: '老客户' });
  });

  it('is a no-op the second time', async () => {
    const before = await describeTables();
    const report = await migrateDatabase(url, name);
    expect(report).toEqual({ databaseCreated: false, tablesCreated: [], indexesCreated: [] });
    expect(await describeTables()).toBe(before);
  });

  it('adds af_idx_task_progress by name even where the CRM has the same index under its own name', async () => {
    // /stuck names it in FORCE INDEX: an equivalent index under another name would make that query fail.
    const other = testDatabaseName('af_migrate_twin');
    await adminQuery(`CREATE DATABASE \`${other}\``);
    const twin = await mysql.createConnection({ uri: urlFor(other) });
    try {
      for (const statement of CRM_WITH_EXTRAS) await twin.query(statement);
      await twin.query('CREATE INDEX crm_progress ON leads_task_list (task_id, call_status, leads_follow_id, is_interested, call_job_id)');
      const report = await migrateDatabase(urlFor(other), other);
      expect(report.indexesCreated).toContain('leads_task_list.af_idx_task_progress');
      expect((await migrateDatabase(urlFor(other), other)).indexesCreated).toEqual([]);
    } finally {
      await twin.end();
      await adminQuery(`DROP DATABASE IF EXISTS \`${other}\``);
    }
  });

  it('marks the conversations the CRM already holds (af_lead_states.has_conversation), so diagnose counts them', async () => {
    const other = testDatabaseName('af_migrate_conv');
    await adminQuery(`CREATE DATABASE \`${other}\``);
    const crm = await mysql.createConnection({ uri: urlFor(other) });
    try {
      for (const statement of CRM_WITH_EXTRAS) await crm.query(statement);
      await crm.query(`UPDATE leads_task_list SET call_status = 'Succeeded', call_conversation = '[{"Speaker":"Contact","Script":"好的"}]'`);
      await crm.query("INSERT INTO leads_task_list (task_id, leads_id, leads_phone, call_status, call_conversation) VALUES (1, 6, '13800000002', 'Failed', ''), (1, 7, '13800000003', NULL, NULL)");
      await migrateDatabase(urlFor(other), other);
      const [marks] = await crm.query<mysql.RowDataPacket[]>(
        'SELECT l.leads_id, s.has_conversation FROM leads_task_list l LEFT JOIN af_lead_states s ON s.lead_row_id = l.id ORDER BY l.leads_id',
      );
      expect(marks.map((r) => [r.leads_id, r.has_conversation])).toEqual([[5, 1], [6, null], [7, null]]);
    } finally {
      await crm.end();
      await adminQuery(`DROP DATABASE IF EXISTS \`${other}\``);
    }
  });

  it('creates the database and all tables when nothing exists', async () => {
    const fresh = testDatabaseName('af_migrate_fresh');
    try {
      const report = await migrateDatabase(urlFor(fresh), fresh);
      expect(report.databaseCreated).toBe(true);
      expect(report.tablesCreated).toEqual(
        ['__drizzle_migrations', 'af_api_tokens', 'af_audit_log', 'af_channel_leases', 'af_channel_sends', 'af_deliveries', 'af_hot_lead_events', 'af_job_group_listings', 'af_launches', 'af_lead_states', 'af_login_failures', 'af_operators', 'af_processes', 'af_sessions', 'af_settings', 'af_superseded_jobs', 'af_task_activity', 'af_task_leases', 'af_task_pauses', 'af_task_runs', 'call_tasks', 'dcc_leads_follow', 'leads_task_list'],
      );
    } finally {
      await adminQuery(`DROP DATABASE IF EXISTS \`${fresh}\``);
    }
  });
});
