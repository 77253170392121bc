// "Pause / resume the whole scheduler": one af_settings row shared by every running copy (DESIGN §1:
// processes coordinate through MySQL only). The row exists while paused and says since when and by
// whom; resuming deletes it. Both changes are single statements, so two operators clicking at once
// get exactly one "changed" between them.
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { writeResult } from '../db/client.ts';
import { settings } from '../db/schema/app.ts';
import { isDuplicateKey } from '../db/duplicate-key.ts';

export interface SchedulerPause {
  pausedAt: Date;
  pausedBy: string;
}

export const SCHEDULER_PAUSED = 'scheduler_paused';
const PAUSED = '1';

/** True when this call paused it; false when it was paused already. */
export async function pauseScheduler(db: Db, by: string): Promise<boolean> {
  try {
    await db.insert(settings).values({ name: SCHEDULER_PAUSED, value: PAUSED, updatedAt: sql`UTC_TIMESTAMP(3)`, updatedBy: by.slice(0, 128) });
    return true;
  } catch (error) {
    if (isDuplicateKey(error)) return false;
    throw error;
  }
}

/**
 * True when this call resumed it; false when it was not paused. Who resumed is the caller's audit
 * entry to keep (audit-log.ts): the switch itself keeps no trace of a pause once it is over.
 */
export async function resumeScheduler(db: Db, _by: string): Promise<boolean> {
  const result = await db.delete(settings).where(and(eq(settings.name, SCHEDULER_PAUSED), eq(settings.value, PAUSED)));
  return writeResult(result).affectedRows === 1;
}

export async function readSchedulerPause(db: Db): Promise<SchedulerPause | null> {
  const [row] = await db
    .select({ pausedAt: settings.updatedAt, pausedBy: settings.updatedBy })
    .from(settings)
    .where(and(eq(settings.name, SCHEDULER_PAUSED), eq(settings.value, PAUSED)));
  return row ?? null;
}
