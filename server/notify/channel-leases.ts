// One copy sends for a channel at a time (so the per-minute limit is counted by one sender and a
// digest is never sent twice by two copies): a lease row per channel, claimed by one conditional
// UPDATE against the database's clock, like a task lease (DESIGN §3.8). A crashed holder's lease
// expires and another copy takes over.
import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { writeResult } from '../db/client.ts';
import { channelLeases } from '../db/schema/app.ts';
import type { ChannelName } from './channels.ts';

export async function claimChannel(db: Db, channel: ChannelName, owner: string, seconds: number): Promise<boolean> {
  await db.insert(channelLeases).values({ channel, owner: null, expiresAt: null }).onDuplicateKeyUpdate({ set: { channel: sql`${channelLeases.channel}` } });
  const result = await db
    .update(channelLeases)
    .set({ owner, expiresAt: sql`UTC_TIMESTAMP(3) + INTERVAL ${seconds} SECOND` })
    .where(and(eq(channelLeases.channel, channel), or(isNull(channelLeases.owner), eq(channelLeases.owner, owner), lt(channelLeases.expiresAt, sql`UTC_TIMESTAMP(3)`))));
  return writeResult(result).affectedRows === 1;
}

export async function releaseChannel(db: Db, channel: ChannelName, owner: string): Promise<void> {
  await db.update(channelLeases).set({ owner: null, expiresAt: null }).where(and(eq(channelLeases.channel, channel), eq(channelLeases.owner, owner)));
}
