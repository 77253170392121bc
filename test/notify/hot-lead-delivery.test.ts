// Hot leads reach sales (issue 11): the outbox row commits with the follow record, and the sender
// delivers it to real HTTP receivers (the local stand-in for DingTalk, WeCom and a webhook).
import { eq, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { channelLeases, channelSends, deliveries, hotLeadEvents } from '../../server/db/schema/app.ts';
import { createLogger } from '../../server/log.ts';
import { resendDead } from '../../server/notify/deliveries.ts';
import { createNotifySender, type NotifySender, type NotifySenderOptions } from '../../server/notify/sender.ts';
import { dingTalkSign } from '../../server/notify/signatures.ts';
import { insertPage, writeFollowUps, type FollowUpDecision } from '../../server/pipeline/write-follow-ups.ts';
import { startNotifyReceiver, type NotifyReceiver } from '../../server/simulator/notify-receiver.ts';
import { givenLeads, givenTask } from '../helpers/builders.ts';
import { useTestDatabase } from '../helpers/database.ts';
import { randomPhones } from '../helpers/seeded-random.ts';

const log = createLogger('silent', { pretty: false });
const database = useTestDatabase();
let receiver: NotifyReceiver;
const senders: NotifySender[] = [];

beforeAll(async () => {
  receiver = await startNotifyReceiver();
});
afterAll(async () => {
  await receiver.stop();
});
afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.stop()));
  receiver.messages.length = 0;
  receiver.refused.length = 0;
});

function configFor(channels: Array<'dingtalk' | 'wecom' | 'webhook'>) {
  const env: Record<string, string> = { PUBLIC_URL: 'https://af.example.cn' };
  if (channels.includes('dingtalk')) Object.assign(env, { NOTIFY_DINGTALK_WEBHOOK: receiver.urls.dingtalk, NOTIFY_DINGTALK_SECRET: receiver.dingtalkSecret });
  if (channels.includes('wecom')) env.NOTIFY_WECOM_WEBHOOK = receiver.urls.wecom;
  if (channels.includes('webhook')) Object.assign(env, { NOTIFY_WEBHOOK_URL: receiver.urls.webhook, NOTIFY_WEBHOOK_SECRET: receiver.webhookSecret });
  return loadConfig(env);
}

function sender(channels: Array<'dingtalk' | 'wecom' | 'webhook'>, options: Partial<NotifySenderOptions> = {}): NotifySender {
  const s = createNotifySender({ db: database.db, config: configFor(channels), log, owner: `copy-${senders.length}`, backoffBaseMs: 1, backoffMaxMs: 5, pollMs: 20, ...options });
  senders.push(s);
  return s;
}

/** Leads with follow-up decisions of the given interests, written through the exactly-once path. */
async function givenDecisions(interests: Array<0 | 1 | 2>, name = '试驾任务'): Promise<FollowUpDecision[]> {
  const taskId = await givenTask(database.db, { name });
  const numbers = randomPhones(interests.length);
  const ids = await givenLeads(database.db, taskId, numbers.map((phone, i) => ({ phone, name: `客户${i + 1}` })));
  return ids.map((leadRowId, i) => ({
    leadRowId, taskId, leadsId: 50_000 + leadRowId, remark: `客户说周六来试驾 ${i + 1}`, isInterested: interests[i]!,
    nextFollowTime: '2031-05-03 10:00:00', analysis: { status: 'ok', error: null },
  }));
}

const write = (decisions: FollowUpDecision[], inserter = insertPage) => writeFollowUps(database.db, decisions, '2031-05-01 09:00:00', new Date(), inserter);

async function deliveryRows() {
  return database.db.select().from(deliveries).orderBy(deliveries.id);
}

const leadsIn = (channel: 'dingtalk' | 'wecom') =>
  receiver.messages.filter((m) => m.channel === channel).flatMap((m) => [...String(channel === 'dingtalk' ? m.body.markdown.text : m.body.markdown.content).matchAll(/客户说周六来试驾 (\d+)/g)].map((x) => Number(x[1])));

