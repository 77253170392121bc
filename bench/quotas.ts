// Benchmark of issue 12: how much of its quotas autofollow uses, on the simulators (real MariaDB,
// real HTTP, production clients). Prints each figure next to its target as a ratio; asserts nothing.
//   npx tsx bench/quotas.ts [sync|llm|quota|cpu|pages|all] [--leads N] [--api-latency MS] [--qps N]
//     [--llm-latency MS] [--concurrency N] [--quota RPM] [--quota-concurrency N] [--cpu-leads N,N]
//     [--page-leads N,N] [--page-runs N] [--reseed]
// `npm run bench` runs all of them with the issue's settings; `pages` seeds its databases once
// (BENCH_DATABASE_<N>k, minutes at 1,000,000 rows) and reuses them on later runs unless --reseed.
import { execFileSync, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { processTask } from '../server/pipeline/process-task.ts';
import { syncCallJobIds } from '../server/pipeline/sync-call-job-ids.ts';
import { syncCallResults } from '../server/pipeline/sync-call-results.ts';
import { runPass } from '../server/pipeline/monitor.ts';
import { simulatorEnv } from '../server/simulator/simulator-env.ts';
import { startPipelineHarness } from '../test/helpers/pipeline.ts';
import { timeDashboardPages } from './dashboard-pages.ts';
import { BENCH_DATABASE, ensureSeeded } from './seed-large.ts';
import { seedTask } from './seed-task.ts';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    leads: { type: 'string' },
    'api-latency': { type: 'string', default: '150' },
    qps: { type: 'string', default: '20' },
    'llm-latency': { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '8' },
    quota: { type: 'string', default: '600' },
    'quota-concurrency': { type: 'string', default: '32' },
    'cpu-leads': { type: 'string', default: '10000,100000' },
    'page-leads': { type: 'string', default: '100000,1000000' },
    'page-runs': { type: 'string', default: '3' },
    reseed: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  console.log(`usage: npm run bench -- [sync|llm|quota|cpu|pages|all] [--leads N] [--api-latency MS] [--qps N] [--llm-latency MS]
       [--concurrency N] [--quota RPM] [--quota-concurrency N] [--cpu-leads N,N]
       [--page-leads N,N] [--page-runs N] [--reseed]
Runs issue 12's benchmarks on the simulators and prints each figure next to its target; "pages" times
the dashboard's pages over databases of --page-leads lead rows (seeded once, kept for the next run).`);
  process.exit(0);
}
const which = positionals[0] ?? 'all';
const num = (name: keyof typeof opt) => Number(opt[name]);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const ratio = (value: number, target: number, higherIsBetter: boolean) => {
  const r = higherIsBetter ? value / target : target / value;
  return `${r.toFixed(2)}× target ${r >= 1 ? 'met' : 'MISSED'}`;
};

