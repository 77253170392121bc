// Wires the pipeline's dependencies from the validated config: one pool, both API clients, the clock
// and this process's lease owner name. Every command that processes tasks (serve, run-once, demo)
// builds them here, so production and demo differ only in the config and overrides they pass.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { requireLiveCredentials, type Config } from '../config.ts';
import { openDatabase, type Database } from '../db/client.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { createFollowUpAnalyzer } from '../llm/client.ts';
import type { FollowUpAnalyzer } from '../llm/types.ts';
import type { Logger } from '../log.ts';
import { createOutboundBotClient } from '../outboundbot/client.ts';
import type { OutboundBotClient } from '../outboundbot/types.ts';
import { pricesOf } from '../metrics.ts';
import { systemClock, type Clock, type PipelineDeps } from '../pipeline/deps.ts';
import { checkDatabase } from './check-database.ts';
import { describeMigration, migrationChangedSomething } from './migrate.ts';

export { checkDatabase, DatabaseUnavailableError, describeDatabaseError } from './check-database.ts';

export interface DepsOverrides {
  /** An open database to use instead of opening config.databaseUrl; the caller keeps ownership. */
  database?: Database;
  outboundbot?: OutboundBotClient;
  llm?: FollowUpAnalyzer;
  clock?: Clock;
  owner?: string;
}

export interface BuiltDeps {
  deps: PipelineDeps;
  /** The pool behind deps.db (for checkDatabase and /healthz). */
  database: Database;
  /** Closes what was opened here (the pool), never an override's. */
  close(): Promise<void>;
}

export function buildPipelineDeps(config: Readonly<Config>, log: Logger, overrides: DepsOverrides = {}): BuiltDeps {
  // Real clients need real credentials; the demo passes simulator clients or simulator credentials.
  if (!overrides.outboundbot || !overrides.llm) requireLiveCredentials(config);
  const effective = withTimeoutsBelowLease(config, log);
  const retry = { attempts: effective.retryAttempts, baseMs: effective.retryBaseMs, maxMs: effective.retryMaxMs };
  const database = overrides.database ?? openDatabase(effective.databaseUrl);
  const clock = overrides.clock ?? systemClock;
  const outboundbot =
    overrides.outboundbot ??
    createOutboundBotClient({
      endpoint: effective.outboundbotEndpoint,
      instanceId: effective.outboundbotInstanceId ?? '',
      accessKeyId: effective.accessKeyId ?? '',
      accessKeySecret: effective.accessKeySecret ?? '',
      timeoutMs: effective.outboundbotTimeoutMs,
      qps: effective.outboundbotQps,
      concurrency: effective.outboundbotMaxInFlight,
      retry,
      log,
    });
  const llm =
    overrides.llm ??
    createFollowUpAnalyzer({
      baseUrl: effective.llmBaseUrl,
      apiKey: effective.llmApiKey ?? '',
      model: effective.llmModel,
      timeoutMs: effective.llmTimeoutMs,
      concurrency: effective.llmConcurrency,
      retry,
      timeZone: effective.timeZone,
      log,
      // The model's "future" check uses the pipeline's clock, so an injected clock stays consistent.
      now: () => clock.now(),
      prices: pricesOf(effective),
    });
  const deps: PipelineDeps = {
    db: database.db,
    outboundbot,
    llm,
    clock,
    log,
    config: effective,
    owner: overrides.owner ?? leaseOwnerName(),
  };
  return { deps, database, close: overrides.database ? async () => undefined : () => database.close() };
}

/**
 * For `serve` and `run-once` against the real services: refuses without credentials (DESIGN §5),
 * creates the database and tables that are missing (DESIGN §2, §4 DATABASE_URL), and fails early
 * with one line when the database does not answer.
 */
export async function openLiveDeps(config: Readonly<Config>, log: Logger): Promise<BuiltDeps> {
  requireLiveCredentials(config);
  const report = await migrateDatabase(config.databaseUrl, config.databaseName);
  if (migrationChangedSomething(report)) log.info(describeMigration(report, config.databaseName));
  const built = buildPipelineDeps(config, log);
  try {
    await checkDatabase(built.database.pool, config.databaseUrl);
  } catch (error) {
    await built.close();
    throw error;
  }
  return built;
}

/** host:pid:random, so two processes on one host (or a restarted pid) never share a lease. */
export function leaseOwnerName(): string {
  return `${hostname().slice(0, 100)}:${process.pid}:${randomBytes(2).toString('hex')}`;
}

/**
 * An Outbound Bot request that outlived the lease could store what it read after another process
 * took the task over (DESIGN §3.8–3.9), so its timeout is capped at half the lease. The LLM's is not:
 * a model may take longer than a short lease, the lease is renewed on a timer while the call runs,
 * and its answer is written through the exactly-once path, which a late writer cannot repeat.
 */
export function withTimeoutsBelowLease(config: Readonly<Config>, log: Logger): Readonly<Config> {
  const capMs = (config.leaseSeconds * 1000) / 2;
  const capped = (['outboundbotTimeoutMs'] as const).filter((key) => config[key] > capMs);
  if (capped.length === 0) return config;
  const names = { outboundbotTimeoutMs: 'OUTBOUNDBOT_TIMEOUT_MS' };
  log.warn(
    `${capped.map((key) => `${names[key]} (${config[key]} ms)`).join(' and ')} exceed${capped.length === 1 ? 's' : ''} half of ` +
      `LEASE_SECONDS (${config.leaseSeconds} s); using ${capMs} ms so every request ends well before the lease expires`,
  );
  const adjusted = { ...config };
  for (const key of capped) adjusted[key] = capMs;
  return Object.freeze(adjusted);
}