describe('hot-lead delivery', () => {
  it('signs DingTalk requests as DingTalk documents it (timestamp + "\\n" + secret, HMAC-SHA256, base64)', () => {
    expect(encodeURIComponent(dingTalkSign('secret', 1_700_000_000_000))).toBe('OuzzJR5%2BxZ4%2FEYwqtNt6sMYZQMTa%2FHEGvc9miJe7XzY%3D');
  });

  it('after a crash between the follow record and the send, a new copy delivers exactly one message per hot lead', async () => {
    const decisions = await givenDecisions([1, 0, 1, 2]);
    await write(decisions); // committed; the process "dies" before any sender ran
    expect(await database.db.select().from(hotLeadEvents)).toHaveLength(2);
    // The dead copy had even claimed the webhook channel: its lease expired, and the new copy takes over.
    await database.db.insert(channelLeases).values({ channel: 'webhook', owner: 'dead-copy', expiresAt: sql`UTC_TIMESTAMP(3) - INTERVAL 1 SECOND` });

    const fresh = sender(['dingtalk', 'webhook']);
    await fresh.runOnce();
    await fresh.runOnce(); // nothing is sent twice

    const events = receiver.messages.filter((m) => m.channel === 'webhook');
    expect(events.map((e) => e.body.lead.id).sort()).toEqual([decisions[0]!.leadRowId, decisions[2]!.leadRowId].sort());
    expect(new Set(events.map((e) => e.body.id)).size).toBe(2);
    expect(events.map((e) => e.eventId)).toEqual(events.map((e) => e.body.id));
    expect(events[0]!.body).toMatchObject({ type: 'hot_lead', task: { name: '试驾任务' }, isInterested: 1, nextFollowTime: '2031-05-03 10:00:00' });
    expect(events[0]!.body.url).toMatch(/^https:\/\/af\.example\.cn\/tasks\/\d+\?q=/);
    expect(leadsIn('dingtalk').sort()).toEqual([1, 3]);
    expect(receiver.refused).toEqual([]); // signatures were right
    expect((await deliveryRows()).map((d) => d.state)).toEqual(['sent', 'sent', 'sent', 'sent']);
  });

  it('sends nothing for a follow record whose transaction rolled back', async () => {
    const decisions = await givenDecisions([1, 1]);
    const crashing = async (...args: Parameters<typeof insertPage>) => {
      await insertPage(...args);
      throw new Error('crash inside the transaction');
    };
    await expect(write(decisions, crashing)).rejects.toThrow('crash inside the transaction');
    const s = sender(['dingtalk', 'wecom', 'webhook']);
    await s.runOnce();
    expect(await database.db.select().from(hotLeadEvents)).toEqual([]);
    expect(receiver.messages).toEqual([]);
  });

  it('delivers once to a receiver that fails five times and then recovers', async () => {
    await write(await givenDecisions([1]));
    receiver.failNext('webhook', 5);
    const s = sender(['webhook']);
    s.start();
    await receiver.waitFor('webhook', 1);
    await s.stop();
    await sender(['webhook']).runOnce();
    expect(receiver.messages).toHaveLength(1);
    expect(receiver.refused).toHaveLength(5);
    expect(await deliveryRows()).toMatchObject([{ state: 'sent', attempts: 6, lastError: null }]);
  });

  it('marks a delivery dead when its retries run out, and sends it again once resent', async () => {
    await write(await givenDecisions([1]));
    receiver.failNext('wecom', 3);
    const s = sender(['wecom'], { maxAttempts: 3 });
    for (let i = 0; i < 3; i++) {
      // The backoff and the robot's pacing (3 s between messages) have passed.
      await database.db.update(deliveries).set({ nextAttemptAt: sql`UTC_TIMESTAMP(3)` }).where(eq(deliveries.state, 'pending'));
      await database.db.update(channelSends).set({ sentAt: sql`${channelSends.sentAt} - INTERVAL 3 SECOND` });
      await s.runOnce();
    }
    const [dead] = await deliveryRows();
    expect(dead).toMatchObject({ state: 'dead', attempts: 3 });
    expect(dead!.lastError).toContain('HTTP 500');
    expect(receiver.messages).toEqual([]);

    expect(await resendDead(database.db, dead!.id)).toBe('resent');
    expect(await resendDead(database.db, dead!.id)).toBe('not-dead');
    await database.db.update(channelSends).set({ sentAt: sql`${channelSends.sentAt} - INTERVAL 3 SECOND` });
    await s.runOnce();
    expect(receiver.messages).toHaveLength(1);
    expect((await deliveryRows())[0]).toMatchObject({ state: 'sent' });
  });

  it('brings 100 hot leads arriving within a minute to DingTalk and WeCom as digests within the robots\' limit of 20 a minute', async () => {
    const s = sender(['dingtalk', 'wecom']);
    // Two hot leads every 1.2 s for a minute, the sender looking after each: the time between
    // cycles is simulated by ageing the channels' send log, as a minute would.
    for (let tick = 0; tick < 50; tick++) {
      const decisions = await givenDecisions([1, 1]);
      decisions.forEach((d, i) => (d.remark = `客户说周六来试驾 ${tick * 2 + i + 1}`));
      await write(decisions);
      await s.runOnce();
      await database.db.update(channelSends).set({ sentAt: sql`${channelSends.sentAt} - INTERVAL 1200000 MICROSECOND` });
    }
    await database.db.update(channelSends).set({ sentAt: sql`${channelSends.sentAt} - INTERVAL 3 SECOND` });
    await s.runOnce();
    // On a busy machine real time passes too, the early cycles send more small digests, and the
    // minute's 20 may be spent before the last leads: they go in the next minute, never lost.
    await database.db.update(channelSends).set({ sentAt: sql`${channelSends.sentAt} - INTERVAL 60 SECOND` });
    await s.runOnce();

    for (const channel of ['dingtalk', 'wecom'] as const) {
      expect(leadsIn(channel).sort((a, b) => a - b), channel).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      const messages = receiver.messages.filter((m) => m.channel === channel);
      expect(messages.length, channel).toBeLessThanOrEqual(40); // two minutes' worth at most
      expect(messages.length, channel).toBeGreaterThan(10);
    }
    expect(receiver.refused).toEqual([]); // never over the receiver's own count of 20 a minute, never a bad signature
    expect(receiver.messages.some((m) => /\d+ 位新的有意向客户/.test(JSON.stringify(m.body)))).toBe(true);
    // WeCom's markdown is capped at 4096 bytes: every digest fits.
    for (const m of receiver.messages.filter((x) => x.channel === 'wecom')) expect(Buffer.byteLength(m.body.markdown.content)).toBeLessThanOrEqual(4096);
  });

  it('holds robot messages back while the last minute already has 20, whichever copy sent them', async () => {
    await write(await givenDecisions([1, 1]));
    await database.db.insert(channelSends).values(Array.from({ length: 20 }, () => ({ channel: 'dingtalk', sentAt: sql`UTC_TIMESTAMP(3)` })));
    const report = await sender(['dingtalk']).runOnce();
    expect(report).toMatchObject({ messages: 0, heldBack: 2 });
    expect(receiver.messages).toEqual([]);
  });

  it('lets two running copies send each hot lead once', async () => {
    const decisions = await givenDecisions(Array(12).fill(1));
    await write(decisions);
    const [a, b] = [sender(['dingtalk', 'webhook']), sender(['dingtalk', 'webhook'])];
    await Promise.all([a.runOnce(), b.runOnce(), a.runOnce(), b.runOnce()]);
    await Promise.all([a.runOnce(), b.runOnce()]);
    const events = receiver.messages.filter((m) => m.channel === 'webhook').map((m) => m.body.lead.id);
    expect(events.sort()).toEqual(decisions.map((d) => d.leadRowId).sort());
    expect(leadsIn('dingtalk').sort((x, y) => x - y)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it('shows masked phones only, and neutralises markdown in the remark', async () => {
    const decisions = await givenDecisions([1]);
    decisions[0]!.remark = '客户说周六来试驾 1 [点我](http://evil.example) ![x](http://evil.example/a.png)';
    await write(decisions);
    await sender(['dingtalk', 'wecom', 'webhook']).runOnce();
    const [lead] = await database.pool.query('SELECT leads_phone FROM leads_task_list WHERE id = ?', [decisions[0]!.leadRowId]) as unknown as [[{ leads_phone: string }]];
    const phone = lead[0]!.leads_phone;
    const everything = JSON.stringify(receiver.messages);
    expect(receiver.messages.map((m) => m.channel).sort()).toEqual(['dingtalk', 'webhook', 'wecom']);
    expect(everything).not.toContain(phone);
    expect(everything).toContain(`${phone.slice(0, 3)}****${phone.slice(-4)}`);
    const ding = receiver.messages.find((m) => m.channel === 'dingtalk')!.body.markdown.text as string;
    expect(ding).not.toMatch(/[^\\]\[点我\]\(http/);
    expect(ding).toContain('\\[点我\\]');

    // The demo's page of what was "sent": every channel's message, masked, as text.
    const demoPage = await fetch(`${receiver.url}/`);
    expect(demoPage.headers.get('content-security-policy')).toBe("default-src 'none'");
    const html = await demoPage.text();
    expect(html).toContain('已“发送”的消息（3）');
    expect(html.match(/<td>(dingtalk|wecom|webhook)<\/td>/g)?.sort()).toEqual(['<td>dingtalk</td>', '<td>webhook</td>', '<td>wecom</td>']);
    expect(html).toContain(`${phone.slice(0, 3)}****${phone.slice(-4)}`);
    expect(html).not.toContain(phone);
  });
});
