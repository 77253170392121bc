// A stand-in for the DingTalk and WeCom robots and a webhook receiver, on loopback (issue 11): the
// demo sends to it for every channel the NOTIFY_* variables leave unset, and tests use it as the
// real HTTP receiver. It checks what the real ones check (DingTalk's sign and timestamp, the webhook's
// HMAC), answers as they do ({"errcode":0,"errmsg":"ok"}), refuses a 21st robot message within a
// minute like DingTalk (errcode 410100), fails on demand, and shows what it received at GET /.
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dingTalkSign, WEBHOOK_EVENT_HEADER, WEBHOOK_SIGNATURE_HEADER, webhookSignatureValid } from '../notify/signatures.ts';
import type { ChannelName } from '../notify/channels.ts';
import type { Config } from '../config.ts';

export interface ReceivedMessage {
  channel: ChannelName;
  at: number;
  /** The parsed JSON body. */
  body: any;
  eventId: string | null;
}

export interface NotifyReceiver {
  url: string;
  /** Webhook URLs for each channel on this receiver. */
  urls: Record<ChannelName, string>;
  dingtalkSecret: string;
  webhookSecret: string;
  /** Accepted messages, in arrival order. */
  messages: ReceivedMessage[];
  /** Requests refused (fault, bad signature, over the rate limit), in arrival order. */
  refused: Array<{ channel: ChannelName; at: number; reason: string }>;
  /** The next `times` requests to `channel` answer HTTP 500. */
  failNext(channel: ChannelName, times?: number): void;
  /** Resolves once `count` messages of `channel` were accepted (rejects after `timeoutMs`). */
  waitFor(channel: ChannelName, count: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  stop(): Promise<void>;
}

const ROBOT_LIMIT_PER_MINUTE = 20;

export async function startNotifyReceiver(options: { dingtalkSecret?: string; webhookSecret?: string; port?: number } = {}): Promise<NotifyReceiver> {
  const dingtalkSecret = options.dingtalkSecret ?? 'SECdemo-dingtalk-secret';
  const webhookSecret = options.webhookSecret ?? 'demo-webhook-secret';
  const messages: ReceivedMessage[] = [];
  const refused: NotifyReceiver['refused'] = [];
  const faults = new Map<ChannelName, number>();
  const events = new EventEmitter();

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => answer(res, 500, { errcode: -1, errmsg: String(error) }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://receiver');
    if (req.method === 'GET' && url.pathname === '/') return page(res);
    const channel = url.pathname.slice(1) as ChannelName;
    if (req.method !== 'POST' || !['dingtalk', 'wecom', 'webhook'].includes(channel)) return answer(res, 404, { errcode: 404, errmsg: 'not found' });
    const raw = await bodyOf(req);
    const refuse = (status: number, errcode: number, reason: string) => {
      refused.push({ channel, at: Date.now(), reason });
      answer(res, status, { errcode, errmsg: reason });
    };
    const left = faults.get(channel) ?? 0;
    if (left > 0) {
      faults.set(channel, left - 1);
      return refuse(500, -1, 'injected failure');
    }
    if (channel === 'dingtalk') {
      const timestamp = Number(url.searchParams.get('timestamp'));
      if (Math.abs(Date.now() - timestamp) > 3_600_000) return refuse(200, 310000, 'timestamp out of range');
      if (url.searchParams.get('sign') !== dingTalkSign(dingtalkSecret, timestamp)) return refuse(200, 310000, 'sign not match');
    }
    if (channel === 'webhook' && !webhookSignatureValid(webhookSecret, raw, header(req, WEBHOOK_SIGNATURE_HEADER))) return refuse(401, 401, 'bad signature');
    if (channel !== 'webhook' && messages.filter((m) => m.channel === channel && m.at > Date.now() - 60_000).length >= ROBOT_LIMIT_PER_MINUTE) {
      return refuse(200, channel === 'dingtalk' ? 410100 : 45009, 'send too fast');
    }
    let body: any;
    try {
      body = JSON.parse(raw);
    } catch {
      return refuse(400, 40001, 'not JSON');
    }
    const message: ReceivedMessage = { channel, at: Date.now(), body, eventId: header(req, WEBHOOK_EVENT_HEADER) ?? null };
    messages.push(message);
    answer(res, 200, { errcode: 0, errmsg: 'ok' });
    events.emit('message', message);
  }

  function page(res: ServerResponse): void {
    const rows = messages
      .slice(-200)
      .reverse()
      .map((m) => `<tr><td>${new Date(m.at).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai' })}</td><td>${m.channel}</td><td><pre>${escapeHtml(textOf(m))}</pre></td></tr>`)
      .join('');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'" });
    res.end(`<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>演示：已“发送”的消息</title></head><body><h1>演示接收端：已“发送”的消息（${messages.length}）</h1><p>钉钉机器人、企业微信机器人和 webhook 在演示中都发到这里。</p><table border="1" cellpadding="4"><tr><th>时间</th><th>渠道</th><th>内容</th></tr>${rows}</table></body></html>`);
  }

  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    urls: { dingtalk: `${base}/dingtalk?access_token=demo`, wecom: `${base}/wecom?key=demo`, webhook: `${base}/webhook` },
    dingtalkSecret,
    webhookSecret,
    messages,
    refused,
    failNext(channel, times = 1) {
      faults.set(channel, (faults.get(channel) ?? 0) + times);
    },
    async waitFor(channel, count, timeoutMs = 20_000) {
      const mine = () => messages.filter((m) => m.channel === channel);
      if (mine().length >= count) return mine();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          events.off('message', check);
          reject(new Error(`receiver: ${mine().length} of ${count} ${channel} messages after ${timeoutMs} ms`));
        }, timeoutMs);
        function check() {
          if (mine().length < count) return;
          clearTimeout(timer);
          events.off('message', check);
          resolve(mine());
        }
        events.on('message', check);
      });
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The NOTIFY_* settings `demo` runs with: a channel the configuration names keeps its real target;
 * every other one points at the stand-in receiver (with its secrets). PUBLIC_URL is left as it is.
 */
export function standInNotifyEnv(config: Pick<Config, 'notify'>, receiver: NotifyReceiver): Record<string, string> {
  const env: Record<string, string> = {};
  if (!config.notify.dingtalkWebhook) Object.assign(env, { NOTIFY_DINGTALK_WEBHOOK: receiver.urls.dingtalk, NOTIFY_DINGTALK_SECRET: receiver.dingtalkSecret });
  if (!config.notify.wecomWebhook) env.NOTIFY_WECOM_WEBHOOK = receiver.urls.wecom;
  if (!config.notify.webhookUrl) Object.assign(env, { NOTIFY_WEBHOOK_URL: receiver.urls.webhook, NOTIFY_WEBHOOK_SECRET: receiver.webhookSecret });
  return env;
}

function textOf(m: ReceivedMessage): string {
  if (m.channel === 'dingtalk') return String(m.body?.markdown?.text ?? JSON.stringify(m.body));
  if (m.channel === 'wecom') return String(m.body?.markdown?.content ?? JSON.stringify(m.body));
  return JSON.stringify(m.body, null, 2);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
