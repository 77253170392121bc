// `autofollow operator add|list|disable|passwd NAME [--role …]` and `autofollow token
// add|list|revoke NAME [--role …]` (DESIGN §4): the account operations run by whoever has a shell
// and the database URL, audited as "cli:<user>". A password is read from stdin, or prompted twice
// on a terminal; never from argv, where `ps` and shell history would keep it.
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import { isTokenRole } from '../access/api-tokens.ts';
import { isRole } from '../access/roles.ts';
import type { Config } from '../config.ts';
import { openDatabase } from '../db/client.ts';
import { migrateDatabase } from '../db/migrate.ts';
import type { Logger } from '../log.ts';
import { accountOperations } from '../operations/account-operations.ts';
import type { Actor, Outcome } from '../operations/index.ts';
import { describeOutcome } from '../operations/outcome.ts';

export interface AccountsCommand {
  kind: 'operator' | 'token';
  verb: string;
  name: string | undefined;
  role: string | undefined;
}

export class AccountsUsageError extends Error {}

export async function runAccounts(config: Readonly<Config>, log: Logger, command: AccountsCommand): Promise<number> {
  await migrateDatabase(config.databaseUrl, config.databaseName);
  const database = openDatabase(config.databaseUrl);
  try {
    // Account commands touch only the database: the pipeline's clients are never built here.
    const accounts = accountOperations({ pipeline: { db: database.db, log } });
    const actor: Actor = { name: `cli:${safeUser()}`, role: 'admin', via: 'cli' };
    return await dispatch(accounts, actor, command);
  } finally {
    await database.close();
  }
}

async function dispatch(accounts: ReturnType<typeof accountOperations>, actor: Actor, { kind, verb, name, role }: AccountsCommand): Promise<number> {
  const needName = () => {
    if (!name) throw new AccountsUsageError(`${kind} ${verb} needs a NAME`);
    return name;
  };
  if (kind === 'operator') {
    switch (verb) {
      case 'add': {
        const login = needName();
        if (!isRole(role)) throw new AccountsUsageError('operator add needs --role viewer|operator|admin');
        return report(await accounts.addOperator(actor, { login, role, password: await readNewPassword() }), `operator ${login} added as ${role}`);
      }
      case 'list': {
        const outcome = await accounts.listOperators(actor);
        if (outcome.status !== 'done' || !outcome.data) return report(outcome, '');
        for (const o of outcome.data) {
          process.stdout.write(`${o.login}\t${o.role}\t${o.disabled ? 'disabled' : 'active'}\t${o.displayName}\tlast login ${o.lastLoginAt?.toISOString() ?? 'never'}\t${o.sessions} session(s)\n`);
        }
        return 0;
      }
      case 'disable':
        return report(await accounts.disableOperator(actor, needName()), `operator ${name} disabled; their sessions ended`);
      case 'passwd': {
        const login = needName();
        return report(await accounts.setPassword(actor, login, await readNewPassword()), `password of ${login} changed; their sessions ended`);
      }
    }
  } else {
    switch (verb) {
      case 'add': {
        const tokenName = needName();
        if (!isTokenRole(role)) throw new AccountsUsageError('token add needs --role operator|viewer');
        const outcome = await accounts.addToken(actor, tokenName, role);
        if (outcome.status === 'done' && outcome.data) {
          process.stderr.write(`token ${tokenName} (${role}) created; it is shown once, store it now:\n`);
          process.stdout.write(`${outcome.data}\n`);
          return 0;
        }
        return report(outcome, '');
      }
      case 'list': {
        const outcome = await accounts.listTokens(actor);
        if (outcome.status !== 'done' || !outcome.data) return report(outcome, '');
        for (const t of outcome.data) process.stdout.write(`${t.name}\t${t.role}\t${t.revoked ? 'revoked' : 'active'}\tcreated ${t.createdAt.toISOString()} by ${t.createdBy}\n`);
        return 0;
      }
      case 'revoke':
        return report(await accounts.revokeToken(actor, needName()), `token ${name} revoked`);
    }
  }
  throw new AccountsUsageError(`unknown ${kind} command "${verb}" (${kind === 'operator' ? 'add, list, disable, passwd' : 'add, list, revoke'})`);
}

function report(outcome: Outcome<unknown>, success: string): number {
  if (outcome.status === 'done' || outcome.status === 'started') {
    process.stderr.write(`autofollow: ${success}\n`);
    return 0;
  }
  process.stderr.write(`autofollow: ${describeOutcome(outcome)}\n`);
  return outcome.status === 'refused' && outcome.reason === 'bad-input' ? 2 : 1;
}

/** A new password: prompted twice on a terminal, else the first line of stdin. */
async function readNewPassword(): Promise<string> {
  if (process.stdin.isTTY) {
    const first = await prompt('new password: ');
    const second = await prompt('again: ');
    if (first !== second) throw new AccountsUsageError('the two passwords differ');
    return first;
  }
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  throw new AccountsUsageError('no password on stdin (pipe it in, or run on a terminal to be asked)');
}

function prompt(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    // Echo nothing of what is typed.
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
      if (s.startsWith(question)) process.stderr.write(question);
    };
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
