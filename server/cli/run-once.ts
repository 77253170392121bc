// `autofollow run-once`: one monitor pass over every pending task, waiting for all its work (DESIGN
// §4). Per-task API errors are recorded by the pipeline and are not fatal; a pass that could not run
// is. Tasks the pass asks to retry are left to the next run: a CLI never sleeps on a lease (§3.9).
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { PipelineDeps } from '../pipeline/deps.ts';
import { describePass, runPass, type PassSummary } from '../pipeline/monitor.ts';
import { readSchedulerPause, type SchedulerPause } from '../scheduler/scheduler-switch.ts';
import { openLiveDeps } from './build-deps.ts';

/**
 * The dashboard's "pause the scheduler" stops every copy's passes; a cron job's run-once is a pass
 * too, so it honours the switch (`paused`). `force` is a person deciding to run anyway.
 */
export async function runOnce(
  config: Readonly<Config>,
  log: Logger,
  options: { deps?: PipelineDeps; force?: boolean } = {},
): Promise<PassSummary | { paused: SchedulerPause }> {
  const own = options.deps ? null : await openLiveDeps(config, log);
  const deps = options.deps ?? own!.deps;
  try {
    const pause = options.force ? null : await readSchedulerPause(deps.db);
    if (pause) return { paused: pause };
    return await runPass(deps, { trigger: 'cli' });
  } finally {
    await own?.close();
  }
}

export async function runOnceCommand(
  config: Readonly<Config>,
  log: Logger,
  options: { force?: boolean } = {},
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const summary = await runOnce(config, log, options);
  if ('paused' in summary) {
    const { pausedBy, pausedAt } = summary.paused;
    out.write(`the scheduler is paused (by ${pausedBy} since ${pausedAt.toISOString()}): no pass was run; resume it on the dashboard, or run \`autofollow run-once --force\`\n`);
    return 0;
  }
  const ids = summary.retryLater.map((r) => r.taskId);
  const retry = ids.length === 0 ? '' : ids.length === 1 ? ` (task ${ids[0]} is taken up again by the next run)` : ` (tasks ${ids.join(', ')} are taken up again by the next run)`;
  out.write(`${describePass(summary)}${retry}\n`);
  return 0;
}
