// An OpenAI-compatible chat.completions server on loopback for tests and `demo` (DESIGN §5). It
// answers like a sensible model by reading the customer's lines ("客户：…" or "Contact: …") of the
// transcript, and injects faults on demand. Nothing in the client knows it is not a real model.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fromCrmDateTime, toCrmDateTime } from '../crm-time.ts';

/**
 * - server-error: 500 · rate-limit: 429 with a retry-after-ms hint (delayMs, default 10) ·
 *   bad-request: 400 (the client does not retry it)
 * - timeout: never answers; the client gives up, stop() closes the socket
 * - stalled-body (beyond the brief's list): sends 200 headers and half a body, then hangs, which
 *   a timeout on the headers alone would not cover
 * - slow: the normal answer after delayMs (default 300)
 * - not-json: 200 whose message content is prose · invalid-answer: 200 whose content is JSON that
 *   breaks the contract (is_interested 5, next_follow_time in the past)
 */
export type LlmFault = 'server-error' | 'rate-limit' | 'timeout' | 'stalled-body' | 'slow' | 'not-json' | 'invalid-answer' | 'bad-request';

export interface LlmSimulator {
  /** Base URL including /v1, e.g. http://127.0.0.1:40123/v1. */
  url: string;
  apiKey: string;
  /** Every authorised POST /v1/chat/completions, in arrival order, faulted ones included. */
  requests: Array<{ body: any; at: number }>;
  /** Requests being answered right now, and the most there ever were at once. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** The next `times` (default 1) requests get `fault`; calls queue up in order. */
  failNext(fault: LlmFault, options?: { times?: number; delayMs?: number }): void;
  /** Every answer that is not a fault comes this many ms late (0: at once), like a real model. */
  setLatency(ms: number): void;
  /** Answers that are not faults wait (requests are still recorded) until the returned release is called. */
  holdAnswers(): () => void;
  /**
   * Bailian-like quota of `requestsPerMinute`, counted second by second as Bailian does (a burst of a
   * minute's requests in one second is refused): at most requestsPerMinute / 60 requests accepted in
   * any 1 s; beyond it a 429 whose retry-after-ms says when a slot frees. null: no quota.
   */
  setQuota(requestsPerMinute: number | null): void;
  /** Requests refused by the quota so far. */
  readonly throttled: number;
  stop(): Promise<void>;
}

