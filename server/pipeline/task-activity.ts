// Hourly counts per task for the trend charts (issue 11) and the LLM's cost per task and day (issue
// 12), added inside the transaction of the write they count, so a rolled-back write counts nothing
// and a committed one is counted once.
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { taskActivity } from '../db/schema/app.ts';
import type { TokenUsage } from '../llm/types.ts';

const thisHour = sql`DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:00:00')`;

export interface ActivityCounts {
  callsFinished?: number;
  followsWritten?: number;
  /** LLM analyses whose tokens the API reported (first ones and re-runs)… */
  analyses?: number;
  /** …and the tokens they used. */
  inputTokens?: number;
  outputTokens?: number;
}

const COUNTED = ['callsFinished', 'followsWritten', 'analyses', 'inputTokens', 'outputTokens'] as const;

export async function countActivity(tx: Db, taskId: number, counts: ActivityCounts): Promise<void> {
  const n = Object.fromEntries(COUNTED.map((key) => [key, counts[key] ?? 0])) as Record<(typeof COUNTED)[number], number>;
  if (COUNTED.every((key) => n[key] === 0)) return;
  await tx
    .insert(taskActivity)
    .values({ taskId, hour: thisHour, ...n })
    .onDuplicateKeyUpdate({ set: Object.fromEntries(COUNTED.map((key) => [key, sql`${taskActivity[key]} + ${n[key]}`])) });
}

/** What analyses add to a task's activity: one per usage the API reported (a timeout reports none). */
export function analysisCounts(usages: ReadonlyArray<TokenUsage | undefined>): ActivityCounts {
  const reported = usages.filter((u): u is TokenUsage => u !== undefined);
  return {
    analyses: reported.length,
    inputTokens: reported.reduce((sum, u) => sum + u.inputTokens, 0),
    outputTokens: reported.reduce((sum, u) => sum + u.outputTokens, 0),
  };
}