/** The most values of `times` (sorted) within any window of `windowMs`. */
function densestWindow(times: number[], windowMs: number): number {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/** Where the request pipe idled: the `count` longest gaps between arrivals, with the calls either side. */
function longestPauses(requests: ReadonlyArray<{ at: number; action: string }>, count: number): string {
  const sorted = [...requests].sort((a, b) => a.at - b.at);
  const first = sorted[0]?.at ?? 0;
  return sorted.slice(1)
    .map((r, i) => ({ gap: r.at - sorted[i]!.at, at: sorted[i]!.at - first, from: sorted[i]!.action, to: r.action }))
    .sort((a, b) => b.gap - a.gap)
    .slice(0, count)
    .map((p) => `${p.gap} ms at +${(p.at / 1000).toFixed(2)} s (${p.from} -> ${p.to})`)
    .join('; ');
}

async function benchSync(): Promise<void> {
  const leads = Number(opt.leads ?? 10_000);
  const qps = num('qps');
  const h = await startPipelineHarness({ OUTBOUNDBOT_QPS: String(qps), OUTBOUNDBOT_TIMEOUT_MS: '15000', LOG_LEVEL: 'warn' });
  try {
    const taskId = await seedTask(h, leads);
    h.sim.setLatency(num('api-latency'));
    h.sim.resetRequests();
    const started = Date.now();
    const run = await processTask(h.deps('bench'), taskId, { trigger: 'cli', steps: [syncCallJobIds, syncCallResults] });
    const wallMs = Date.now() - started;
    const arrivals = h.sim.requests.map((r) => r.at).sort((a, b) => a - b);
    const spanS = (arrivals.at(-1)! - arrivals[0]!) / 1000;
    const rate = (arrivals.length - 1) / spanS;
    const [[{ n }]] = (await h.database.pool.query('SELECT COUNT(*) AS n FROM leads_task_list WHERE task_id = ? AND call_status IS NOT NULL', [taskId])) as unknown as [[{ n: number }]];
    console.log(`\n[sync] ${leads} leads, API latency ${num('api-latency')} ms, OUTBOUNDBOT_QPS=${qps} (load ${load()})`);
    console.log(`  ${arrivals.length} requests in ${spanS.toFixed(1)} s (sync ${(wallMs / 1000).toFixed(1)} s, outcome ${run.outcome}); ${n} of ${leads} statuses stored`);
    console.log(`  rate ${rate.toFixed(1)} requests/s = ${((100 * rate) / qps).toFixed(0)}% of quota   ${ratio(rate, 0.9 * qps, true)} (≥ 90%)`);
    for (const action of new Set(h.sim.requests.map((r) => r.action))) {
      const times = h.sim.requests.filter((r) => r.action === action).map((r) => r.at);
      console.log(`  ${action}: ${times.length} requests over ${((Math.max(...times) - Math.min(...times)) / 1000).toFixed(1)} s`);
    }
    const [runs] = (await h.database.pool.query('SELECT steps FROM af_task_runs WHERE task_id = ? ORDER BY id DESC LIMIT 1', [taskId])) as unknown as [Array<{ steps: string }>];
    for (const s of JSON.parse(runs[0]!.steps) as Array<{ step: string; durationMs: number }>) console.log(`  step ${s.step}: ${s.durationMs} ms`);
    console.log(`  longest pauses between arrivals (pace ${(1050 / qps).toFixed(0)} ms): ${longestPauses(h.sim.requests, 4)}`);
    console.log(`  most starts in any 1 s: ${densestWindow(arrivals, 1000)}   ${densestWindow(arrivals, 1000) <= qps ? 'within' : 'ABOVE'} QPS ${qps}`);
  } finally {
    await h.close();
  }
}

/** All-Succeeded leads through a whole pass; the LLM answers after `latency`, `concurrency` at once. */
async function benchLlm(): Promise<void> {
  const leads = Number(opt.leads ?? 2000);
  const latency = num('llm-latency');
  const concurrency = num('concurrency');
  const h = await startPipelineHarness({ OUTBOUNDBOT_QPS: '200', LLM_CONCURRENCY: String(concurrency), LLM_TIMEOUT_MS: '30000', LOG_LEVEL: 'warn' });
  try {
    const taskId = await seedTask(h, leads, 0);
    h.llm.setLatency(latency);
    const started = Date.now();
    await runPass(h.deps('bench'), { trigger: 'cli' });
    const ended = Date.now();
    const firstLlm = h.llm.requests[0]?.at ?? ended;
    const ideal = (leads * latency) / concurrency;
    const [[{ n }]] = (await h.database.pool.query('SELECT COUNT(*) AS n FROM leads_task_list WHERE task_id = ? AND leads_follow_id IS NOT NULL', [taskId])) as unknown as [[{ n: number }]];
    const fromFirst = (ended - firstLlm) / ideal;
    console.log(`\n[llm] ${leads} analyses, LLM latency ${latency} ms, LLM_CONCURRENCY=${concurrency} (load ${load()})`);
    console.log(`  ${h.llm.requests.length} LLM requests, ${n} follow records; most in flight ${h.llm.maxInFlight}`);
    console.log(`  from the first LLM request ${((ended - firstLlm) / 1000).toFixed(1)} s = ${fromFirst.toFixed(3)}× ideal ${(ideal / 1000).toFixed(1)} s   ${ratio(1.05, fromFirst, true)} (≤ 1.05×)`);
    console.log(`  end to end ${((ended - started) / 1000).toFixed(1)} s = ${((ended - started) / ideal).toFixed(3)}× ideal`);
  } finally {
    await h.close();
  }
}

/** Against an LLM quota (429 beyond it): how much of the quota is used, and whether any analysis failed for it. */
async function benchQuota(): Promise<void> {
  const rpm = num('quota');
  const leads = Number(opt.leads ?? rpm); // a minute's quota
  const concurrency = num('quota-concurrency');
  const h = await startPipelineHarness({ OUTBOUNDBOT_QPS: '200', LLM_CONCURRENCY: String(concurrency), LLM_TIMEOUT_MS: '30000', RETRY_ATTEMPTS: '5', RETRY_BASE_MS: '500', RETRY_MAX_MS: '8000', LOG_LEVEL: 'error' });
  try {
    const taskId = await seedTask(h, leads, 0);
    h.llm.setLatency(num('llm-latency'));
    h.llm.setQuota(rpm);
    await runPass(h.deps('bench'), { trigger: 'cli' });
    const ended = Date.now();
    const firstLlm = h.llm.requests[0]?.at ?? ended;
    const [[row]] = (await h.database.pool.query(
      `SELECT SUM(s.analysis_status = 'ok') AS ok, SUM(s.analysis_status = 'failed') AS failed FROM af_lead_states s WHERE s.task_id = ?`, [taskId],
    )) as unknown as [[{ ok: number; failed: number }]];
    const minutes = (ended - firstLlm) / 60_000;
    const used = Number(row.ok) / (minutes * rpm);
    console.log(`\n[quota] ${leads} analyses against ${rpm} requests/min, LLM_CONCURRENCY=${concurrency}, latency ${num('llm-latency')} ms (load ${load()})`);
    console.log(`  ${Number(row.ok)} analysed, ${Number(row.failed ?? 0)} failed; ${h.llm.requests.length} requests, ${h.llm.throttled} answered 429`);
    console.log(`  quota used ${(100 * used).toFixed(0)}% over ${(minutes * 60).toFixed(1)} s   ${ratio(used, 0.9, true)} (≥ 90%); failed for throttling: ${Number(row.failed ?? 0)} (target 0)`);
  } finally {
    await h.close();
  }
}

/** `run-once` in its own process on instant simulators: its CPU per lead and peak RSS. */
async function benchCpu(): Promise<void> {
  const figures: Array<{ leads: number; cpuS: number; rssMb: number; wallS: number }> = [];
  for (const leads of String(opt['cpu-leads']).split(',').map(Number)) {
    const h = await startPipelineHarness({ LOG_LEVEL: 'warn' });
    try {
      await seedTask(h, leads);
      // BENCH_NODE_OPTIONS reaches the timed run-once only (e.g. --require a memory sampler).
      const env = {
        PATH: process.env.PATH ?? '', DATABASE_URL: h.database.url, ...simulatorEnv(h.sim, h.llm), OUTBOUNDBOT_QPS: '1000', LLM_CONCURRENCY: '8', LOG_LEVEL: 'warn',
        ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
      };
      const started = Date.now();
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn('/usr/bin/time', ['-f', 'TIME %U %S %M', 'node', ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir=bench/profiles'] : []), 'bin/autofollow.js', 'run-once'], { env });
        let text = '';
        child.stdout.on('data', (d) => (text += d));
        child.stderr.on('data', (d) => (text += d));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`run-once exited ${code}: ${text.slice(-2000)}`))));
      });
      const m = /TIME (\S+) (\S+) (\d+)/.exec(out);
      if (!m) throw new Error(`no timing in: ${out.slice(-500)}`);
      if (process.env.BENCH_NODE_OPTIONS) console.log(out.trimEnd());
      figures.push({ leads, cpuS: Number(m[1]) + Number(m[2]), rssMb: Number(m[3]) / 1024, wallS: (Date.now() - started) / 1000 });
      const f = figures.at(-1)!;
      console.log(`\n[cpu] ${leads} leads, one run-once: ${f.wallS.toFixed(1)} s, CPU ${f.cpuS.toFixed(1)} s = ${((1000 * f.cpuS) / leads).toFixed(3)} ms/lead, peak RSS ${f.rssMb.toFixed(0)} MB (load ${load()})`);
    } finally {
      await h.close();
    }
  }
  if (figures.length >= 2) {
    const [small, big] = [figures[0]!, figures.at(-1)!];
    console.log(`  peak RSS ${big.leads} / ${small.leads}: ${(big.rssMb / small.rssMb).toFixed(2)}×   ${ratio(1.1, big.rssMb / small.rssMb, true)} (≤ 1.1×)`);
  }
}

