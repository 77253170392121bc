// Real parts for pipeline tests: a per-file database, both simulators over HTTP on loopback, and
// PipelineDeps built with the same clients production uses.
import { loadConfig, type Config } from '../../server/config.ts';
import { createFollowUpAnalyzer } from '../../server/llm/client.ts';
import { createLogger } from '../../server/log.ts';
import { createOutboundBotClient } from '../../server/outboundbot/client.ts';
import type { PipelineDeps } from '../../server/pipeline/deps.ts';
import { startLlmSimulator, type LlmSimulator } from '../../server/simulator/llm.ts';
import { startOutboundBotSimulator, type OutboundBotSimulator } from '../../server/simulator/outboundbot.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export interface PipelineHarness {
  database: TestDatabase;
  sim: OutboundBotSimulator;
  llm: LlmSimulator;
  config: Readonly<Config>;
  /** Deps for one "process"; call again with another owner to act as a second copy of the service. */
  deps(owner?: string, overrides?: Partial<Config>): PipelineDeps;
  close(): Promise<void>;
}

export const FAST_RETRY = { RETRY_ATTEMPTS: '3', RETRY_BASE_MS: '10', RETRY_MAX_MS: '50' };

export async function startPipelineHarness(env: Record<string, string> = {}): Promise<PipelineHarness> {
  const [database, sim, llm] = await Promise.all([createTestDatabase(), startOutboundBotSimulator(), startLlmSimulator()]);
  const config = loadConfig({
    DATABASE_URL: database.url,
    ALIBABA_CLOUD_ACCESS_KEY_ID: sim.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: sim.accessKeySecret,
    OUTBOUNDBOT_ENDPOINT: sim.url,
    OUTBOUNDBOT_INSTANCE_ID: sim.instanceId,
    LLM_BASE_URL: llm.url,
    LLM_API_KEY: llm.apiKey,
    OUTBOUNDBOT_QPS: '200',
    LLM_CONCURRENCY: '8',
    OUTBOUNDBOT_TIMEOUT_MS: '2000',
    LLM_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'silent',
    ...FAST_RETRY,
    ...env,
  });
  const log = createLogger(config.logLevel, { pretty: false });
  const deps = (owner = 'test-process-1', overrides: Partial<Config> = {}): PipelineDeps => {
    const c = { ...config, ...overrides };
    const retry = { attempts: c.retryAttempts, baseMs: c.retryBaseMs, maxMs: c.retryMaxMs };
    return {
      db: database.db,
      outboundbot: createOutboundBotClient({
        endpoint: c.outboundbotEndpoint, instanceId: c.outboundbotInstanceId!, accessKeyId: c.accessKeyId!, accessKeySecret: c.accessKeySecret!,
        timeoutMs: c.outboundbotTimeoutMs, qps: c.outboundbotQps, retry, log,
      }),
      llm: createFollowUpAnalyzer({
        baseUrl: c.llmBaseUrl, apiKey: c.llmApiKey!, model: c.llmModel, timeoutMs: c.llmTimeoutMs, concurrency: c.llmConcurrency, retry, timeZone: c.timeZone, log, now: () => Date.now(),
      }),
      clock: { now: () => Date.now() },
      log,
      config: c,
      owner,
    };
  };
  return {
    database, sim, llm, config, deps,
    async close() {
      await Promise.all([sim.stop(), llm.stop()]);
      await database.drop();
    },
  };
}