export async function startLlmSimulator(options: { apiKey?: string; now?: () => number; timeZone?: string } = {}): Promise<LlmSimulator> {
  const apiKey = options.apiKey ?? 'sk-simulator';
  const now = options.now ?? Date.now;
  const timeZone = options.timeZone ?? 'Asia/Shanghai';
  const faults: Array<{ fault: LlmFault; left: number; delayMs: number | undefined }> = [];
  const timers = new Set<NodeJS.Timeout>();
  const requests: LlmSimulator['requests'] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let served = 0;
  let latencyMs = 0;
  let held: Promise<void> | null = null;
  let quota: number | null = null;
  /** Arrival times of the requests the quota accepted, oldest first, pruned to the last second. */
  const accepted: number[] = [];
  let throttled = 0;

  const server = createServer((req, res) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => { inFlight -= 1; });
    handle(req, res).catch((error: unknown) => sendError(res, 500, 'server_error', `simulator bug: ${String(error)}`));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/chat/completions') {
      return sendError(res, 404, 'invalid_request_error', `no route ${req.method} ${req.url}`);
    }
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      return sendError(res, 401, 'invalid_request_error', 'Incorrect API key provided.');
    }
    let body: any;
    try {
      body = JSON.parse(raw);
    } catch {
      return sendError(res, 400, 'invalid_request_error', 'request body is not JSON');
    }
    if (typeof body?.model !== 'string' || !Array.isArray(body.messages)) {
      return sendError(res, 400, 'invalid_request_error', 'model and messages are required');
    }
    requests.push({ body, at: now() });
    const waitMs = quotaWait(Date.now());
    if (waitMs > 0) {
      throttled += 1;
      res.setHeader('retry-after-ms', String(waitMs));
      return sendError(res, 429, 'rate_limit_error', 'Requests rate limit exceeded, please try again later.');
    }
    const fault = takeFault();
    switch (fault?.fault) {
      case 'timeout':
        return; // hang: the socket stays open until the client aborts or stop() destroys it
      case 'stalled-body':
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.write('{"id":"chatcmpl-sim-stalled","object":"chat.completion","choices":[');
        return;
      case 'server-error':
        return sendError(res, 500, 'server_error', 'The server had an error while processing your request.');
      case 'rate-limit':
        res.setHeader('retry-after-ms', String(fault.delayMs ?? 10));
        return sendError(res, 429, 'rate_limit_error', 'Rate limit reached for requests.');
      case 'bad-request':
        return sendError(res, 400, 'invalid_request_error', 'Invalid parameter: simulated bad request.');
      case 'slow':
        await delay(fault.delayMs ?? 300);
        if (res.destroyed) return;
        break;
      case undefined:
        if (held) await held;
        if (latencyMs > 0) {
          await delay(latencyMs);
          if (res.destroyed) return;
        }
        break;
    }
    const content = fault?.fault === 'not-json' ? '好的，这位客户看起来很有意向，建议尽快联系。'
      : fault?.fault === 'invalid-answer' ? JSON.stringify({ leads_remark: '客户有意向。', is_interested: 5, next_follow_time: '2000-01-01 10:00:00' })
      : JSON.stringify(answerLike(body.messages, nowFromPrompt(body.messages, timeZone) ?? now(), timeZone));
    sendJson(res, 200, completion(body.model, content, body.messages));
  }

  /** 0 when the quota takes this request (and counts it), else the ms until it would. */
  function quotaWait(at: number): number {
    if (quota === null) return 0;
    const perSecond = Math.max(1, Math.floor(quota / 60));
    while (accepted.length > 0 && accepted[0]! <= at - 1000) accepted.shift();
    if (accepted.length < perSecond) {
      accepted.push(at);
      return 0;
    }
    return Math.max(1, accepted[0]! + 1000 - at);
  }

  function takeFault(): { fault: LlmFault; delayMs: number | undefined } | undefined {
    const head = faults[0];
    if (!head) return undefined;
    head.left -= 1;
    if (head.left <= 0) faults.shift();
    return head;
  }

  function delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { timers.delete(timer); resolve(); }, ms);
      timers.add(timer);
    });
  }

  function completion(model: string, content: string, messages: unknown[]): object {
    served += 1;
    // Roughly Qwen's count for Chinese text: about one token a character.
    const promptTokens = JSON.stringify(messages).length;
    const completionTokens = content.length;
    return {
      id: `chatcmpl-sim-${served}`,
      object: 'chat.completion',
      created: Math.floor(now() / 1000),
      model,
      choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    };
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    apiKey,
    requests,
    get inFlight() { return inFlight; },
    get maxInFlight() { return maxInFlight; },
    get throttled() { return throttled; },
    setLatency(ms) {
      latencyMs = Math.max(0, ms);
    },
    holdAnswers() {
      let release!: () => void;
      held = new Promise<void>((resolve) => (release = resolve));
      return () => {
        held = null;
        release();
      };
    },
    setQuota(requestsPerMinute) {
      quota = requestsPerMinute;
      accepted.length = 0;
    },
    failNext(fault, failOptions = {}) {
      faults.push({ fault, left: Math.max(1, failOptions.times ?? 1), delayMs: failOptions.delayMs });
    },
    async stop() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // hung "timeout" requests included
      await closed;
    },
  };
}

// --- HTTP ---------------------------------------------------------------------------------------

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: object): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

/** Errors in OpenAI's shape, so the SDK raises its typed errors (RateLimitError, BadRequestError…). */
function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { error: { message, type, param: null, code: null } });
}

// --- the "model" -------------------------------------------------------------------------------

const NOT_INTERESTED = ['不需要', '已经买了', '没兴趣', '不感兴趣', '别再打'];
const INTERESTED = ['试驾', '感兴趣', '多少钱', '到店', '可以'];

/** What a sensible model would answer for this transcript, relative to `nowMs`. */
function answerLike(messages: unknown[], nowMs: number, timeZone: string): { leads_remark: string; is_interested: 0 | 1 | 2; next_follow_time: string | null } {
  const said = customerLines(messages);
  const text = said.join(' ');
  const declined = NOT_INTERESTED.filter((k) => text.includes(k));
  const liked = INTERESTED.filter((k) => text.includes(k));
  const isInterested = declined.length > 0 ? 2 : liked.length > 0 ? 1 : 0;
  const nextFollowTime = isInterested === 2 ? null : namedTime(said, nowMs, timeZone);
  const when = nextFollowTime ? `，约定${nextFollowTime.slice(0, 16)}再联系` : '';
  // Quote the line that carried the signal (the last one naming a keyword), else the last word said.
  const telling = [...said].reverse().find((line) => liked.some((k) => line.includes(k))) ?? said.at(-1);
  const quote = telling ? `客户说："${telling.slice(0, 30)}"。` : '';
  const remark = isInterested === 2 ? `客户表示${declined[0]}，暂无购车意向，建议暂停跟进。`
    : isInterested === 1 ? `客户有购车意向（${topics(liked)}）${when}。${quote}`
    : said.length === 0 ? '通话中客户未表达意见，无法判断意向。'
    : `客户未明确表达购车意向${when}，建议择机再次联系。${quote}`;
  return { leads_remark: remark, is_interested: isInterested, next_follow_time: nextFollowTime };
}