/** A dashboard page answers within this, median of --page-runs (our budget for an interactive page). */
const PAGE_TARGET_MS = 1000;

/** The dashboard's pages over databases of 100,000 and 1,000,000 lead rows (bench/seed-large.ts's mix). */
async function benchPages(): Promise<void> {
  for (const leads of String(opt['page-leads']).split(',').map(Number)) {
    // One task of 50,000 leads (half of a smaller database) and the rest 1,000 a task.
    const biggest = Math.min(50_000, Math.floor(leads / 2));
    const tasks = Math.max(1, Math.round((leads - biggest) / 1000)) + 1;
    const name = `${BENCH_DATABASE}_${Math.round(leads / 1000)}k`;
    const started = Date.now();
    const { seeded } = await ensureSeeded(name, { tasks, leadsPerTask: 1000, biggestTaskLeads: biggest }, opt.reseed);
    const seedNote = seeded ? `seeded in ${((Date.now() - started) / 1000).toFixed(0)} s` : 'seeded earlier, reused';
    const { leads: rows, tasks: taskCount, pages } = await timeDashboardPages(name, { runs: num('page-runs') });
    console.log(`\n[pages] ${rows.toLocaleString('en-US')} lead rows, ${taskCount} tasks (${name}, ${seedNote}); median of ${num('page-runs')} (load ${load()})`);
    for (const p of pages) {
      console.log(`  ${p.name.padEnd(34)} ${String(p.status).padStart(4)} ${`${p.medianMs.toFixed(0)} ms`.padStart(8)}   ${ratio(PAGE_TARGET_MS, p.medianMs, true)} (≤ ${PAGE_TARGET_MS} ms)`);
    }
    // An indented page is a variant of the page above it: named with it.
    let group = '';
    const named = pages.map((p) => (p.name.startsWith(' ') ? { ...p, name: `${group}: ${p.name.trim()}` } : ((group = p.name), p)));
    const slowest = named.reduce((a, b) => (b.medianMs > a.medianMs ? b : a));
    console.log(`  slowest: ${slowest.name} ${slowest.medianMs.toFixed(0)} ms   ${ratio(PAGE_TARGET_MS, slowest.medianMs, true)}`);
  }
}

console.log(`node ${process.version}, ${execFileSync('nproc').toString().trim()} cores, load ${load()}`);
if (which === 'sync' || which === 'all') await benchSync();
if (which === 'llm' || which === 'all') await benchLlm();
if (which === 'quota' || which === 'all') await benchQuota();
if (which === 'cpu' || which === 'all') await benchCpu();
if (which === 'pages' || which === 'all') await benchPages();
