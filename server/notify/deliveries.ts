// The delivery rows' queries. Every state change is a conditional update (the expected state in the
// WHERE), and every time is the database's UTC clock, so any number of copies agree.
import { and, asc, desc, eq, gte, inArray, lt, lte, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { writeResult } from '../db/client.ts';
import { channelSends, deliveries, hotLeadEvents } from '../db/schema/app.ts';
import { CHANNELS, type ChannelName } from './channels.ts';

export type DeliveryState = 'pending' | 'sent' | 'dead';

const utcNow = sql`UTC_TIMESTAMP(3)`;
const utcIn = (ms: number) => sql`UTC_TIMESTAMP(3) + INTERVAL ${Math.max(0, Math.round(ms)) * 1000} MICROSECOND`;

/**
 * Gives each committed hot-lead event one delivery row per configured channel. Two copies doing
 * this at once make no duplicate: (hot_lead_id, channel) is unique.
 */
export async function fanOut(db: Db, channels: ChannelName[], limit = 500): Promise<number> {
  const events = await db
    .select({ id: hotLeadEvents.id })
    .from(hotLeadEvents)
    .where(eq(hotLeadEvents.fannedOut, 0))
    .orderBy(asc(hotLeadEvents.id))
    .limit(limit);
  if (events.length === 0) return 0;
  const ids = events.map((e) => e.id);
  await db.transaction(async (tx) => {
    if (channels.length > 0) {
      await tx
        .insert(deliveries)
        .values(ids.flatMap((hotLeadId) => channels.map((channel) => ({ hotLeadId, channel, state: 'pending', attempts: 0, nextAttemptAt: utcNow, createdAt: utcNow }))))
        .onDuplicateKeyUpdate({ set: { hotLeadId: sql`${deliveries.hotLeadId}` } });
    }
    await tx.update(hotLeadEvents).set({ fannedOut: 1 }).where(and(inArray(hotLeadEvents.id, ids), eq(hotLeadEvents.fannedOut, 0)));
  });
  return ids.length;
}

export interface DueDelivery {
  id: number;
  hotLeadId: number;
  attempts: number;
}

export async function dueDeliveries(db: Db, channel: ChannelName, limit: number): Promise<DueDelivery[]> {
  return db
    .select({ id: deliveries.id, hotLeadId: deliveries.hotLeadId, attempts: deliveries.attempts })
    .from(deliveries)
    .where(and(eq(deliveries.channel, channel), eq(deliveries.state, 'pending'), lte(deliveries.nextAttemptAt, utcNow)))
    .orderBy(asc(deliveries.nextAttemptAt), asc(deliveries.id))
    .limit(limit);
}

export async function markSent(db: Db, ids: number[], batchId: string): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await db
    .update(deliveries)
    .set({ state: 'sent', sentAt: utcNow, batchId, lastError: null, attempts: sql`${deliveries.attempts} + 1` })
    .where(and(inArray(deliveries.id, ids), eq(deliveries.state, 'pending')));
  return writeResult(result).affectedRows;
}

/** One more failed attempt: back off, or dead once `maxAttempts` are used. */
export async function markFailed(db: Db, items: DueDelivery[], error: string, maxAttempts: number, backoffMs: (attempt: number) => number): Promise<{ dead: number }> {
  let dead = 0;
  for (const item of items) {
    const attempt = item.attempts + 1;
    const isDead = attempt >= maxAttempts;
    if (isDead) dead++;
    await db
      .update(deliveries)
      .set({ attempts: attempt, lastError: error.slice(0, 2000), ...(isDead ? { state: 'dead' } : { nextAttemptAt: utcIn(backoffMs(attempt)) }) })
      .where(and(eq(deliveries.id, item.id), eq(deliveries.state, 'pending'), eq(deliveries.attempts, item.attempts)));
  }
  return { dead };
}

/** Counts a message against the channel's per-minute limit (before it is sent: a failed try counts too). */
export async function recordSend(db: Db, channel: ChannelName): Promise<void> {
  await db.insert(channelSends).values({ channel, sentAt: utcNow });
}

