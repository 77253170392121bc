// `autofollow export <taskId> --format csv|xlsx -o FILE [--phones full] [--by NAME]` (DESIGN §4,
// issue 11): the task's leads with their outcome into FILE, streamed, masked phones unless
// `--phones full`, audited by name. Exit 0 written, 1 unknown task or failure, 2 bad arguments.
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { Config } from '../config.ts';
import { openDatabase } from '../db/client.ts';
import { EXPORT_FORMATS, type ExportFormat } from '../export/write-export.ts';
import type { Logger } from '../log.ts';
import { exportOperations } from '../operations/export-operations.ts';
import type { Actor } from '../operations/outcome.ts';
import { parseTaskId } from '../task-id.ts';
import { checkDatabase } from './check-database.ts';

export class ExportUsageError extends Error {}

export interface ExportArgs {
  taskId: number;
  format: ExportFormat;
  file: string;
  fullPhones: boolean;
  actor: string;
}

export function parseExportArgs(argv: string[]): ExportArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: { format: { type: 'string' }, output: { type: 'string', short: 'o' }, phones: { type: 'string' }, by: { type: 'string' } },
    });
  } catch (error) {
    throw new ExportUsageError(`export: ${(error as Error).message.split('\n')[0]}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new ExportUsageError('export needs one task id, e.g. `npx autofollow export 12 --format xlsx -o task-12.xlsx`');
  const taskId = parseTaskId(positionals[0]);
  if (taskId === null) throw new ExportUsageError(`export: task id must be a positive whole number, got "${positionals[0]}"`);
  if (!values.format || !(EXPORT_FORMATS as readonly string[]).includes(values.format)) throw new ExportUsageError(`export: --format must be csv or xlsx, got "${values.format ?? ''}"`);
  if (!values.output) throw new ExportUsageError('export: -o FILE is required');
  if (values.phones !== undefined && values.phones !== 'full' && values.phones !== 'masked') throw new ExportUsageError(`export: --phones must be full or masked, got "${values.phones}"`);
  return { taskId, format: values.format as ExportFormat, file: values.output, fullPhones: values.phones === 'full', actor: values.by?.trim() || `cli:${userInfo().username}` };
}

export async function runExport(config: Readonly<Config>, log: Logger, args: ExportArgs, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const database = openDatabase(config.databaseUrl, { connectionLimit: 2 });
  try {
    await checkDatabase(database.pool, config.databaseUrl);
    // Whoever can reach the database from a terminal may do anything the dashboard's admin may.
    const actor: Actor = { name: args.actor, role: 'admin', via: 'cli' };
    const outcome = await exportOperations({ pipeline: { db: database.db, config, log } }).exportTask(actor, args.taskId, { format: args.format, fullPhones: args.fullPhones });
    if (outcome.status === 'refused') throw new Error(outcome.reason === 'not-found' ? `task ${args.taskId} does not exist` : `export refused: ${outcome.reason}`);
    if (outcome.status === 'failed') throw new Error(outcome.facts.error);
    // Written beside the target and renamed at the end, so a failed export leaves no half file.
    const partial = `${args.file}.partial`;
    try {
      const rows = await outcome.data!.write(createWriteStream(partial));
      await rename(partial, args.file);
      out.write(`task ${args.taskId}: ${rows} lead${rows === 1 ? '' : 's'} written to ${args.file} (${args.format}, ${args.fullPhones ? 'full' : 'masked'} phones)\n`);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    return 0;
  } finally {
    await database.close();
  }
}
