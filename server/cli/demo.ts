// `autofollow demo`: the whole service against the built-in simulators of Outbound Bot and of the
// LLM, over real HTTP on loopback, on its own database (autofollow_demo on the DATABASE_URL server)
// so simulated data never reaches a real CRM database (DESIGN §5). Nothing below the CLI knows.
import { and, inArray } from 'drizzle-orm';
import { loadConfigWith, type Config } from '../config.ts';
import { openDatabase } from '../db/client.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { callTasks } from '../db/schema/crm.ts';
import { createLogger } from '../log.ts';
import { startLlmSimulator } from '../simulator/llm.ts';
import { standInNotifyEnv, startNotifyReceiver } from '../simulator/notify-receiver.ts';
import { startOutboundBotSimulator } from '../simulator/outboundbot.ts';
import { simulatorEnv } from '../simulator/simulator-env.ts';
import { buildPipelineDeps } from './build-deps.ts';
import { seedDemo } from './demo-seed.ts';
import { runServe } from './serve.ts';

export const DEMO_DATABASE = 'autofollow_demo';

export const DEMO_USAGE = `usage: autofollow demo [--until-done] [--port N] [--tick-ms N]
  --until-done  exit 0 once every demo task that is calling has reached stage 4 (exit 1 after 5 minutes)
  --port N      dashboard/API port (default PORT, 3000; 0 picks a free one)
  --tick-ms N   how often the simulated robot moves calls on (default 1000)
`;

interface DemoOptions {
  untilDone: boolean;
  port: number | undefined;
  tickMs: number;
}

export async function runDemo(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(DEMO_USAGE);
    return 0;
  }
  let options: DemoOptions;
  try {
    options = parseDemoArgs(argv);
  } catch (error) {
    if (!(error instanceof DemoUsageError)) throw error;
    process.stderr.write(`autofollow: ${error.message}\n${DEMO_USAGE}`);
    return 2;
  }
  const [sim, llm, receiver] = await Promise.all([startOutboundBotSimulator(), startLlmSimulator(), startNotifyReceiver()]);
  const base = loadConfigWith({});
  const config = loadConfigWith({
    DATABASE_URL: demoDatabaseUrl(base),
    ...simulatorEnv(sim, llm),
    // Passes every 10 s, so the stages move while you watch.
    MONITOR_CRON: '*/10 * * * * *',
    // Hot-lead messages go to the channels NOTIFY_* name; the local receiver stands in for the others.
    ...standInNotifyEnv(base, receiver),
  });
  const log = createLogger(config.logLevel);
  let stopAutoplay = () => {};
  try {
    await migrateDatabase(config.databaseUrl, config.databaseName);
    const database = openDatabase(config.databaseUrl);
    await emptyDemoDatabase(database.pool);
    const tasks = await seedDemo(database.db, sim);
    const built = buildPipelineDeps(config, log, { database });
    stopAutoplay = sim.autoplay({ intervalMs: options.tickMs, perTick: 4 });
    const server = await runServe(config, log, { deps: built.deps, ...(options.port !== undefined ? { port: options.port } : {}) });
    log.info(
      `demo: Outbound Bot simulator at ${sim.url}, LLM simulator at ${llm.url}, database ${config.databaseName}; ` +
        `tasks ${tasks.map((t) => `#${t.id} ${t.name} (${t.leads} leads)`).join(', ')}`,
    );
    log.info(`demo: dashboard at ${server.address}/ (open it in a browser and watch the tasks move); API at ${server.address}/api`);
    log.info(`demo: hot-lead messages "sent" to the stand-in robots and webhook are shown at ${receiver.url}/`);
    log.info(`demo: from a shell: DATABASE_URL=${redactedUrl(config)} npx autofollow diagnose ${tasks[0]!.id}`);
    void server.scheduler.runNow('demo').catch((error) => log.error({ err: error }, 'first pass failed'));
    const outcome = options.untilDone ? await waitUntilDone(database, tasks.map((t) => t.id), server.closed) : await server.closed.then(() => 0);
    await server.close();
    await database.close();
    return outcome;
  } finally {
    stopAutoplay();
    await Promise.all([sim.stop(), llm.stop(), receiver.stop()]);
  }
}

function parseDemoArgs(argv: string[]): DemoOptions {
  const options: DemoOptions = { untilDone: false, port: undefined, tickMs: 1000 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const number = (name: string) => {
      const value = argv[++i];
      if (value === undefined || !/^\d+$/.test(value)) throw new DemoUsageError(`${name} needs a whole number`);
      return Number(value);
    };
    if (arg === '--until-done') options.untilDone = true;
    else if (arg === '--port') options.port = number('--port');
    else if (arg === '--tick-ms') options.tickMs = Math.max(50, number('--tick-ms'));
    else throw new DemoUsageError(`unknown option "${arg}" for demo`);
  }
  return options;
}

export class DemoUsageError extends Error {
  readonly usage = DEMO_USAGE;
}

/** The demo's own database on the same server as DATABASE_URL. */
function demoDatabaseUrl(config: Readonly<Config>): string {
  const url = new URL(config.databaseUrl);
  url.pathname = `/${DEMO_DATABASE}`;
  return url.toString();
}

function redactedUrl(config: Readonly<Config>): string {
  const url = new URL(config.databaseUrl);
  if (url.password) url.password = '***';
  return url.toString();
}

/** Each demo starts from the same story: its own tables are emptied (never another database's). */
async function emptyDemoDatabase(pool: ReturnType<typeof openDatabase>['pool']): Promise<void> {
  const [[row]] = (await pool.query('SELECT DATABASE() AS name')) as unknown as [[{ name: string }]];
  if (row.name !== DEMO_DATABASE) throw new Error(`refusing to empty ${row.name}: the demo only resets ${DEMO_DATABASE}`);
  // Every table the demo writes, the dashboard's too: a scheduler or task paused in an earlier demo
  // would otherwise hold this one up.
  const tables = ['af_hot_lead_events', 'af_deliveries', 'af_channel_leases', 'af_channel_sends', 'af_lead_states', 'af_task_runs', 'af_task_leases', 'af_task_pauses', 'af_settings', 'af_audit_log', 'af_processes'];
  for (const table of [...tables, 'dcc_leads_follow', 'leads_task_list', 'call_tasks']) {
    await pool.query(`TRUNCATE TABLE \`${table}\``); // also restarts ids, so the README's task numbers hold
  }
}

async function waitUntilDone(database: ReturnType<typeof openDatabase>, taskIds: number[], closed: Promise<void>): Promise<number> {
  const deadline = Date.now() + 5 * 60_000;
  let stopped = false;
  void closed.then(() => (stopped = true));
  while (!stopped && Date.now() < deadline) {
    const open = await database.db
      .select({ id: callTasks.id })
      .from(callTasks)
      .where(and(inArray(callTasks.id, taskIds), inArray(callTasks.taskType, [2, 3])));
    if (open.length === 0) return 0;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return stopped ? 0 : 1;
}

