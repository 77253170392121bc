// argv -> one CLI command, nothing else (STYLE §1). Exit codes: 0 success, 1 fatal error, 2 bad
// arguments. Every failure is ONE stderr line, "autofollow: <message>"; the stack is printed only
// with LOG_LEVEL=debug. Command modules are imported on demand, so `--help` or a typo loads nothing.
import { ConfigError, loadConfig, loadDotEnv, type Config } from './config.ts';
import { createLogger } from './log.ts';
import { parseTaskId } from './task-id.ts';
import { LANGS, parseLang, type Lang } from './web/i18n/langs.ts';

const USAGE = `Usage: npx autofollow <command>

Commands:
  serve                      dashboard, API and the monitor schedule (HOST, PORT, MONITOR_CRON)
  run-once [--force]         one monitor pass over every pending task, then exit; a paused
                             scheduler (dashboard) is honoured unless --force
  diagnose <taskId> [--json] [--lang en|zh]
                             why a task is or is not moving, its reasons in English or Chinese;
                             --json prints only JSON on stdout (reasons in English, and as codes)
  migrate                    create the database, tables and indexes that are missing
  close-leads <taskId> --cause cancelled|not-in-group|no-conversation --remark TEXT --interest 0|1|2
              [--next-follow-time "YYYY-MM-DD HH:mm:ss"] [--lead ROW_ID …] [--by NAME]
                             人工跟进: write the follow record of leads the pipeline cannot finish
  export <taskId> --format csv|xlsx -o FILE [--phones full] [--by NAME]
                             the task's leads with their outcome (masked phones unless --phones full)
  launch <taskId> [--script ID] [--calling-number N …] [--working-hours 09:00-20:00]
         [--max-attempts N] [--min-interval MINUTES] [--by NAME]
                             开始外呼: assign a stage-1 task's leads to Outbound Bot (never twice), then process it
  recall <taskId> [--cause cancelled|not-in-group|failed …] [--lead ROW_ID …] [--by NAME]
                             重新外呼: new jobs for leads whose call was cancelled, never made or failed
  demo                       serve against the built-in simulator with seeded demo tasks
  operator add NAME --role viewer|operator|admin   a dashboard account (password from stdin or a prompt)
  operator list | disable NAME | passwd NAME
  token add NAME --role operator|viewer            a bearer token for /api and /metrics, shown once
  token list | revoke NAME

serve and run-once need ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET,
OUTBOUNDBOT_INSTANCE_ID and LLM_API_KEY; all settings come from the environment, and from
./.env where the environment does not set them (see README.md and .env.example).
Exit codes: 0 success, 1 error, 2 bad arguments.
`;

const EXIT = { ok: 0, fatal: 1, usage: 2 } as const;

class UsageError extends Error {}

type Command =
  | { name: 'help' }
  | { name: 'serve' | 'migrate' }
  | { name: 'run-once'; force: boolean }
  | { name: 'close-leads'; argv: string[] }
  | { name: 'export'; argv: string[] }
  | { name: 'launch' | 'recall'; argv: string[] }
  | { name: 'diagnose'; taskId: number; json: boolean; lang: Lang }
  | { name: 'demo'; argv: string[] }
  | { name: 'accounts'; kind: 'operator' | 'token'; verb: string; accountName: string | undefined; role: string | undefined };

