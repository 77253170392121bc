// `autofollow serve`: the dashboard/API and the scheduler in one process (DESIGN §1). runServe is
// also what `demo` runs, with simulator-backed deps passed in.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ConfigError, isLoopbackHost, type Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { PipelineDeps } from '../pipeline/deps.ts';
import { within } from '../net/within.ts';
import { createNotifySender, type NotifySender } from '../notify/sender.ts';
import { createScheduler, type Scheduler } from '../scheduler/scheduler.ts';
import { buildApp } from '../web/build-app.ts';
import { openLiveDeps } from './build-deps.ts';

export interface ServeOptions {
  /**
   * Prebuilt pipeline deps (the demo's simulator clients and demo database). Without them serve
   * builds live ones and refuses to start without credentials (DESIGN §5). The caller owns what it
   * passes: close() leaves it open.
   */
  deps?: PipelineDeps;
  /** Override HOST/PORT (port 0 picks a free one). */
  host?: string;
  port?: number;
  /** How long the first SIGINT/SIGTERM waits for the current pass before closing anyway. */
  graceMs?: number;
  /** Install the two-stage SIGINT/SIGTERM handlers (default true); they are removed on close. */
  handleSignals?: boolean;
}

export interface ServeHandle {
  /** e.g. http://127.0.0.1:3000 */
  address: string;
  host: string;
  port: number;
  app: FastifyInstance;
  scheduler: Scheduler;
  /** The hot-lead sender (issue 11): runs in every copy; channel leases keep them from sending twice. */
  notifier: NotifySender;
  /** Graceful shutdown (idempotent): stop the scheduler and new claims, wait for work, close HTTP, then the pool. */
  close(): Promise<void>;
  /** Settles when the server has shut down, whoever started it (signal or close()). */
  closed: Promise<void>;
}

export const DEFAULT_GRACE_MS = 30_000;

export async function runServe(config: Readonly<Config>, log: Logger, options: ServeOptions = {}): Promise<ServeHandle> {
  const host = options.host ?? config.host;
  const port = options.port ?? config.port;
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  assertSafeToListen(host, config);

  const own = options.deps ? null : await openLiveDeps(config, log);
  const deps = options.deps ?? own!.deps;
  const scheduler = createScheduler({ deps, cron: config.monitorCron, timeZone: config.timeZone, log });
  let app: FastifyInstance;
  try {
    app = await buildApp({
      pipeline: deps,
      config, // the same config assertSafeToListen checked: API_TOKEN must match it
      log,
      scheduler, // dashboard actions and the API start work through it, so shutdown waits for that work
    });
    await listen(app, host, port);
  } catch (error) {
    await own?.close();
    throw error;
  }
  scheduler.start();
  const notifier = createNotifySender({ db: deps.db, config, log, owner: deps.owner });
  notifier.start();
  const address = addressOf(app);
  log.info({ address: address.url, cron: config.monitorCron, owner: deps.owner }, `listening at ${address.url}; next monitor pass at ${scheduler.nextRun()?.toISOString() ?? 'never'}`);

  let closing: Promise<void> | null = null;
  let settle: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (settle = resolve));

  async function shutdown(): Promise<void> {
    log.info(`shutting down: no new passes or claims; waiting up to ${graceMs / 1000} s for the current work`);
    const finished = (await within(Promise.all([scheduler.stop(), notifier.stop()]).then(() => true), graceMs)) ?? false;
    if (!finished) {
      log.warn(`work still running after ${graceMs / 1000} s; closing anyway: its leases expire on their own within LEASE_SECONDS (${config.leaseSeconds} s)`);
    }
    try {
      await app.close();
    } finally {
      await own?.close();
    }
    log.info('stopped');
  }
  const close = () => {
    closing ??= shutdown().finally(() => {
      removeSignalHandlers();
      settle();
    });
    return closing;
  };

  const removeSignalHandlers = options.handleSignals === false ? () => undefined : installSignalHandlers(close, log);
  return { address: address.url, host: address.host, port: address.port, app, scheduler, notifier, close, closed };
}

/** Beyond loopback the dashboard and the API must both be locked (DESIGN §4). */
export function assertSafeToListen(host: string, config: Readonly<Config>): void {
  if (isLoopbackHost(host)) return;
  const missing = [config.dashboardPassword ? null : 'DASHBOARD_PASSWORD', config.apiToken ? null : 'API_TOKEN'].filter((name) => name !== null);
  if (missing.length > 0) {
    throw new ConfigError('HOST', `is ${host}, beyond loopback: set ${missing.join(' and ')} first (both are required there), or use HOST=127.0.0.1`);
  }
}

/** First signal: graceful close. Second: exit at once (the operator means it). */
function installSignalHandlers(close: () => Promise<void>, log: Logger): () => void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received += 1;
    if (received === 1) {
      log.info(`${signal} received; finishing the current work (send ${signal} again to exit at once)`);
      close().catch((error: unknown) => log.error({ err: error }, `shutdown failed: ${(error as Error)?.message}`));
      return;
    }
    process.stderr.write(`autofollow: ${signal} received again, exiting now without waiting for the current work\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

async function listen(app: FastifyInstance, host: string, port: number): Promise<void> {
  try {
    await app.listen({ host, port });
  } catch (error) {
    await app.close().catch(() => undefined);
    const code = (error as { code?: string }).code ?? 'error';
    const remedy = code === 'EADDRINUSE' ? 'another process uses that port; stop it or set PORT' : 'check HOST and PORT';
    throw new Error(`cannot listen on ${host}:${port} (${code}): ${remedy}`);
  }
}

function addressOf(app: FastifyInstance): { url: string; host: string; port: number } {
  const info = app.server.address() as AddressInfo;
  const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
  return { url: `http://${host}:${info.port}`, host: info.address, port: info.port };
}

/** The CLI command: serve until a signal has shut it down. */
export async function serveCommand(config: Readonly<Config>, log: Logger): Promise<number> {
  const handle = await runServe(config, log);
  await handle.closed;
  return 0;
}
