// Hourly counts per task for the trend charts (issue 11), added inside the transaction of the write
// they count, so a rolled-back write counts nothing and a committed one is counted once.
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { taskActivity } from '../db/schema/app.ts';

const thisHour = sql`DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:00:00')`;

export async function countActivity(tx: Db, taskId: number, counts: { callsFinished?: number; followsWritten?: number }): Promise<void> {
  const callsFinished = counts.callsFinished ?? 0;
  const followsWritten = counts.followsWritten ?? 0;
  if (callsFinished === 0 && followsWritten === 0) return;
  await tx
    .insert(taskActivity)
    .values({ taskId, hour: thisHour, callsFinished, followsWritten })
    .onDuplicateKeyUpdate({
      set: {
        callsFinished: sql`${taskActivity.callsFinished} + ${callsFinished}`,
        followsWritten: sql`${taskActivity.followsWritten} + ${followsWritten}`,
      },
    });
}