/** The channel's messages of the last 60 s, and how long ago the latest one went (null: none). */
export async function recentSends(db: Db, channel: ChannelName): Promise<{ lastMinute: number; lastAgoMs: number | null }> {
  const [row] = await db
    .select({ n: sql<number>`COUNT(*)`, agoUs: sql<number | null>`TIMESTAMPDIFF(MICROSECOND, MAX(${channelSends.sentAt}), UTC_TIMESTAMP(3))` })
    .from(channelSends)
    .where(and(eq(channelSends.channel, channel), gte(channelSends.sentAt, sql`UTC_TIMESTAMP(3) - INTERVAL 60 SECOND`)));
  return { lastMinute: Number(row?.n ?? 0), lastAgoMs: row?.agoUs == null ? null : Number(row.agoUs) / 1000 };
}

export async function pruneSends(db: Db, channel: ChannelName): Promise<void> {
  await db.delete(channelSends).where(and(eq(channelSends.channel, channel), lt(channelSends.sentAt, sql`UTC_TIMESTAMP(3) - INTERVAL 1 HOUR`)));
}

/** An operator's resend: a dead delivery becomes due again with fresh attempts. */
export async function resendDead(db: Db, id: number): Promise<'resent' | 'not-found' | 'not-dead'> {
  const result = await db
    .update(deliveries)
    .set({ state: 'pending', attempts: 0, nextAttemptAt: utcNow, lastError: null })
    .where(and(eq(deliveries.id, id), eq(deliveries.state, 'dead')));
  if (writeResult(result).affectedRows === 1) return 'resent';
  const [row] = await db.select({ id: deliveries.id }).from(deliveries).where(eq(deliveries.id, id));
  return row ? 'not-dead' : 'not-found';
}

export interface DeliveryRow {
  id: number;
  channel: ChannelName;
  state: DeliveryState;
  attempts: number;
  taskId: number;
  leadRowId: number;
  eventId: string;
  batchId: string | null;
  lastError: string | null;
  createdAt: Date;
  sentAt: Date | null;
  nextAttemptAt: Date;
}

/** The newest deliveries of one channel (idx_af_delivery_recent: channel, id). */
export async function recentDeliveries(db: Db, channel: ChannelName, limit: number): Promise<DeliveryRow[]> {
  const rows = await db
    .select({
      id: deliveries.id, channel: deliveries.channel, state: deliveries.state, attempts: deliveries.attempts,
      taskId: hotLeadEvents.taskId, leadRowId: hotLeadEvents.leadRowId, eventId: hotLeadEvents.eventId,
      batchId: deliveries.batchId, lastError: deliveries.lastError, createdAt: deliveries.createdAt,
      sentAt: deliveries.sentAt, nextAttemptAt: deliveries.nextAttemptAt,
    })
    .from(deliveries)
    .innerJoin(hotLeadEvents, eq(hotLeadEvents.id, deliveries.hotLeadId))
    .where(eq(deliveries.channel, channel))
    .orderBy(desc(deliveries.id))
    .limit(limit);
  return rows.map((r) => ({ ...r, channel: r.channel as ChannelName, state: r.state as DeliveryState }));
}

/** Dead deliveries per channel, every channel present (0 when none): what waits for an operator's resend.
 * Index only: the (channel, state) prefix of idx_af_delivery_due, never the sent rows. */
export async function countDead(db: Db): Promise<Record<ChannelName, number>> {
  const rows = await db
    .select({ channel: deliveries.channel, n: sql<number>`COUNT(*)` })
    .from(deliveries)
    .where(and(inArray(deliveries.channel, [...CHANNELS]), eq(deliveries.state, 'dead')))
    .groupBy(deliveries.channel);
  const counts = Object.fromEntries(CHANNELS.map((channel) => [channel, 0])) as Record<ChannelName, number>;
  for (const row of rows) if (row.channel in counts) counts[row.channel as ChannelName] = Number(row.n);
  return counts;
}
