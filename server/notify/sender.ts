// The hot-lead sender (issue 11): every few seconds it turns committed outbox events into one
// delivery per configured channel, then, for each channel whose lease it holds, sends what is due:
// the robots get one message per hot lead, or digests when several are due at once, never more
// than their per-minute limit across all copies; the webhook gets one event per hot lead. A failed
// attempt backs off exponentially; after `maxAttempts` the delivery is dead until an operator resends it.
// Delivery is at least once: a copy that dies after the receiver took a message but before marking it
// sent leaves it to be sent again, which is why the webhook's events carry an id to de-duplicate by.
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { Logger } from '../log.ts';
import { countNotifications } from '../metrics.ts';
import { CHANNEL_RULES, configuredChannels, type ChannelTarget } from './channels.ts';
import { claimChannel, releaseChannel } from './channel-leases.ts';
import { dueDeliveries, fanOut, markFailed, markSent, pruneSends, recentSends, recordSend, type DueDelivery } from './deliveries.ts';
import { readHotLeads, type HotLeadDetails } from './hot-lead-details.ts';
import { postMessage } from './post-message.ts';
import { dingTalkBody, packDigests, robotMessage, webhookEvent, weComBody } from './render-messages.ts';

export interface NotifySenderOptions {
  db: Db;
  config: Pick<Config, 'notify' | 'publicUrl'>;
  log: Logger;
  owner: string;
  pollMs?: number;
  /** Attempts (the first included) before a delivery is dead. */
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

export const SENDER_DEFAULTS = { pollMs: 2000, maxAttempts: 8, backoffBaseMs: 10_000, backoffMaxMs: 600_000 } as const;
/** A channel's lease; renewed before every message, well above POST_TIMEOUT_MS. */
const CHANNEL_LEASE_SECONDS = 60;
/** Deliveries one cycle takes up per channel. */
const CYCLE_LIMIT = 200;
const WEBHOOK_CONCURRENCY = 4;

export interface SendReport {
  sent: number;
  failed: number;
  dead: number;
  messages: number;
  /** Due deliveries a robot's per-minute limit held back to a later cycle. */
  heldBack: number;
}

export interface NotifySender {
  start(): void;
  stop(): Promise<void>;
  /** One cycle now (tests, and the loop itself); joins the one running. */
  runOnce(): Promise<SendReport>;
}

export function createNotifySender(options: NotifySenderOptions): NotifySender {
  const { db, log, owner } = options;
  const settings = { ...SENDER_DEFAULTS, ...definedOf(options) };
  const targets = configuredChannels(options.config.notify);
  const backoffMs = (attempt: number) => {
    const plain = Math.min(settings.backoffMaxMs, settings.backoffBaseMs * 2 ** (attempt - 1));
    return plain * (0.8 + Math.random() * 0.4); // jitter, so copies and channels do not retry in step
  };
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let running: Promise<SendReport> | null = null;

  async function cycle(): Promise<SendReport> {
    const report: SendReport = { sent: 0, failed: 0, dead: 0, messages: 0, heldBack: 0 };
    await fanOut(db, targets.map((t) => t.name));
    for (const target of targets) {
      if (!(await claimChannel(db, target.name, owner, CHANNEL_LEASE_SECONDS))) continue; // another copy sends for it
      try {
        await sendChannel(target, report);
      } finally {
        await releaseChannel(db, target.name, owner);
      }
    }
    return report;
  }

  async function sendChannel(target: ChannelTarget, report: SendReport): Promise<void> {
    const due = await dueDeliveries(db, target.name, CYCLE_LIMIT);
    if (due.length === 0) return;
    const details = await readHotLeads(db, [...new Set(due.map((d) => d.hotLeadId))], options.config.publicUrl);
    const rules = CHANNEL_RULES[target.name];
    if (!rules.digests) {
      for (let i = 0; i < due.length; i += WEBHOOK_CONCURRENCY) {
        await Promise.all(due.slice(i, i + WEBHOOK_CONCURRENCY).map((d) => send(target, [d], webhookEvent(details.get(d.hotLeadId)!), report, details.get(d.hotLeadId)!.eventId)));
      }
      return;
    }
    await pruneSends(db, target.name);
    // Paced at one message per 60/limit seconds (3 s for 20 a minute): what arrives in between
    // waits and goes out merged, so a burst becomes a few digests instead of a used-up limit.
    const sends = await recentSends(db, target.name);
    const perMinute = rules.perMinute ?? Infinity;
    const paced = sends.lastAgoMs !== null && sends.lastAgoMs < 60_000 / perMinute;
    let budget = paced ? 0 : perMinute - sends.lastMinute;
    const render = target.name === 'dingtalk' ? (items: HotLeadDetails[]) => dingTalkBody(robotMessage(items)) : (items: HotLeadDetails[]) => weComBody(robotMessage(items));
    const byHotLead = new Map(due.map((d) => [d.hotLeadId, d]));
    const packs = packDigests(due.map((d) => details.get(d.hotLeadId)!), rules.maxBytes, render);
    for (const pack of packs) {
      const items = pack.map((p) => byHotLead.get(p.hotLeadId)!);
      if (budget <= 0) {
        report.heldBack += items.length;
        continue;
      }
      budget -= 1;
      await recordSend(db, target.name);
      await send(target, items, render(pack), report);
    }
  }

  async function send(target: ChannelTarget, items: DueDelivery[], body: string, report: SendReport, eventId?: string): Promise<void> {
    await claimChannel(db, target.name, owner, CHANNEL_LEASE_SECONDS); // renew
    report.messages += 1;
    try {
      await postMessage({ target, body, now: Date.now(), ...(eventId ? { eventId } : {}) });
    } catch (error) {
      const message = (error as Error).message;
      const { dead } = await markFailed(db, items, message, settings.maxAttempts, backoffMs);
      report.failed += items.length - dead;
      report.dead += dead;
      countNotifications(target.name, 'failed', items.length - dead);
      countNotifications(target.name, 'dead', dead);
      log.warn({ channel: target.name, deliveries: items.length, dead }, `hot-lead message to ${target.name} failed (${message}); ${dead > 0 ? `${dead} dead after ${settings.maxAttempts} attempts` : 'retrying later'}`);
      return;
    }
    const sent = await markSent(db, items.map((i) => i.id), randomUUID());
    report.sent += sent;
    countNotifications(target.name, 'sent', sent);
    log.info({ channel: target.name, deliveries: items.length }, `hot-lead message sent to ${target.name} (${items.length} lead${items.length === 1 ? '' : 's'})`);
  }

  function runOnce(): Promise<SendReport> {
    running ??= cycle().finally(() => {
      running = null;
    });
    return running;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((error: unknown) => log.error({ err: error }, `hot-lead sender cycle failed: ${(error as Error).message}`))
        .finally(schedule);
    }, settings.pollMs);
    timer.unref();
  }

  return {
    start() {
      if (timer || stopped) return;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
    runOnce,
  };
}

function definedOf(options: NotifySenderOptions) {
  const out: Partial<Record<keyof typeof SENDER_DEFAULTS, number>> = {};
  for (const key of Object.keys(SENDER_DEFAULTS) as Array<keyof typeof SENDER_DEFAULTS>) if (options[key] !== undefined) out[key] = options[key];
  return out;
}
