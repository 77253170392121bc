// `autofollow launch <taskId> [--script ID] [--calling-number N …] [--working-hours H]
// [--max-attempts N] [--min-interval MIN] [--by NAME]` and `autofollow recall <taskId>
// [--cause cancelled|not-in-group|failed …] [--lead ROW_ID …] [...the same group options]`
// (DESIGN §4, issue 10): the operations' launch and re-call, run here, then the task is processed
// once. Exit 0 when done (also when nothing was left to call), 1 refused or failed, 2 bad arguments.
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { launchOperations } from '../operations/launch-operations.ts';
import type { Actor } from '../operations/outcome.ts';
import { parseTaskId } from '../task-id.ts';
import { openLiveDeps } from './build-deps.ts';

export class LaunchUsageError extends Error {}

export interface LaunchArgs {
  command: 'launch' | 'recall';
  taskId: number;
  request: Record<string, unknown>;
  actor: string;
}

export function parseLaunchArgs(command: 'launch' | 'recall', argv: string[]): LaunchArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        script: { type: 'string' }, 'calling-number': { type: 'string', multiple: true }, 'working-hours': { type: 'string' },
        'max-attempts': { type: 'string' }, 'min-interval': { type: 'string' }, by: { type: 'string' },
        ...(command === 'recall' ? { cause: { type: 'string', multiple: true }, lead: { type: 'string', multiple: true } } as const : {}),
      },
    });
  } catch (error) {
    throw new LaunchUsageError(`${command}: ${(error as Error).message.split('\n')[0]}`);
  }
  const { values, positionals } = parsed as { values: Record<string, string | string[] | undefined>; positionals: string[] };
  if (positionals.length !== 1) throw new LaunchUsageError(`${command} needs one task id, e.g. \`npx autofollow ${command} 12\``);
  const taskId = parseTaskId(positionals[0]);
  if (taskId === null) throw new LaunchUsageError(`${command}: task id must be a positive whole number, got "${positionals[0]}"`);
  const pick = (key: string, field: string) => (values[key] !== undefined ? { [field]: values[key] } : {});
  return {
    command,
    taskId,
    request: {
      ...pick('script', 'scriptId'), ...pick('calling-number', 'callingNumbers'), ...pick('working-hours', 'workingHours'),
      ...pick('max-attempts', 'maxAttemptsPerDay'), ...pick('min-interval', 'minAttemptInterval'), ...pick('cause', 'causes'), ...pick('lead', 'leadIds'),
    },
    actor: (typeof values.by === 'string' ? values.by.trim() : '') || `cli:${userInfo().username}`,
  };
}

export async function runLaunch(config: Readonly<Config>, log: Logger, args: LaunchArgs, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const built = await openLiveDeps(config, log);
  try {
    // Whoever can reach the database and the credentials from a terminal may do what an admin may.
    const actor: Actor = { name: args.actor, role: 'admin', via: 'cli' };
    const operations = launchOperations({ pipeline: built.deps });
    const outcome = await operations[args.command](actor, args.taskId, args.request);
    if (outcome.status === 'refused') {
      if (outcome.reason === 'bad-input') throw new LaunchUsageError(`${args.command}: ${outcome.facts.problem}`);
      if (outcome.reason === 'nothing-to-launch' || outcome.reason === 'nothing-to-recall') {
        out.write(`task ${args.taskId}: no lead to ${args.command === 'launch' ? 'call' : 're-call'}\n`);
        return 0;
      }
      throw new Error(REFUSALS[outcome.reason]?.(args.taskId, outcome.facts) ?? `${args.command} refused: ${outcome.reason}`);
    }
    if (outcome.status === 'failed') throw new Error(`${args.command} of task ${args.taskId} failed: ${outcome.facts.error}`);
    const f = outcome.facts;
    out.write(args.command === 'launch'
      ? `task ${args.taskId}: launched in job group ${f.jobGroupId}: ${f.jobsCreated} jobs created, ${f.leadsFound} found from an earlier attempt\n`
      : `task ${args.taskId}: re-called ${f.leads} leads in job group ${f.jobGroupId}: ${f.jobsCreated} jobs created; task at stage ${f.stage}\n`);
    return 0;
  } finally {
    await built.close();
  }
}

const REFUSALS: Partial<Record<string, (taskId: number, facts: Record<string, unknown>) => string>> = {
  'not-found': (id) => `task ${id} does not exist`,
  'not-eligible': (id, f) => `task ${id} is at stage ${String(f.stage)}; launch takes a stage-1 task, recall a stage 2-4 task with a job group`,
  paused: (id) => `task ${id} is paused; resume it first`,
  busy: (id) => `task ${id} is being worked on by another process; try again when it is done`,
};
