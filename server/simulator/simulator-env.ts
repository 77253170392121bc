// The environment that points autofollow at the two simulators: what `demo` and the tests set, so
// both reach them through exactly the configuration production uses.
import type { LlmSimulator } from './llm.ts';
import type { OutboundBotSimulator } from './outboundbot.ts';

export function simulatorEnv(sim: OutboundBotSimulator, llm: LlmSimulator): Record<string, string> {
  return {
    ALIBABA_CLOUD_ACCESS_KEY_ID: sim.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: sim.accessKeySecret,
    OUTBOUNDBOT_ENDPOINT: sim.url,
    OUTBOUNDBOT_INSTANCE_ID: sim.instanceId,
    LLM_BASE_URL: llm.url,
    LLM_API_KEY: llm.apiKey,
  };
}
