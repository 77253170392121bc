// Benchmark: one 10,000-lead task through the whole pipeline on the simulators (real MariaDB, real
// HTTP, production clients). Prints figures; asserts nothing. Run: npx tsx bench/pipeline-10k.ts [leads]
import { createLogger } from '../server/log.ts';
import { runPass } from '../server/pipeline/monitor.ts';
import { stageOf } from '../test/helpers/builders.ts';
import { startPipelineHarness } from '../test/helpers/pipeline.ts';
import { seedTask } from './seed-task.ts';

const LEADS = Number(process.argv[2] ?? 10_000);
const h = await startPipelineHarness({ OUTBOUNDBOT_QPS: process.env.BENCH_QPS ?? '50', LLM_CONCURRENCY: process.env.BENCH_LLM_CONCURRENCY ?? '8' });
const log = createLogger('info', { pretty: false });
try {
  const taskId = await seedTask(h, LEADS);

  const deps = h.deps('bench');
  const started = Date.now();
  let passes = 0;
  while ((await stageOf(h.database.db, taskId)) !== 4 && passes < 5) {
    const passStart = Date.now();
    const summary = await runPass(deps, { trigger: 'cli' });
    passes++;
    const [run] = (await h.database.pool.query('SELECT steps FROM af_task_runs WHERE task_id = ? ORDER BY id DESC LIMIT 1', [taskId])) as unknown as [Array<{ steps: string }>];
    const steps = JSON.parse(run[0]!.steps) as Array<{ step: string; durationMs: number; counts: Record<string, number> }>;
    console.log(`pass ${passes}: ${Date.now() - passStart} ms, outcome ${summary.results[0]?.outcome}`);
    for (const s of steps) console.log(`  ${s.step.padEnd(30)} ${String(s.durationMs).padStart(7)} ms  ${JSON.stringify(s.counts)}`);
  }
  const total = Date.now() - started;
  const byAction = new Map<string, number>();
  for (const r of h.sim.requests) byAction.set(r.action, (byAction.get(r.action) ?? 0) + 1);
  console.log(`\n${LEADS} leads: stage ${await stageOf(h.database.db, taskId)} after ${passes} pass(es) in ${(total / 1000).toFixed(1)} s`);
  console.log(`Outbound Bot requests: ${[...byAction].map(([a, n]) => `${a}=${n}`).join(' ')}; LLM requests: ${h.llm.requests.length}`);
  console.log(`settings: OUTBOUNDBOT_QPS=${h.config.outboundbotQps} LLM_CONCURRENCY=${h.config.llmConcurrency} (the simulated LLM answers at once)`);
} finally {
  await h.close();
  log.flush?.();
}
