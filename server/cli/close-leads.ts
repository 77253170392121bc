// `autofollow close-leads <taskId> --cause … --remark … --interest 0|1|2 [--next-follow-time …]
// [--lead ID …] [--by NAME]`: 人工跟进 from a terminal (DESIGN §4). Exit 0 when it ran (also when
// nothing was left to close: it says how many were skipped), 1 for an unknown task, 2 for bad input.
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { Config } from '../config.ts';
import { openDatabase } from '../db/client.ts';
import type { Logger } from '../log.ts';
import { closeLeadsOperation } from '../operations/close-leads.ts';
import type { Actor } from '../operations/outcome.ts';
import { systemClock } from '../pipeline/deps.ts';
import { parseTaskId } from '../task-id.ts';
import { checkDatabase } from './check-database.ts';

/** Bad arguments or bad input: exit 2. */
export class CloseLeadsUsageError extends Error {}

export interface CloseLeadsArgs {
  taskId: number;
  /** As typed: checked by the operation like any other caller's input. */
  request: { cause?: string; remark?: string; interest?: string; nextFollowTime?: string; leadIds?: string[] };
  actor: string;
}

export function parseCloseLeadsArgs(argv: string[]): CloseLeadsArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        cause: { type: 'string' }, remark: { type: 'string' }, interest: { type: 'string' },
        'next-follow-time': { type: 'string' }, lead: { type: 'string', multiple: true }, by: { type: 'string' },
      },
    });
  } catch (error) {
    throw new CloseLeadsUsageError(`close-leads: ${(error as Error).message.split('\n')[0]}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new CloseLeadsUsageError('close-leads needs one task id, e.g. `npx autofollow close-leads 12 --cause cancelled --remark "已电话回访" --interest 0`');
  const taskId = parseTaskId(positionals[0]);
  if (taskId === null) throw new CloseLeadsUsageError(`close-leads: task id must be a positive whole number, got "${positionals[0]}"`);
  return {
    taskId,
    request: {
      ...(values.cause !== undefined ? { cause: values.cause } : {}),
      ...(values.remark !== undefined ? { remark: values.remark } : {}),
      ...(values.interest !== undefined ? { interest: values.interest } : {}),
      ...(values['next-follow-time'] !== undefined ? { nextFollowTime: values['next-follow-time'] } : {}),
      ...(values.lead !== undefined ? { leadIds: values.lead } : {}),
    },
    // Audited by name: who ran it at this terminal, unless they say who decided.
    actor: values.by?.trim() || `cli:${userInfo().username}`,
  };
}

export async function runCloseLeads(config: Readonly<Config>, log: Logger, args: CloseLeadsArgs, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const database = openDatabase(config.databaseUrl, { connectionLimit: 2 });
  try {
    await checkDatabase(database.pool, config.databaseUrl);
    // Whoever can reach the database from a terminal may do anything the dashboard's admin may.
    const actor: Actor = { name: args.actor, role: 'admin', via: 'cli' };
    const outcome = await closeLeadsOperation({ pipeline: { db: database.db, clock: systemClock, config, log } }, actor, args.taskId, args.request);
    if (outcome.status === 'refused') {
      if (outcome.reason === 'bad-input') throw new CloseLeadsUsageError(`close-leads: ${outcome.facts.problem}`);
      throw new Error(outcome.reason === 'not-found' ? `task ${args.taskId} does not exist` : `close-leads refused: ${outcome.reason}`);
    }
    if (outcome.status === 'failed') throw new Error(outcome.facts.error);
    const { cause, closed, skipped } = outcome.facts;
    out.write(`task ${args.taskId}: closed ${closed} ${cause} lead${closed === 1 ? '' : 's'} with a follow record; skipped ${skipped} (already followed, or no longer ${cause})\n`);
    return 0;
  } finally {
    await database.close();
  }
}
