// `autofollow migrate`: create the database, the CRM's tables where absent, the pipeline's indexes
// where missing, and autofollow's own tables (DESIGN §2). Safe to run any number of times.
import type { Config } from '../config.ts';
import { migrateDatabase, type MigrationReport } from '../db/migrate.ts';
import type { Logger } from '../log.ts';

export async function runMigrate(config: Readonly<Config>, _log: Logger, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const report = await migrateDatabase(config.databaseUrl, config.databaseName);
  out.write(`${describeMigration(report, config.databaseName)}\n`);
  return 0;
}

/** One line: what was created, or that there was nothing to do. */
export function describeMigration(report: MigrationReport, databaseName: string): string {
  const parts: string[] = [];
  if (report.databaseCreated) parts.push(`database ${databaseName}`);
  if (report.tablesCreated.length > 0) parts.push(`tables ${report.tablesCreated.join(', ')}`);
  if (report.indexesCreated.length > 0) parts.push(`indexes ${report.indexesCreated.join(', ')}`);
  return parts.length > 0 ? `migrate: created ${parts.join('; ')}` : `migrate: database ${databaseName} is already up to date, nothing to do`;
}

export function migrationChangedSomething(report: MigrationReport): boolean {
  return report.databaseCreated || report.tablesCreated.length > 0 || report.indexesCreated.length > 0;
}