function parseCommand(argv: string[]): Command {
  const [name, ...rest] = argv;
  if (name === undefined) throw new UsageError('no command given (serve, run-once, diagnose, migrate or demo)');
  if (name === '--help' || name === '-h' || name === 'help') return { name: 'help' };
  // The demo parses its own options.
  if (name === 'demo') return { name: 'demo', argv: rest };
  if (name === 'close-leads') return { name: 'close-leads', argv: rest };
  if (name === 'export') return { name: 'export', argv: rest };
  if (name === 'launch' || name === 'recall') return { name, argv: rest };
  if (rest.includes('--help') || rest.includes('-h')) return { name: 'help' };
  switch (name) {
    case 'serve':
    case 'migrate':
      if (rest.length > 0) throw new UsageError(`${name} takes no arguments, got "${rest[0]}"`);
      return { name };
    case 'run-once': {
      const unknown = rest.find((arg) => arg !== '--force');
      if (unknown !== undefined) throw new UsageError(`run-once: unknown argument "${unknown}" (only --force)`);
      return { name, force: rest.includes('--force') };
    }
    case 'diagnose':
      return parseDiagnose(rest);
    case 'operator':
    case 'token':
      return parseAccounts(name, rest);
    default:
      throw new UsageError(`unknown command "${name}"`);
  }
}

function parseDiagnose(args: string[]): Command {
  const flags: string[] = [];
  const positional: string[] = [];
  let lang: Lang = 'en';
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--lang' || arg.startsWith('--lang=')) {
      const value = arg === '--lang' ? args[++i] : arg.slice('--lang='.length);
      const parsed = parseLang(value);
      if (!parsed) throw new UsageError(`diagnose: --lang must be ${LANGS.join(' or ')}, got ${value === undefined ? 'nothing' : `"${value}"`}`);
      lang = parsed;
    } else if (arg.startsWith('--')) flags.push(arg);
    else positional.push(arg);
  }
  const unknown = flags.find((flag) => flag !== '--json');
  if (unknown) throw new UsageError(`diagnose: unknown option "${unknown}" (only --json and --lang)`);
  if (positional.length === 0) throw new UsageError('diagnose needs a task id, e.g. `npx autofollow diagnose 12`');
  if (positional.length > 1) throw new UsageError(`diagnose takes one task id, got ${positional.length}`);
  const taskId = parseTaskId(positional[0]);
  if (taskId === null) throw new UsageError(`diagnose: task id must be a positive whole number, got "${positional[0]}"`);
  return { name: 'diagnose', taskId, json: flags.includes('--json'), lang };
}

function parseAccounts(kind: 'operator' | 'token', args: string[]): Command {
  const [verb, ...rest] = args;
  if (!verb) throw new UsageError(`${kind} needs a command: ${kind === 'operator' ? 'add, list, disable or passwd' : 'add, list or revoke'}`);
  let role: string | undefined;
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--role') role = rest[++i];
    else if (arg.startsWith('--role=')) role = arg.slice('--role='.length);
    else if (arg.startsWith('--')) throw new UsageError(`${kind} ${verb}: unknown option "${arg}" (passwords are never given in argv)`);
    else positional.push(arg);
  }
  if (positional.length > 1) throw new UsageError(`${kind} ${verb} takes one NAME, got ${positional.length}`);
  return { name: 'accounts', kind, verb, accountName: positional[0], role };
}

