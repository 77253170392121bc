// Login throttling counted in the database (af_login_failures), per login name and per address, so
// every running copy shares the count and guessing one account from many addresses is slow too.
import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { loginFailures } from '../db/schema/app.ts';

export const THROTTLE_WINDOW_MINUTES = 15;
/** Failed logins of one name within the window before that name is refused for a while. */
export const MAX_FAILURES_PER_NAME = 10;
/** Failed logins from one address within the window (an office may share one address). */
export const MAX_FAILURES_PER_ADDRESS = 30;


/** True when either the name or the address has failed too often lately. */
export async function loginThrottled(db: Db, login: string, address: string): Promise<boolean> {
  const [row] = await db
    .select({
      byName: sql<number>`(SELECT COUNT(*) FROM af_login_failures WHERE login = ${login.slice(0, 64)} AND at > UTC_TIMESTAMP(3) - INTERVAL ${THROTTLE_WINDOW_MINUTES} MINUTE)`,
      byAddress: sql<number>`(SELECT COUNT(*) FROM af_login_failures WHERE address = ${address.slice(0, 64)} AND at > UTC_TIMESTAMP(3) - INTERVAL ${THROTTLE_WINDOW_MINUTES} MINUTE)`,
    })
    .from(sql`DUAL`);
  return Number(row?.byName ?? 0) >= MAX_FAILURES_PER_NAME || Number(row?.byAddress ?? 0) >= MAX_FAILURES_PER_ADDRESS;
}

export async function recordLoginFailure(db: Db, login: string, address: string): Promise<void> {
  await db.insert(loginFailures).values({ at: sql`UTC_TIMESTAMP(3)`, login: login.slice(0, 64), address: address.slice(0, 64) });
  // Old rows only ever answer "no": drop them as we go, bounded by the window's indexes.
  await db.delete(loginFailures).where(and(eq(loginFailures.login, login.slice(0, 64)), lt(loginFailures.at, sql`UTC_TIMESTAMP(3) - INTERVAL ${THROTTLE_WINDOW_MINUTES} MINUTE`)));
}

/** A successful login clears its name's count, so a typo now and then never locks a person out. */
export async function clearLoginFailures(db: Db, login: string): Promise<void> {
  await db.delete(loginFailures).where(eq(loginFailures.login, login.slice(0, 64)));
}

