// One connection pool + drizzle instance for server, CLI and tests alike.
import { drizzle, type MySql2Database } from 'drizzle-orm/mysql2';
import mysql from 'mysql2/promise';
import * as appSchema from './schema/app.ts';
import * as crmSchema from './schema/crm.ts';

export const schema = { ...crmSchema, ...appSchema };
export type Db = MySql2Database<typeof schema>;

export interface Database {
  db: Db;
  pool: mysql.Pool;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Connect to this database instead of the one named in the URL (tests, demo). */
  databaseName?: string;
  connectionLimit?: number;
  /** Called with each SQL statement drizzle runs (used by the index-usage test). */
  onQuery?: (sql: string, params: unknown[]) => void;
}

export function openDatabase(url: string, options: OpenDatabaseOptions = {}): Database {
  const connection = {
    uri: url,
    ...(options.databaseName ? { database: options.databaseName } : {}),
    // App tables hold UTC; CRM DATETIMEs are read and written as zone-less strings (crm-time.ts).
    timezone: 'Z',
    dateStrings: true,
    charset: 'utf8mb4',
    connectTimeout: 5000,
    enableKeepAlive: true,
  } satisfies mysql.ConnectionOptions;
  const pool = mysql.createPool({ ...connection, connectionLimit: options.connectionLimit ?? 10 });
  // READ COMMITTED: no gap locks, and rows a scan does not match are not kept locked, so one task's
  // writes never deadlock with another task's next to it in the same index (seen with two
  // processes under REPEATABLE READ). Correctness rests on row locks and conditional updates,
  // which READ COMMITTED keeps. Both MySQL 8 and MariaDB accept the statement.
  pool.pool.on('connection', (connection) => {
    connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
  });
  const onQuery = options.onQuery;
  const db = drizzle(pool, {
    schema,
    mode: 'default',
    ...(onQuery ? { logger: { logQuery: (sql: string, params: unknown[]) => onQuery(sql, params) } } : {}),
  });
  sessions.set(db, () => mysql.createConnection(connection));
  return { db, pool, close: () => pool.end() };
}

const sessions = new WeakMap<Db, () => Promise<mysql.Connection>>();

/** mysql2 result header of an UPDATE/INSERT/DELETE run through drizzle. */
export interface WriteResult {
  affectedRows: number;
  insertId: number;
}

export function writeResult(result: unknown): WriteResult {
  const header = (Array.isArray(result) ? result[0] : result) as WriteResult;
  return { affectedRows: header.affectedRows, insertId: header.insertId };
}

/** A deadlock or lock wait timeout: the statement (or transaction) was rolled back and may be retried. */
/**
 * Runs a short transaction again when the database rolled it back for a deadlock or a lock wait:
 * writers of neighbouring rows (concurrent pages of one task, issue 12) may meet in an index's gap
 * locks. The statements must be safe to repeat (conditional updates, upserts).
 */
export async function retryOnLockConflict<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!(isLockConflict(error) && attempt < attempts)) throw error;
    }
  }
}

export function isLockConflict(error: unknown): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    const errno = (e as { errno?: unknown }).errno;
    if (errno === 1213 || errno === 1205) return true;
  }
  return false;
}

/**
 * A connection of its own, beside the pool, for work that needs one session (temporary tables,
 * pairing-scratch.ts). Not taken from the pool: work holding a session also needs pool connections
 * (lease renewals, writes), and enough such sessions at once would leave none and wait for ever.
 * `end()` it, or `destroy()` it when its session is in doubt.
 */
export async function sessionOf(db: Db): Promise<mysql.Connection> {
  const open = sessions.get(db);
  if (!open) throw new Error('sessionOf: this Db was not opened by openDatabase');
  return open();
}
