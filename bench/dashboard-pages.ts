// Times the dashboard's pages end to end (routing, queries, Eta rendering) against the database
// bench/seed-large.ts fills: 1,000 tasks, about 1,000,000 lead rows, one task of 50,000.
// Prints figures; asserts nothing. Run: npx tsx bench/seed-large.ts && npx tsx bench/dashboard-pages.ts
// `npm run bench -- pages` times the same pages at 100,000 and 1,000,000 lead rows (bench/quotas.ts).
import { buildPipelineDeps } from '../server/cli/build-deps.ts';
import { readSparklines } from '../server/dashboard/task-sparklines.ts';
import { readTaskTrends } from '../server/dashboard/task-trends.ts';
import { loadConfigWith } from '../server/config.ts';
import { openDatabase } from '../server/db/client.ts';
import { migrateDatabase } from '../server/db/migrate.ts';
import { createLogger } from '../server/log.ts';
import { pathToFileURL } from 'node:url';
import { buildApp } from '../server/web/build-app.ts';
import { BENCH_DATABASE } from './seed-large.ts';

export interface PageFigure {
  name: string;
  status: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  bytes: number;
}

/** The dashboard over the seeded database `name` (migrated first), as `serve` builds it. */
export async function buildPagesApp(name: string) {
  const base = loadConfigWith(process.env);
  const url = new URL(base.databaseUrl);
  url.pathname = `/${name}`;
  const config = loadConfigWith({
    ...process.env,
    DATABASE_URL: url.toString(),
    // Never reached: pages only read. Credentials are required to build live deps.
    ALIBABA_CLOUD_ACCESS_KEY_ID: 'bench', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'bench', OUTBOUNDBOT_INSTANCE_ID: 'bench',
    OUTBOUNDBOT_ENDPOINT: 'http://127.0.0.1:1', LLM_API_KEY: 'bench', LLM_BASE_URL: 'http://127.0.0.1:1/v1',
  });
  const log = createLogger('warn', { pretty: false });
  await migrateDatabase(config.databaseUrl, name);
  const database = openDatabase(config.databaseUrl);
  const app = await buildApp({ pipeline: buildPipelineDeps(config, log, { database }).deps, config, log });
  return { app, database, config };
}

/**
 * Every page of the dashboard, `runs` times each, against the seeded database `name`; with `charts`,
 * also the charts' own reads. Prints as it goes when `print` is set.
 */
