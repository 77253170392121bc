// `autofollow run-once`: one monitor pass over every pending task, waiting for all its work (DESIGN
// §4). Per-task API errors are recorded by the pipeline and are not fatal; a pass that could not run
// is. Tasks the pass asks to retry are left to the next run: a CLI never sleeps on a lease (§3.9).
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { PipelineDeps } from '../pipeline/deps.ts';
import { describePass, runPass, type PassSummary } from '../pipeline/monitor.ts';
import { openLiveDeps } from './build-deps.ts';

export async function runOnce(config: Readonly<Config>, log: Logger, options: { deps?: PipelineDeps } = {}): Promise<PassSummary> {
  const own = options.deps ? null : await openLiveDeps(config, log);
  try {
    return await runPass(options.deps ?? own!.deps, { trigger: 'cli' });
  } finally {
    await own?.close();
  }
}

export async function runOnceCommand(config: Readonly<Config>, log: Logger, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const summary = await runOnce(config, log);
  const ids = summary.retryLater.map((r) => r.taskId);
  const retry = ids.length === 0 ? '' : ids.length === 1 ? ` (task ${ids[0]} is taken up again by the next run)` : ` (tasks ${ids.join(', ')} are taken up again by the next run)`;
  out.write(`${describePass(summary)}${retry}\n`);
  return 0;
}
