// Logging in and out, and the bearer tokens' check (DESIGN §3.13). Login is not a command an actor
// runs, so it has no role; it still writes one audit row per attempt, named after the login typed.
import { createHash, timingSafeEqual } from 'node:crypto';
import { writeAudit } from '../audit-log.ts';
import { clearLoginFailures, loginThrottled, recordLoginFailure } from '../access/login-throttle.ts';
import { anyOperatorExists, findOperatorWithHash, parseDisplayName, parseLogin, recordLogin } from '../access/operators.ts';
import { verifyPassword } from '../access/password-hash.ts';
import { anyApiTokenExists, findApiToken } from '../access/api-tokens.ts';
import { createSession, endSession, readSession, type Session, type SessionOrigin, type SessionUser } from '../access/sessions.ts';
import type { Role } from '../access/roles.ts';
import type { PipelineDeps } from '../pipeline/deps.ts';
import { done, refused, type Outcome } from './outcome.ts';

/** Without DASHBOARD_PASSWORD and without accounts (loopback only, DESIGN §4) everyone is this admin. */
export const LOCAL_OPERATOR: SessionUser = { operatorId: null, name: 'local', role: 'admin' };
/** API_TOKEN's client: it may start work, as the CRM does, but not manage anything. */
export const API_TOKEN_CLIENT = { name: 'API_TOKEN', role: 'operator' } as const satisfies { name: string; role: Role };

export type AccessOperations = ReturnType<typeof accessOperations>;

export function accessOperations(context: { pipeline: Pick<PipelineDeps, 'db' | 'config'> }) {
  const { db, config } = context.pipeline;
  const bootstrapPassword = config.dashboardPassword;
  const apiTokenDigest = config.apiToken === undefined ? null : digest(config.apiToken);

  async function refuse(login: string, origin: SessionOrigin, reason: 'wrong-credentials' | 'bootstrap-closed'): Promise<Outcome<never>> {
    await recordLoginFailure(db, login, origin.address);
    await writeAudit(db, { actor: login, action: 'login', taskId: null, leadRowId: null, outcome: 'refused', detail: `${reason} from ${origin.address}` });
    return refused(reason);
  }

  return {
    /** Whether the dashboard asks for a login: DASHBOARD_PASSWORD is set or an account exists. */
    async loginRequired(): Promise<boolean> {
      return bootstrapPassword !== undefined || (await anyOperatorExists(db));
    },

    /**
     * An account's login, or the bootstrap admin's (DASHBOARD_PASSWORD, only while no account
     * exists). Throttled per name and per address, in the database. Done: the new session's id.
     */
    async login(rawName: unknown, password: string, origin: SessionOrigin): Promise<Outcome<{ sessionId: string; user: SessionUser }>> {
      const typed = typeof rawName === 'string' ? rawName.trim() : '';
      const login = parseLogin(typed) ?? (typed.slice(0, 64) || '?');
      if (await loginThrottled(db, login, origin.address)) return refused('throttled');
      let user: SessionUser;
      if (await anyOperatorExists(db)) {
        const account = parseLogin(typed) === null ? null : await findOperatorWithHash(db, login);
        // Verify even for an unknown name, so timing does not tell which names exist.
        const matches = await verifyPassword(password, account?.passwordHash ?? DUMMY_HASH);
        if (!account || account.disabled || !matches) {
          const usedBootstrap = bootstrapPassword !== undefined && !matches && passwordMatches(password, bootstrapPassword);
          return refuse(login, origin, usedBootstrap ? 'bootstrap-closed' : 'wrong-credentials');
        }
        await recordLogin(db, account.id);
        user = { operatorId: account.id, name: account.login, role: account.role };
      } else {
        if (bootstrapPassword === undefined || !passwordMatches(password, bootstrapPassword)) return refuse(login, origin, 'wrong-credentials');
        const name = parseDisplayName(typed);
        if (name === null) return refused('bad-input', { problem: 'name' });
        user = { operatorId: null, name: name.slice(0, 64), role: 'admin' };
      }
      await clearLoginFailures(db, login);
      const sessionId = await createSession(db, user, origin);
      await writeAudit(db, { actor: user.name, action: 'login', taskId: null, leadRowId: null, outcome: 'ok', detail: `${user.role} from ${origin.address}` });
      return done('logged-in', { role: user.role }, { sessionId, user });
    },

    /** The live session behind a cookie's id, or null. */
    session(sessionId: string): Promise<Session | null> {
      return readSession(db, sessionId);
    },

    async logout(sessionId: string): Promise<void> {
      await endSession(db, sessionId);
    },

    /** Whether /api and /metrics need a bearer token: API_TOKEN is set or a token was created. */
    async tokenRequired(): Promise<boolean> {
      return apiTokenDigest !== null || (await anyApiTokenExists(db));
    },

    /** The client behind a bearer token (API_TOKEN or a created one), or null. */
    async tokenClient(presented: string): Promise<{ name: string; role: Role } | null> {
      // Compare digests, so neither the length nor the content of API_TOKEN leaks through timing.
      if (apiTokenDigest !== null && timingSafeEqual(digest(presented), apiTokenDigest)) return API_TOKEN_CLIENT;
      return findApiToken(db, presented);
    },
  };
}

/** A valid hash of a random password: an unknown name costs the same scrypt as a known one. */
const DUMMY_HASH = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

function passwordMatches(presented: string, password: string): boolean {
  // Digests have one length, so neither length nor content leaks through timing.
  return timingSafeEqual(digest(presented), digest(password));
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
