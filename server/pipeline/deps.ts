// Everything a pipeline step needs, passed explicitly (STYLE §2): tests build real ones.
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { FollowUpAnalyzer } from '../llm/types.ts';
import type { Logger } from '../log.ts';
import type { OutboundBotClient } from '../outboundbot/types.ts';

export interface Clock {
  now(): number; // epoch ms
}

export const systemClock: Clock = { now: () => Date.now() };

export interface PipelineDeps {
  db: Db;
  outboundbot: OutboundBotClient;
  llm: FollowUpAnalyzer;
  clock: Clock;
  log: Logger;
  config: Readonly<Config>;
  /** Identifies this process in leases and run history: host:pid:random. */
  owner: string;
}
