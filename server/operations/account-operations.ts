// Managing operator accounts and API tokens (admin only): the CLI's `operator …` / `token …` and
// the /operators page call these. Disabling an account ends its sessions at once.
import { createApiToken, listApiTokens, revokeApiToken, type ApiTokenInfo, type TokenRole } from '../access/api-tokens.ts';
import { createOperator, disableOperator, findOperator, listOperators, parseDisplayName, parseLogin, setOperatorPassword, type OperatorAccount } from '../access/operators.ts';
import { passwordProblem } from '../access/password-hash.ts';
import type { Role } from '../access/roles.ts';
import { countSessions, endSessionsOf } from '../access/sessions.ts';
import { runCommand, type AuditContext } from './context.ts';
import { done, refused, type Actor, type Outcome } from './outcome.ts';

export interface OperatorRow extends OperatorAccount {
  sessions: number;
}

export type AccountOperations = ReturnType<typeof accountOperations>;

export function accountOperations(context: AuditContext) {
  const { db } = context.pipeline;

  /** The account named, or a refusal naming what was wrong. */
  async function account(rawLogin: unknown): Promise<OperatorAccount | Outcome<never>> {
    const login = parseLogin(rawLogin);
    if (login === null) return refused('bad-input', { problem: 'login' });
    return (await findOperator(db, login)) ?? refused('not-found', { login });
  }
  const isOutcome = (value: OperatorAccount | Outcome<never>): value is Outcome<never> => 'status' in value;

  return {
    addOperator(actor: Actor, input: { login: unknown; displayName?: unknown; role: Role; password: string }): Promise<Outcome<OperatorAccount>> {
      return runCommand(context, actor, 'operator-add', {}, async () => {
        const login = parseLogin(input.login);
        if (login === null) return refused('bad-input', { problem: 'login' });
        const displayName = input.displayName === undefined || input.displayName === '' ? login : parseDisplayName(input.displayName);
        if (displayName === null) return refused('bad-input', { problem: 'display-name' });
        const problem = passwordProblem(input.password);
        if (problem) return refused('bad-input', { problem: 'password', detail: problem });
        const created = await createOperator(db, { login, displayName, role: input.role, password: input.password });
        return created ? done('operator-added', { login, role: input.role }, created) : refused('name-taken', { login });
      });
    },

    listOperators(actor: Actor): Promise<Outcome<OperatorRow[]>> {
      // A read: checked like a command but not audited.
      return runCommand(context, actor, 'operator-list', {}, async () => {
        const [accounts, counts] = await Promise.all([listOperators(db), countSessions(db)]);
        return done('listed', {}, accounts.map((a) => ({ ...a, sessions: counts.get(a.id) ?? 0 })));
      }, { audit: (outcome) => outcome.status !== 'done' });
    },

    disableOperator(actor: Actor, rawLogin: unknown): Promise<Outcome> {
      return runCommand(context, actor, 'operator-disable', {}, async () => {
        const found = await account(rawLogin);
        if (isOutcome(found)) return found;
        const changed = await disableOperator(db, found.id);
        // Ended whether or not this call disabled it: a disabled account has no session, ever.
        const ended = await endSessionsOf(db, found.id);
        return changed ? done('operator-disabled', { login: found.login, sessions: ended }) : refused('already-disabled', { login: found.login });
      });
    },

    setPassword(actor: Actor, rawLogin: unknown, password: string): Promise<Outcome> {
      return runCommand(context, actor, 'operator-passwd', {}, async () => {
        const found = await account(rawLogin);
        if (isOutcome(found)) return found;
        const problem = passwordProblem(password);
        if (problem) return refused('bad-input', { problem: 'password', detail: problem });
        await setOperatorPassword(db, found.id, password);
        // Whoever knew the old password may be logged in: a new password starts from no sessions.
        const ended = await endSessionsOf(db, found.id);
        return done('password-set', { login: found.login, sessions: ended });
      });
    },

    endSessions(actor: Actor, rawLogin: unknown): Promise<Outcome> {
      return runCommand(context, actor, 'operator-end-sessions', {}, async () => {
        const found = await account(rawLogin);
        if (isOutcome(found)) return found;
        return done('sessions-ended', { login: found.login, sessions: await endSessionsOf(db, found.id) });
      });
    },

    /** Done: the token itself, to show once. */
    addToken(actor: Actor, rawName: unknown, role: TokenRole): Promise<Outcome<string>> {
      return runCommand(context, actor, 'token-add', {}, async () => {
        const name = parseLogin(rawName);
        if (name === null) return refused('bad-input', { problem: 'name' });
        const token = await createApiToken(db, { name, role, createdBy: actor.name });
        return token ? done('token-added', { name, role }, token) : refused('name-taken', { name });
      });
    },

    listTokens(actor: Actor): Promise<Outcome<ApiTokenInfo[]>> {
      return runCommand(context, actor, 'token-list', {}, async () => done('listed', {}, await listApiTokens(db)), { audit: (outcome) => outcome.status !== 'done' });
    },

    revokeToken(actor: Actor, rawName: unknown): Promise<Outcome> {
      return runCommand(context, actor, 'token-revoke', {}, async () => {
        const name = parseLogin(rawName);
        if (name === null) return refused('bad-input', { problem: 'name' });
        return (await revokeApiToken(db, name)) ? done('token-revoked', { name }) : refused('not-found', { name });
      });
    },
  };
}
