// One monitor pass (spec 4.2): the pending tasks, each processed under its lease. Several processes
// may run passes at once; a task leased by another live process is skipped, never waited for.
import type { PipelineDeps } from './deps.ts';
import { findPendingTasks } from './find-pending-tasks.ts';
import { processTask, type RunTrigger, type TaskRunResult } from './process-task.ts';

export type { RunTrigger };

export interface PassSummary {
  pending: number;
  processed: number;
  skipped: number;
  failed: number;
  retryLater: Array<{ taskId: number; afterMs: number }>;
  durationMs: number;
  results: TaskRunResult[];
}

/** Tasks processed side by side in one pass; the API and LLM clients bound the real load. */
export const TASKS_IN_PARALLEL = 2;

export async function runPass(deps: PipelineDeps, options: { trigger: RunTrigger }): Promise<PassSummary> {
  const started = deps.clock.now();
  const tasks = await findPendingTasks(deps.db);
  const results: TaskRunResult[] = [];
  const queue = [...tasks];
  const worker = async () => {
    for (let task = queue.shift(); task; task = queue.shift()) {
      try {
        results.push(await processTask(deps, task.id, { trigger: options.trigger }));
      } catch (error) {
        // A database error outside the run's own bookkeeping: recorded in the log, the pass goes on.
        deps.log.error({ err: error, taskId: task.id }, `task ${task.id}: ${(error as Error).message}`);
        results.push({ taskId: task.id, status: 'processed', outcome: 'failed', retryAfterMs: 60_000 });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(TASKS_IN_PARALLEL, tasks.length) }, worker));
  const processed = results.filter((r) => r.status === 'processed');
  return {
    pending: tasks.length,
    processed: processed.length,
    skipped: results.length - processed.length,
    failed: processed.filter((r) => r.outcome === 'failed' || r.outcome === 'lease-lost').length,
    retryLater: results.filter((r) => r.retryAfterMs).map((r) => ({ taskId: r.taskId, afterMs: r.retryAfterMs! })),
    durationMs: deps.clock.now() - started,
    results,
  };
}

export function describePass(summary: PassSummary): string {
  const partial = summary.results.filter((r) => r.outcome === 'partial').length;
  const moved = summary.results.filter((r) => r.stageAfter !== undefined && r.stageBefore !== r.stageAfter).map((r) => `${r.taskId}:${r.stageBefore}->${r.stageAfter}`);
  return (
    `monitor pass: ${summary.pending} pending, ${summary.processed} processed, ${summary.skipped} skipped, ` +
    `${partial} partial, ${summary.failed} failed${moved.length ? `, stage changes ${moved.join(' ')}` : ''} in ${summary.durationMs} ms`
  );
}
