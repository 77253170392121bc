// The gauges of GET /metrics that come from the database, read when Prometheus scrapes: tasks by
// stage, stuck leads by cause, the scheduler's pause switch and dead hot-lead deliveries per channel. They are the queries the dashboard
// polls every few seconds (countTasksByStage, findStuckPage, readSchedulerPause), answered from
// indexes (test/dashboard/index-usage.test.ts), and a scrape waits for them only so long.
import type { Db } from './db/client.ts';
import type { Logger } from './log.ts';
import { setDatabaseGauges } from './metrics.ts';
import { within } from './net/within.ts';
import { findStuckPage, type StuckCauseKind, type StuckOptions } from './dashboard/stuck.ts';
import { countTasksByStage } from './dashboard/task-list.ts';
import { countDead } from './notify/deliveries.ts';
import { readSchedulerPause } from './scheduler/scheduler-switch.ts';

/** A scrape must answer even when the database is slow; Prometheus' default scrape timeout is 10 s. */
export const DATABASE_GAUGES_TIMEOUT_MS = 5000;

/** The lead-level causes of /stuck; task-level ones (leases, no progress) count no leads. */
export const STUCK_LEAD_CAUSES = ['api-errors', 'job-cancelled', 'no-conversation', 'not-in-group', 'never-called', 'analysis-failed'] as const satisfies readonly StuckCauseKind[];

export async function refreshDatabaseGauges(db: Db, options: Omit<StuckOptions, 'limit'>, log: Pick<Logger, 'warn'>): Promise<void> {
  try {
    const facts = await within(readDatabaseFacts(db, options), DATABASE_GAUGES_TIMEOUT_MS);
    if (facts === undefined) throw new Error(`no answer within ${DATABASE_GAUGES_TIMEOUT_MS} ms`);
    setDatabaseGauges(facts);
  } catch (error) {
    setDatabaseGauges(null);
    log.warn({ err: error }, `metrics: the database gauges were left out (${(error as Error).message})`);
  }
}

async function readDatabaseFacts(db: Db, options: Omit<StuckOptions, 'limit'>) {
  const [pause, tasksByStage, stuck, deadDeliveriesByChannel] = await Promise.all([
    readSchedulerPause(db),
    countTasksByStage(db),
    // Every stuck task, not a page: at most one entry per task in memory, like /stuck's count.
    findStuckPage(db, { ...options, limit: Number.MAX_SAFE_INTEGER }),
    countDead(db),
  ]);
  const stuckLeadsByCause: Record<string, number> = Object.fromEntries(STUCK_LEAD_CAUSES.map((cause) => [cause, 0]));
  for (const cause of stuck.tasks.flatMap((task) => task.causes)) {
    if (cause.count !== null && cause.kind in stuckLeadsByCause) stuckLeadsByCause[cause.kind]! += cause.count;
  }
  return { paused: pause !== null, tasksByStage, stuckLeadsByCause, deadDeliveriesByChannel };
}
