// A real MariaDB/MySQL database per test file: created and migrated in beforeAll, emptied between
// tests, dropped in afterAll. Nothing here mocks the database.
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { openDatabase, type Database } from '../../server/db/client.ts';
import { migrateDatabase } from '../../server/db/migrate.ts';
import { lateBound } from './late-bound.ts';

export const TEST_SERVER_URL = process.env.TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/autofollow_test';

export interface TestDatabase extends Database {
  name: string;
  url: string;
  /** Empties every table (CRM and app) between tests. */
  reset(): Promise<void>;
  /** Drops the database. */
  drop(): Promise<void>;
}

export function testDatabaseName(prefix = 'af_test'): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

export function urlFor(name: string): string {
  const url = new URL(TEST_SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function createTestDatabase(options: { migrate?: boolean; onQuery?: (sql: string, params: unknown[]) => void } = {}): Promise<TestDatabase> {
  const name = testDatabaseName();
  const url = urlFor(name);
  if (options.migrate ?? true) await migrateDatabase(url, name);
  else await adminQuery(`CREATE DATABASE \`${name}\``);
  const database = openDatabase(url, { connectionLimit: 8, ...(options.onQuery ? { onQuery: options.onQuery } : {}) });
  return {
    ...database,
    name,
    url,
    async reset() {
      const [rows] = await database.pool.query<mysql.RowDataPacket[]>(
        "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> '__drizzle_migrations'",
      );
      for (const row of rows) await database.pool.query(`DELETE FROM \`${row.t}\``);
    },
    async drop() {
      await database.close();
      await adminQuery(`DROP DATABASE IF EXISTS \`${name}\``);
    },
  };
}

export async function adminQuery(statement: string): Promise<void> {
  const url = new URL(TEST_SERVER_URL);
  url.pathname = '/';
  const connection = await mysql.createConnection({ uri: url.toString() });
  try {
    await connection.query(statement);
  } finally {
    await connection.end();
  }
}

/** The database of one test file: created before its tests, emptied before each, dropped after. */
export function useTestDatabase(): TestDatabase {
  let current: TestDatabase | undefined;
  beforeAll(async () => {
    current = await createTestDatabase();
  });
  afterAll(async () => current?.drop());
  beforeEach(async () => current!.reset());
  return lateBound(() => current, 'the test database');
}