function topics(liked: string[]): string {
  const named = liked.filter((k) => k !== '可以');
  return named.length > 0 ? `提到${named.join('、')}` : '同意进一步沟通';
}

function textsOf(messages: unknown[]): string[] {
  return messages.flatMap((m: any) => {
    if (m?.role === 'system') return [];
    if (typeof m?.content === 'string') return [m.content];
    return Array.isArray(m?.content) ? m.content.map((part: any) => (typeof part?.text === 'string' ? part.text : '')) : [];
  });
}

function customerLines(messages: unknown[]): string[] {
  return textsOf(messages).flatMap((text) => text.split('\n'))
    .map((line) => /^\s*(?:客户|Contact)\s*[:：]\s*(.*)$/i.exec(line)?.[1]?.trim())
    .filter((line): line is string => Boolean(line));
}

/** A model reads "now" from the prompt; the simulator does too, so an injected pipeline clock agrees with it. */
function nowFromPrompt(messages: unknown[], timeZone: string): number | null {
  const m = /当前时间[:：]\s*(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})/.exec(textsOf(messages).join('\n'));
  return m?.[1] ? fromCrmDateTime(m[1], timeZone) : null;
}

// A time phrase: an optional day (今天 … 大后天, 周六, 下周三), an optional part of day and an
// optional clock time right after them. A bare "三点" is not taken: "便宜一点" would read as 1:00.
const TIME_PHRASE = /(大后天|后天|明天|今天|(下|这|本)?(?:周|星期|礼拜)([一二三四五六日天]))?(早上|上午|中午|下午|傍晚|晚上)?(?:(\d{1,2}|[一二两三四五六七八九十]{1,3})[点:：](半|\d{1,2})?)?/g;
const DAY_OFFSETS: Record<string, number> = { 今天: 0, 明天: 1, 后天: 2, 大后天: 3 };
const PART_HOURS: Record<string, number> = { 早上: 9, 上午: 10, 中午: 12, 下午: 15, 傍晚: 18, 晚上: 19 };

/** The last time the customer named, as "YYYY-MM-DD HH:mm:ss" in the CRM zone, or null. */
function namedTime(lines: string[], nowMs: number, timeZone: string): string | null {
  for (const line of [...lines].reverse()) {
    const phrase = [...line.matchAll(TIME_PHRASE)].filter((m) => m[1] || m[4]).at(-1);
    if (phrase) return resolveTime(phrase, nowMs, timeZone);
  }
  return null;
}

function resolveTime(m: RegExpMatchArray, nowMs: number, timeZone: string): string | null {
  const [year, month, day] = toCrmDateTime(nowMs, timeZone).slice(0, 10).split('-').map(Number) as [number, number, number];
  const today = Date.UTC(year, month - 1, day);
  const weekdayToday = (new Date(today).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const [, dayWord, weekPrefix, weekdayChar, part, clock, minutePart] = m;
  let offset = 0;
  if (weekdayChar) {
    const weekday = '一二三四五六日'.indexOf(weekdayChar === '天' ? '日' : weekdayChar);
    offset = weekPrefix === '下' ? 7 - weekdayToday + weekday : (weekday - weekdayToday + 7) % 7;
  } else if (dayWord) {
    offset = DAY_OFFSETS[dayWord] ?? 0;
  }
  let hour = clock ? chineseNumber(clock) : (part ? PART_HOURS[part] : undefined) ?? 10;
  if (clock && (part === '下午' || part === '傍晚' || part === '晚上') && hour < 12) hour += 12;
  if (clock && part === '中午' && hour < 3) hour += 12;
  const minute = minutePart === '半' ? 30 : minutePart ? Number(minutePart) : 0;
  if (hour > 23 || minute > 59) return null;

  const at = (days: number): string => {
    const date = new Date(today + days * 86_400_000).toISOString().slice(0, 10);
    return `${date} ${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00`;
  };
  const first = at(offset);
  if ((fromCrmDateTime(first, timeZone) ?? 0) > nowMs) return first;
  // Already past: "周六上午" said on Saturday afternoon means next Saturday; "下午三点" said at
  // five means tomorrow; "今天上午" said in the afternoon names no future time.
  if (weekdayChar && weekPrefix !== '下') return at(offset + 7);
  if (!dayWord) return at(1);
  return null;
}

const CHINESE_DIGITS: Record<string, number> = { 零: 0, 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };

/** "三" 3, "十" 10, "十一" 11, "两" 2, "9" 9: enough for clock hours. */
function chineseNumber(text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const digit = (c: string | undefined): number => CHINESE_DIGITS[c ?? ''] ?? 0;
  const ten = text.indexOf('十');
  if (ten < 0) return digit(text);
  const tens = ten === 0 ? 1 : digit(text[ten - 1]);
  const ones = ten === text.length - 1 ? 0 : digit(text[ten + 1]);
  return tens * 10 + ones;
}
