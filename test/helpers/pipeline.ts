// Real parts for pipeline tests: a per-file database, both simulators over HTTP on loopback, and
// PipelineDeps wired by the same buildPipelineDeps that serve, run-once and demo use.
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { buildPipelineDeps } from '../../server/cli/build-deps.ts';
import { loadConfig, type Config } from '../../server/config.ts';
import { createLogger } from '../../server/log.ts';
import type { PipelineDeps } from '../../server/pipeline/deps.ts';
import { startLlmSimulator, type LlmSimulator } from '../../server/simulator/llm.ts';
import { startOutboundBotSimulator, type OutboundBotSimulator } from '../../server/simulator/outboundbot.ts';
import { simulatorEnv } from '../../server/simulator/simulator-env.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { lateBound } from './late-bound.ts';

export interface PipelineHarness {
  database: TestDatabase;
  sim: OutboundBotSimulator;
  llm: LlmSimulator;
  config: Readonly<Config>;
  /** Deps for one "process"; call again with another owner to act as a second copy of the service. */
  deps(owner?: string): PipelineDeps;
  close(): Promise<void>;
}

const FAST_RETRY = { RETRY_ATTEMPTS: '3', RETRY_BASE_MS: '10', RETRY_MAX_MS: '50' };

export async function startPipelineHarness(env: Record<string, string> = {}): Promise<PipelineHarness> {
  const [database, sim, llm] = await Promise.all([createTestDatabase(), startOutboundBotSimulator(), startLlmSimulator()]);
  const config = loadConfig({
    DATABASE_URL: database.url,
    ...simulatorEnv(sim, llm),
    OUTBOUNDBOT_QPS: '200',
    LLM_CONCURRENCY: '8',
    OUTBOUNDBOT_TIMEOUT_MS: '2000',
    LLM_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'silent',
    ...FAST_RETRY,
    ...env,
  });
  const log = createLogger(config.logLevel, { pretty: false });
  return {
    database, sim, llm, config,
    deps: (owner = 'test-process-1') => buildPipelineDeps(config, log, { database, owner }).deps,
    async close() {
      await Promise.all([sim.stop(), llm.stop()]);
      await database.drop();
    },
  };
}

/**
 * The harness for one test file: started before its tests, reset before each (tables emptied, the
 * simulator's request log cleared), closed after them. The object returned forwards to the running
 * harness, so a file writes `const h = usePipelineHarness();` instead of the hooks.
 */
export function usePipelineHarness(env: Record<string, string> = {}): PipelineHarness {
  let current: PipelineHarness | undefined;
  beforeAll(async () => {
    current = await startPipelineHarness(env);
  });
  afterAll(async () => current?.close());
  beforeEach(async () => {
    await current!.database.reset();
    current!.sim.resetRequests();
    current!.sim.capPageSize(null);
    current!.sim.clearFaults();
    current!.sim.setLatency(0);
    current!.llm.setLatency(0);
    current!.llm.setQuota(null);
  });
  return lateBound(() => current, 'the pipeline harness');
}
