// The operator accounts (af_operators): who may log in, with which role. Disabling keeps the row, so
// the audit log's names still resolve to an account; nothing here is ever deleted.
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { writeResult } from '../db/client.ts';
import { operators } from '../db/schema/app.ts';
import { isDuplicateKey } from '../db/duplicate-key.ts';
import { hashPassword } from './password-hash.ts';
import { isRole, type Role } from './roles.ts';

export interface OperatorAccount {
  id: number;
  login: string;
  displayName: string;
  role: Role;
  disabled: boolean;
  createdAt: Date;
  lastLoginAt: Date | null;
}

/** A login name: 1..64 of letters, digits, "." "_" "-" (it is typed on a command line and in a form). */
export function parseLogin(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const login = raw.trim();
  return /^[\p{L}\p{N}._-]{1,64}$/u.test(login) ? login : null;
}

/** A display name as typed: trimmed, 1..128 characters, no control characters. */
export function parseDisplayName(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const name = raw.trim();
  if (name.length === 0 || name.length > 128 || /[\u0000-\u001f\u007f]/.test(name)) return null;
  return name;
}

/** The new account, or null when the login is taken. */
export async function createOperator(db: Db, account: { login: string; displayName: string; role: Role; password: string }): Promise<OperatorAccount | null> {
  const passwordHash = await hashPassword(account.password);
  try {
    await db.insert(operators).values({ login: account.login, displayName: account.displayName, role: account.role, passwordHash, createdAt: sql`UTC_TIMESTAMP(3)` });
  } catch (error) {
    if (isDuplicateKey(error)) return null;
    throw error;
  }
  return findOperator(db, account.login);
}

export async function findOperator(db: Db, login: string): Promise<OperatorAccount | null> {
  const [row] = await db.select().from(operators).where(eq(operators.login, login));
  return row ? toAccount(row) : null;
}

/** With the stored hash, for the login check only. */
export async function findOperatorWithHash(db: Db, login: string): Promise<(OperatorAccount & { passwordHash: string }) | null> {
  const [row] = await db.select().from(operators).where(eq(operators.login, login));
  return row ? { ...toAccount(row), passwordHash: row.passwordHash } : null;
}

export async function listOperators(db: Db): Promise<OperatorAccount[]> {
  return (await db.select().from(operators).orderBy(asc(operators.login))).map(toAccount);
}

/** Whether any account exists (disabled ones too): from then on DASHBOARD_PASSWORD is refused. */
export async function anyOperatorExists(db: Db): Promise<boolean> {
  const [row] = await db.select({ id: operators.id }).from(operators).limit(1);
  return row !== undefined;
}

/** True when this call disabled it; false when it was disabled already or does not exist. */
export async function disableOperator(db: Db, id: number): Promise<boolean> {
  const result = await db.update(operators).set({ disabledAt: sql`UTC_TIMESTAMP(3)` }).where(and(eq(operators.id, id), isNull(operators.disabledAt)));
  return writeResult(result).affectedRows === 1;
}

export async function setOperatorPassword(db: Db, id: number, password: string): Promise<void> {
  await db.update(operators).set({ passwordHash: await hashPassword(password) }).where(eq(operators.id, id));
}

export async function recordLogin(db: Db, id: number): Promise<void> {
  await db.update(operators).set({ lastLoginAt: sql`UTC_TIMESTAMP(3)` }).where(eq(operators.id, id));
}

function toAccount(row: typeof operators.$inferSelect): OperatorAccount {
  if (!isRole(row.role)) throw new Error(`operator ${row.login} has an unknown role "${row.role}" in af_operators`);
  return { id: row.id, login: row.login, displayName: row.displayName, role: row.role, disabled: row.disabledAt !== null, createdAt: row.createdAt, lastLoginAt: row.lastLoginAt };
}
