// The real client pointed at a simulator, with small retry numbers so fault tests stay fast, and a
// logger whose lines the test can read.
import pino from 'pino';
import { createOutboundBotClient, type OutboundBotClientOptions } from '../../server/outboundbot/client.ts';
import type { OutboundBotClient } from '../../server/outboundbot/types.ts';
import type { OutboundBotSimulator } from '../../server/simulator/outboundbot.ts';

export interface LogLine { level: number; msg: string; [key: string]: unknown }

export function createTestClient(
  sim: Pick<OutboundBotSimulator, 'url' | 'instanceId' | 'accessKeyId' | 'accessKeySecret'>,
  overrides: Partial<OutboundBotClientOptions> = {},
): { client: OutboundBotClient; logs: LogLine[] } {
  const logs: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const client = createOutboundBotClient({
    endpoint: sim.url,
    instanceId: sim.instanceId,
    accessKeyId: sim.accessKeyId,
    accessKeySecret: sim.accessKeySecret,
    timeoutMs: 2000,
    qps: 200,
    retry: { attempts: 3, baseMs: 20, maxMs: 100 },
    log,
    ...overrides,
  });
  return { client, logs };
}
