// Random secrets generated once and kept in af_settings, so every running copy signs and checks
// cookies with the same key and no key is ever derived from a password (DESIGN §3.13).
import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { settings } from '../db/schema/app.ts';

export const COOKIE_SECRET = 'cookie_secret';

/** The stored secret, created on first use; two copies starting at once agree on the first one written. */
export async function loadOrCreateSecret(db: Db, name: string): Promise<string> {
  // INSERT IGNORE: the first writer wins, everyone then reads the same row.
  await db.insert(settings).ignore().values({ name, value: randomBytes(32).toString('base64url'), updatedAt: sql`UTC_TIMESTAMP(3)`, updatedBy: 'autofollow' });
  const [row] = await db.select({ value: settings.value }).from(settings).where(eq(settings.name, name));
  if (!row) throw new Error(`the secret ${name} could not be stored in af_settings`);
  return row.value;
}