async function run(command: Command, config: Readonly<Config>): Promise<number> {
  const log = createLogger(config.logLevel);
  switch (command.name) {
    case 'serve':
      return (await import('./cli/serve.ts')).serveCommand(config, log);
    case 'run-once':
      return (await import('./cli/run-once.ts')).runOnceCommand(config, log, { force: command.force });
    case 'migrate':
      return (await import('./cli/migrate.ts')).runMigrate(config, log);
    case 'diagnose':
      return (await import('./cli/diagnose.ts')).runDiagnose(config, log, command);
    case 'close-leads': {
      const { parseCloseLeadsArgs, runCloseLeads, CloseLeadsUsageError } = await import('./cli/close-leads.ts');
      try {
        return await runCloseLeads(config, log, parseCloseLeadsArgs(command.argv));
      } catch (error) {
        if (!(error instanceof CloseLeadsUsageError)) throw error;
        fail(`${error.message}. Run \`npx autofollow --help\` for usage.`);
        return EXIT.usage;
      }
    }
    case 'export': {
      const { parseExportArgs, runExport, ExportUsageError } = await import('./cli/export.ts');
      try {
        return await runExport(config, log, parseExportArgs(command.argv));
      } catch (error) {
        if (!(error instanceof ExportUsageError)) throw error;
        fail(`${error.message}. Run \`npx autofollow --help\` for usage.`);
        return EXIT.usage;
      }
    }
    case 'launch':
    case 'recall': {
      const { parseLaunchArgs, runLaunch, LaunchUsageError } = await import('./cli/launch.ts');
      try {
        return await runLaunch(config, log, parseLaunchArgs(command.name, command.argv));
      } catch (error) {
        if (!(error instanceof LaunchUsageError)) throw error;
        fail(`${error.message}. Run \`npx autofollow --help\` for usage.`);
        return EXIT.usage;
      }
    }
    case 'accounts': {
      const { runAccounts, AccountsUsageError } = await import('./cli/accounts.ts');
      try {
        return await runAccounts(config, log, { kind: command.kind, verb: command.verb, name: command.accountName, role: command.role });
      } catch (error) {
        if (!(error instanceof AccountsUsageError)) throw error;
        fail(error.message);
        return EXIT.usage;
      }
    }
    default:
      throw new Error(`no runner for ${command.name}`);
  }
}

async function main(argv: string[]): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (argv.length === 0) process.stdout.write(USAGE);
    fail(`${error.message}. Run \`npx autofollow --help\` for usage.`);
    return EXIT.usage;
  }
  if (command.name === 'help') {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  let config: Readonly<Config> | undefined;
  try {
    loadDotEnv(); // every command, the demo included, sees the same settings as `serve`
    if (command.name === 'demo') {
      config = tryLoadConfig(); // only to explain a database error well; the demo reads its own
      return await (await import('./cli/demo.ts')).runDemo(command.argv);
    }
    config = loadConfig(process.env);
    return await run(command, config);
  } catch (error) {
    await reportFailure(error, config);
    return EXIT.fatal;
  }
}

function tryLoadConfig(): Readonly<Config> | undefined {
  try {
    return loadConfig(process.env);
  } catch {
    return undefined;
  }
}

async function reportFailure(error: unknown, config: Readonly<Config> | undefined): Promise<void> {
  let message = error instanceof Error ? error.message : String(error);
  if (config && !(error instanceof ConfigError)) {
    const { describeDatabaseError } = await import('./cli/check-database.ts');
    message = describeDatabaseError(error, config.databaseUrl) ?? message;
  }
  fail(redact(message, config));
  if (config && (config.logLevel === 'debug' || config.logLevel === 'trace')) {
    for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
      process.stderr.write(`${depth > 0 ? 'caused by: ' : ''}${redact(current.stack ?? current.message, config)}\n`);
    }
  }
}

/** The database password never reaches the terminal, whatever a driver put in its message. */
function redact(text: string, config: Readonly<Config> | undefined): string {
  let result = text.replace(/(mysql:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
  const password = config ? safeUrlPassword(config.databaseUrl) : '';
  if (password.length >= 3) result = result.split(password).join('***');
  return result;
}

function safeUrlPassword(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

function fail(message: string): void {
  process.stderr.write(`autofollow: ${message.split('\n')[0]!.trim()}\n`);
}

// Anything that escapes a command (a background promise, a timer) still ends as one line.
process.on('unhandledRejection', (reason) => {
  fail(`unexpected error: ${reason instanceof Error ? reason.message : String(reason)}`);
  process.exit(EXIT.fatal);
});
process.on('uncaughtException', (error) => {
  fail(`unexpected error: ${error.message}`);
  process.exit(EXIT.fatal);
});

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Closed pools and servers let the process end by itself; should a stray handle keep it alive
// (a socket, a timer), it still ends with the command's exit code instead of hanging a cron job.
setTimeout(() => process.exit(code), 5000).unref();
