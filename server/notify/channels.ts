// The hot-lead channels (issue 11) and what each one accepts. The two robots take human-readable
// markdown and have a rate limit, so several hot leads due at once go out as one digest; the webhook
// takes one JSON event per hot lead, never merged, each with its own id to de-duplicate by.
import type { NotifyConfig } from '../config.ts';

export type ChannelName = 'dingtalk' | 'wecom' | 'webhook';
export const CHANNELS: readonly ChannelName[] = ['dingtalk', 'wecom', 'webhook'];

export interface ChannelTarget {
  name: ChannelName;
  url: string;
  /** DingTalk: the signed mode's secret; webhook: the body's HMAC key. */
  secret: string | undefined;
}

export interface ChannelRules {
  /** Merged into digests when several are due at once. */
  digests: boolean;
  /** Messages a minute the receiver accepts, across every running copy (null: no limit). */
  perMinute: number | null;
  /** Longest message body the receiver accepts, in UTF-8 bytes (digests are cut to fit). */
  maxBytes: number;
}

export const CHANNEL_RULES: Record<ChannelName, ChannelRules> = {
  // DingTalk custom robot: 20 messages a minute per robot; markdown text up to 20,000 bytes.
  dingtalk: { digests: true, perMinute: 20, maxBytes: 18_000 },
  // WeCom group robot: 20 messages a minute per robot; markdown content up to 4,096 bytes.
  wecom: { digests: true, perMinute: 20, maxBytes: 4_000 },
  webhook: { digests: false, perMinute: null, maxBytes: Infinity },
};

export function configuredChannels(notify: NotifyConfig): ChannelTarget[] {
  const targets: ChannelTarget[] = [];
  if (notify.dingtalkWebhook) targets.push({ name: 'dingtalk', url: notify.dingtalkWebhook, secret: notify.dingtalkSecret });
  if (notify.wecomWebhook) targets.push({ name: 'wecom', url: notify.wecomWebhook, secret: undefined });
  if (notify.webhookUrl) targets.push({ name: 'webhook', url: notify.webhookUrl, secret: notify.webhookSecret });
  return targets;
}

export function isChannelName(value: unknown): value is ChannelName {
  return typeof value === 'string' && (CHANNELS as readonly string[]).includes(value);
}