export async function timeDashboardPages(name: string, options: { runs?: number; charts?: boolean; print?: boolean } = {}): Promise<{ tasks: number; leads: number; pages: PageFigure[] }> {
  const runs = options.runs ?? 5;
  const print = options.print ? (line: string) => console.log(line) : () => undefined;
  const { app, database, config } = await buildPagesApp(name);
  try {
    const [[counts]] = (await database.pool.query(
      `SELECT (SELECT COUNT(*) FROM leads_task_list) AS leads, (SELECT COUNT(*) FROM call_tasks) AS tasks`,
    )) as unknown as [[{ leads: number; tasks: number }]];
    const [[big]] = (await database.pool.query(
      'SELECT task_id AS id, COUNT(*) AS n FROM leads_task_list WHERE task_id IN (SELECT id FROM call_tasks) GROUP BY task_id ORDER BY n DESC LIMIT 1',
    )) as unknown as [[{ id: number; n: number }]];
    const [[usual]] = (await database.pool.query(
      'SELECT t.id, t.task_name AS name, (SELECT leads_name FROM leads_task_list l WHERE l.task_id = t.id LIMIT 1) AS lead FROM call_tasks t WHERE t.task_type = 3 AND t.id <> ? LIMIT 1',
      [big.id],
    )) as unknown as [[{ id: number; name: string; lead: string }]];
    print(`database ${name}: ${counts.tasks} tasks, ${counts.leads} lead rows; biggest task #${big.id} with ${big.n} leads; usual task #${usual.id}`);

    const HTMX = { 'hx-request': 'true' };
    const pages: Array<[string, string, Record<string, string>?]> = [
      ['overview, page 1', '/'],
      ['overview, page 40', '/?page=40'],
      ['overview, stage 3', '/?stage=3'],
      ['overview, name search', `/?q=${encodeURIComponent(usual.name.slice(0, 4))}`],
      ['overview tasks fragment (poll)', '/?fragment=tasks', HTMX],
      ['scheduler panel (poll)', '/scheduler/panel', HTMX],
      ['task page, 1,000 leads', `/tasks/${usual.id}`],
      ['  filter followed', `/tasks/${usual.id}?state=followed`],
      ['  name search', `/tasks/${usual.id}?q=${encodeURIComponent(usual.lead)}`],
      ['  phone search', `/tasks/${usual.id}?q=138`],
      ['  page 20', `/tasks/${usual.id}?page=20`],
      ['  task card (poll)', `/tasks/${usual.id}/card`, HTMX],
      [`task page, ${Number(big.n).toLocaleString('en-US')} leads`, `/tasks/${big.id}`],
      ['  filter calling', `/tasks/${big.id}?state=calling`],
      ['  filter analysis-failed', `/tasks/${big.id}?state=analysis-failed`],
      ['  name search', `/tasks/${big.id}?q=${encodeURIComponent('王')}`],
      ['  phone search', `/tasks/${big.id}?q=13000`],
      ['  page 500', `/tasks/${big.id}?page=500`],
      ['  task card (poll)', `/tasks/${big.id}/card`, HTMX],
      ['stuck', '/stuck'],
      ['deliveries', '/deliveries'],
      ['LLM usage, 30 days', '/usage'],
    ];

    const ms = (v: number) => `${v.toFixed(1)} ms`;
    print(`\n${'page'.padEnd(34)} ${'status'.padStart(6)} ${'median'.padStart(9)} ${'min'.padStart(8)} ${'max'.padStart(8)} ${'bytes'.padStart(8)}`);
    const figures: PageFigure[] = [];
    for (const [pageName, path, headers] of pages) {
      const times: number[] = [];
      let status = 0;
      let bytes = 0;
      for (let i = 0; i < runs; i++) {
        const started = performance.now();
        const response = await app.inject({ url: path, headers: { accept: 'text/html', ...headers } });
        times.push(performance.now() - started);
        status = response.statusCode;
        bytes = response.body.length;
      }
      times.sort((a, b) => a - b);
      const figure = { name: pageName, status, medianMs: times[Math.floor(runs / 2)]!, minMs: times[0]!, maxMs: times[runs - 1]!, bytes };
      figures.push(figure);
      print(`${pageName.padEnd(34)} ${String(status).padStart(6)} ${ms(figure.medianMs).padStart(9)} ${ms(figure.minMs).padStart(8)} ${ms(figure.maxMs).padStart(8)} ${String(bytes).padStart(8)}`);
    }

    if (options.charts) {
      // The charts' own reads (issue 11), alone: the task page reads its trends in parallel with its other
      // reads, so they add at most their own time to it. Page times on a busy machine swing by more than
      // the 1.2x target; these medians over more runs are the steadier figure to hold against a page.
      const CHART_RUNS = 21;
      const [firstPage] = (await database.pool.query('SELECT id FROM call_tasks ORDER BY id DESC LIMIT 50')) as unknown as [Array<{ id: number }>];
      const charts: Array<[string, () => Promise<unknown>]> = [
        [`trends + interest split, ${big.n} leads`, () => readTaskTrends(database.db, big.id, Date.now(), config.timeZone)],
        ['trends + interest split, 1,000 leads', () => readTaskTrends(database.db, usual.id, Date.now(), config.timeZone)],
        ['sparklines, a page of 50 tasks', () => readSparklines(database.db, firstPage.map((r) => r.id), Date.now(), config.timeZone)],
      ];
      print(`\n${'chart reads alone'.padEnd(34)} ${'runs'.padStart(6)} ${'median'.padStart(9)} ${'min'.padStart(8)} ${'max'.padStart(8)}`);
      for (const [chartName, read] of charts) {
        const times: number[] = [];
        for (let i = 0; i < CHART_RUNS; i++) {
          const started = performance.now();
          await read();
          times.push(performance.now() - started);
        }
        times.sort((a, b) => a - b);
        print(`${chartName.padEnd(34)} ${String(CHART_RUNS).padStart(6)} ${ms(times[Math.floor(CHART_RUNS / 2)]!).padStart(9)} ${ms(times[0]!).padStart(8)} ${ms(times[CHART_RUNS - 1]!).padStart(8)}`);
      }
    }
    return { tasks: Number(counts.tasks), leads: Number(counts.leads), pages: figures };
  } finally {
    await app.close();
    await database.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await timeDashboardPages(BENCH_DATABASE, { charts: true, print: true });
}
