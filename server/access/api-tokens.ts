// Bearer tokens per client (issue 8): each has a name and a role, is shown once when created, and is
// kept only as its SHA-256. A token is 32 random bytes, so a plain hash is enough: there is nothing
// to guess that a slow hash would protect (unlike a password a person chose).
import { createHash, randomBytes } from 'node:crypto';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { writeResult } from '../db/client.ts';
import { apiTokens } from '../db/schema/app.ts';
import { isDuplicateKey } from '../db/duplicate-key.ts';
import { isRole, type Role } from './roles.ts';

/** Roles a token may have: an API client never manages the scheduler, leases or accounts. */
export const TOKEN_ROLES = ['viewer', 'operator'] as const satisfies readonly Role[];
export type TokenRole = (typeof TOKEN_ROLES)[number];

export function isTokenRole(value: unknown): value is TokenRole {
  return typeof value === 'string' && (TOKEN_ROLES as readonly string[]).includes(value);
}

export interface ApiTokenInfo {
  name: string;
  role: Role;
  createdAt: Date;
  createdBy: string;
  revoked: boolean;
}

/** The token itself (to show once), or null when the name is taken. */
export async function createApiToken(db: Db, token: { name: string; role: TokenRole; createdBy: string }): Promise<string | null> {
  const secret = `af_${randomBytes(32).toString('base64url')}`;
  try {
    await db.insert(apiTokens).values({ name: token.name, role: token.role, tokenHash: hashToken(secret), createdAt: sql`UTC_TIMESTAMP(3)`, createdBy: token.createdBy.slice(0, 128) });
  } catch (error) {
    if (isDuplicateKey(error)) return null;
    throw error;
  }
  return secret;
}

/** The live token's name and role, or null. */
export async function findApiToken(db: Db, presented: string): Promise<{ name: string; role: Role } | null> {
  const [row] = await db
    .select({ name: apiTokens.name, role: apiTokens.role })
    .from(apiTokens)
    .where(and(eq(apiTokens.tokenHash, hashToken(presented)), isNull(apiTokens.revokedAt)));
  return row && isRole(row.role) ? { name: row.name, role: row.role } : null;
}

/** Whether any token is live: then /api needs one even without API_TOKEN. */
export async function anyApiTokenExists(db: Db): Promise<boolean> {
  const [row] = await db.select({ id: apiTokens.id }).from(apiTokens).where(isNull(apiTokens.revokedAt)).limit(1);
  return row !== undefined;
}

export async function listApiTokens(db: Db): Promise<ApiTokenInfo[]> {
  const rows = await db.select().from(apiTokens).orderBy(asc(apiTokens.name));
  return rows.map((row) => ({ name: row.name, role: isRole(row.role) ? row.role : 'viewer', createdAt: row.createdAt, createdBy: row.createdBy, revoked: row.revokedAt !== null }));
}

/** True when this call revoked it. */
export async function revokeApiToken(db: Db, name: string): Promise<boolean> {
  const result = await db.update(apiTokens).set({ revokedAt: sql`UTC_TIMESTAMP(3)` }).where(and(eq(apiTokens.name, name), isNull(apiTokens.revokedAt)));
  return writeResult(result).affectedRows === 1;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
