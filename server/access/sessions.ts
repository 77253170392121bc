// Dashboard sessions in the database (DESIGN §3.13), so every running copy accepts them and any of
// them can end one. The cookie carries a random id; the table keeps only its SHA-256. A session ends
// at its absolute expiry, after IDLE_MINUTES without a request, on logout, when an admin ends it,
// when its account is disabled, and (bootstrap sessions) once the first account exists.
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { writeResult } from '../db/client.ts';
import { operators, sessions } from '../db/schema/app.ts';
import { isRole, type Role } from './roles.ts';

export const SESSION_HOURS = 12;
export const IDLE_MINUTES = 120;
/** last_seen_at is written at most this often, not on every poll. */
const TOUCH_EVERY_SECONDS = 60;

export interface SessionUser {
  /** af_operators.id, or null for the DASHBOARD_PASSWORD bootstrap admin */
  operatorId: number | null;
  /** The name the audit log records: the login, or the name typed at a bootstrap login. */
  name: string;
  role: Role;
}

export interface Session extends SessionUser {
  idHash: string;
}

export interface SessionOrigin {
  address: string;
  userAgent: string;
}

/** Starts a session; returns the id for the cookie (never stored). */
export async function createSession(db: Db, user: SessionUser, origin: SessionOrigin): Promise<string> {
  const id = randomBytes(32).toString('base64url');
  await db.insert(sessions).values({
    idHash: hashSessionId(id),
    operatorId: user.operatorId,
    name: user.name.slice(0, 128),
    role: user.role,
    createdAt: sql`UTC_TIMESTAMP(3)`,
    lastSeenAt: sql`UTC_TIMESTAMP(3)`,
    expiresAt: sql`UTC_TIMESTAMP(3) + INTERVAL ${SESSION_HOURS} HOUR`,
    address: origin.address.slice(0, 64),
    userAgent: origin.userAgent.slice(0, 255),
  });
  return id;
}

/**
 * The live session behind a cookie's id, with the account's current role (a role change or a
 * disable takes effect on the next request), or null. Against the database's clock.
 */
export async function readSession(db: Db, id: string): Promise<Session | null> {
  const idHash = hashSessionId(id);
  const live = and(
    eq(sessions.idHash, idHash),
    gt(sessions.expiresAt, sql`UTC_TIMESTAMP(3)`),
    gt(sessions.lastSeenAt, sql`UTC_TIMESTAMP(3) - INTERVAL ${IDLE_MINUTES} MINUTE`),
  );
  const [row] = await db
    .select({
      operatorId: sessions.operatorId, name: sessions.name, bootstrapRole: sessions.role, role: operators.role, disabledAt: operators.disabledAt,
      stale: sql<number>`${sessions.lastSeenAt} < UTC_TIMESTAMP(3) - INTERVAL ${TOUCH_EVERY_SECONDS} SECOND`,
      // A bootstrap session is over once an account exists (DASHBOARD_PASSWORD is refused from then on).
      accounts: sql<number>`EXISTS (SELECT 1 FROM af_operators)`,
    })
    .from(sessions)
    .leftJoin(operators, eq(operators.id, sessions.operatorId))
    .where(live);
  if (!row) return null;
  const role = row.operatorId === null ? row.bootstrapRole : row.role;
  if (row.operatorId === null ? Number(row.accounts) === 1 : row.disabledAt !== null || role === null) return null;
  if (!isRole(role)) return null;
  if (Number(row.stale) === 1) await db.update(sessions).set({ lastSeenAt: sql`UTC_TIMESTAMP(3)` }).where(eq(sessions.idHash, idHash));
  return { idHash, operatorId: row.operatorId, name: row.name, role };
}

export async function endSession(db: Db, id: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.idHash, hashSessionId(id)));
}

/** Ends every session of an account; the number ended. */
export async function endSessionsOf(db: Db, operatorId: number): Promise<number> {
  return writeResult(await db.delete(sessions).where(eq(sessions.operatorId, operatorId))).affectedRows;
}

/** Sessions that can no longer be used, deleted now and then so the table stays small. */
export async function deleteEndedSessions(db: Db): Promise<number> {
  const ended = or(lt(sessions.expiresAt, sql`UTC_TIMESTAMP(3)`), lt(sessions.lastSeenAt, sql`UTC_TIMESTAMP(3) - INTERVAL ${IDLE_MINUTES} MINUTE`));
  return writeResult(await db.delete(sessions).where(ended)).affectedRows;
}

/** How many live sessions each account has, for the /operators page. */
export async function countSessions(db: Db): Promise<Map<number, number>> {
  const rows = await db
    .select({ operatorId: sessions.operatorId, n: sql<number>`COUNT(*)` })
    .from(sessions)
    .where(and(gt(sessions.expiresAt, sql`UTC_TIMESTAMP(3)`), sql`${sessions.operatorId} IS NOT NULL`))
    .groupBy(sessions.operatorId);
  return new Map(rows.map((row) => [row.operatorId!, Number(row.n)]));
}

function hashSessionId(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

