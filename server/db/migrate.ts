// `autofollow migrate`: creates the database when missing, the CRM's tables where absent, the
// indexes the pipeline needs where no index already leads with the same columns, and then applies
// autofollow's own migrations (drizzle/). Running it twice changes nothing. Plain SQL that both
// MySQL 8 and MariaDB accept: "index if missing" is decided by asking information_schema.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { migrate as applyDrizzleMigrations } from 'drizzle-orm/mysql2/migrator';
import mysql from 'mysql2/promise';
import { openDatabase } from './client.ts';

const CRM_TABLES_SQL = fileURLToPath(new URL('./crm-tables.sql', import.meta.url));
const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Indexes on the CRM's tables that keep every pipeline query on an index (named af_* so ours are recognisable). */
export const PIPELINE_INDEXES = [
  // Covers the dashboard's per-task progress counts, so they read the index instead of every lead row
  // (a 50,000-lead task: ~45 ms instead of ~160), and makes "Succeeded, still owed a record" a narrow
  // range. The price is one more index the CRM's writes maintain; the dashboard polls these counts.
  // /stuck names it in FORCE INDEX, so it must exist under this name even if an equivalent one does.
  {
    table: 'leads_task_list',
    name: 'af_idx_task_progress',
    columns: ['task_id', 'call_status', 'leads_follow_id', 'is_interested', 'call_job_id'],
    byName: true,
  },
  { table: 'leads_task_list', name: 'af_idx_task_job', columns: ['task_id', 'call_job_id'] },
  { table: 'leads_task_list', name: 'af_idx_call_job', columns: ['call_job_id'] },
  { table: 'dcc_leads_follow', name: 'af_idx_follow_leads', columns: ['leads_id'] },
] as const;

export interface MigrationReport {
  databaseCreated: boolean;
  tablesCreated: string[];
  indexesCreated: string[];
}

export async function migrateDatabase(databaseUrl: string, databaseName: string): Promise<MigrationReport> {
  const databaseCreated = await createDatabaseIfMissing(databaseUrl, databaseName);
  const { db, pool, close } = openDatabase(databaseUrl, { databaseName, connectionLimit: 2 });
  // Two processes migrating at once (a rolling deploy) take turns on a named lock.
  const lockConnection = await pool.getConnection();
  try {
    const [[lock]] = await lockConnection.query<mysql.RowDataPacket[]>(`SELECT GET_LOCK('autofollow.migrate', 60) AS got`);
    if (lock?.got !== 1) throw new Error('Another process has been migrating this database for 60 s; try again when it has finished.');
    const before = await tableNames(pool);
    for (const statement of splitStatements(await readFile(CRM_TABLES_SQL, 'utf8'))) await pool.query(statement);
    const indexesCreated: string[] = [];
    for (const index of PIPELINE_INDEXES) {
      const present = 'byName' in index ? await hasIndexNamed(pool, index.table, index.name) : await hasIndexLeadingWith(pool, index.table, index.columns);
      if (!present) {
        await pool.query(`CREATE INDEX ${index.name} ON ${index.table} (${index.columns.join(', ')})`);
        indexesCreated.push(`${index.table}.${index.name}`);
      }
    }
    await applyDrizzleMigrations(db, { migrationsFolder: MIGRATIONS_FOLDER });
    await convertOwnTablesToUtf8mb4(pool);
    const after = await tableNames(pool);
    return { databaseCreated, tablesCreated: [...after].filter((t) => !before.has(t)).sort(), indexesCreated };
  } finally {
    await lockConnection.query(`SELECT RELEASE_LOCK('autofollow.migrate')`).catch(() => undefined);
    lockConnection.release();
    await close();
  }
}

async function createDatabaseIfMissing(databaseUrl: string, databaseName: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  url.pathname = '/';
  const connection = await mysql.createConnection({ uri: url.toString(), connectTimeout: 5000 });
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      'SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
      [databaseName],
    );
    if (rows.length > 0) return false;
    await connection.query(`CREATE DATABASE IF NOT EXISTS \`${databaseName}\` CHARACTER SET utf8mb4`);
    return true;
  } finally {
    await connection.end();
  }
}

/**
 * autofollow's tables hold Chinese names and remarks whatever the database's default character set
 * is: the generated CREATE TABLEs name none, so a latin1 database would make them latin1. Converting
 * after the migrations covers tables made by any of them, and does nothing once they are utf8mb4.
 */
async function convertOwnTablesToUtf8mb4(pool: mysql.Pool): Promise<void> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    `SELECT TABLE_NAME AS name FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = DATABASE() AND (TABLE_NAME LIKE 'af\\_%' OR TABLE_NAME = '__drizzle_migrations')
        AND TABLE_COLLATION NOT LIKE 'utf8mb4%'`,
  );
  for (const row of rows) await pool.query(`ALTER TABLE \`${String(row.name)}\` CONVERT TO CHARACTER SET utf8mb4`);
}

async function tableNames(pool: mysql.Pool): Promise<Set<string>> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    'SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()',
  );
  return new Set(rows.map((row) => String(row.name)));
}

/** True when some index of the table starts with exactly these columns, in this order. */
async function hasIndexNamed(pool: mysql.Pool, table: string, name: string): Promise<boolean> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    'SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ? LIMIT 1',
    [table, name],
  );
  return rows.length > 0;
}

async function hasIndexLeadingWith(pool: mysql.Pool, table: string, columns: readonly string[]): Promise<boolean> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>(
    `SELECT INDEX_NAME AS name, SEQ_IN_INDEX AS seq, COLUMN_NAME AS col
       FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
      ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
    [table],
  );
  const byIndex = new Map<string, string[]>();
  for (const row of rows) byIndex.set(String(row.name), [...(byIndex.get(String(row.name)) ?? []), String(row.col).toLowerCase()]);
  return [...byIndex.values()].some((cols) => columns.every((column, i) => cols[i] === column));
}

function splitStatements(script: string): string[] {
  return script
    .split(/;\s*$/m)
    .map((statement) => statement.replace(/^\s*--.*$/gm, '').trim())
    .filter((statement) => statement.length > 0);
}
