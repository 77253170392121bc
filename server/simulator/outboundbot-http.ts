// The Outbound Bot simulator's HTTP side, as reference §7 asks: routes on x-acs-action (or Action),
// accepts GET and POST, merges query and form params, answers with the §2.7 envelope or the §5.1
// error shapes, checks the ACS3 signature on request, and applies the fault queued for a request.
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '../log.ts';
import { FAULT_DEFAULTS, HTML_502, httpStatusOfBusinessCode, type Fault, type FaultQueue } from './faults.ts';
import type { OutboundBotActions } from './outboundbot-actions.ts';
import { ApiError, mergeParams, missing, type Params } from './outboundbot-params.ts';

export const API_VERSION = '2019-12-26';
const HOST_ID = 'outboundbot.cn-shanghai.aliyuncs.com';

type Body = Record<string, unknown>;

export interface RecordedRequest {
  action: string; method: string; params: Record<string, string>;
  /** Lower-case names, as received (e.g. x-acs-action, x-acs-version). */
  headers: Record<string, string>;
  /** Date.now() on arrival, for timing assertions. */
  at: number;
}

export interface OutboundBotHttpOptions {
  actions: OutboundBotActions;
  faults: FaultQueue;
  /** Every request is appended here on arrival. */
  requests: RecordedRequest[];
  accessKeyId: string; accessKeySecret: string;
  /** Check the ACS3-HMAC-SHA256 signature (reference §6.4) and answer SignatureDoesNotMatch. */
  verifySignature?: boolean;
  log?: Logger;
  /** Every answer without a fault waits this long (ms), like a distant API; read per request. */
  latency?: { ms: number };
  /** While `until` is set, every answer without a fault waits for it (tests line up concurrent callers). */
  hold?: { until: Promise<void> | null };
}

export interface OutboundBotHttpServer {
  readonly url: string;
  /** Requests being answered right now, and the most there ever were at once. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  resetMaxInFlight(): void;
  /** Drops delayed answers and hung requests, then resolves once the server has closed. */
  close(): Promise<void>;
}

/** Listens on a free loopback port. */
export async function listenOutboundBotHttp(options: OutboundBotHttpOptions): Promise<OutboundBotHttpServer> {
  const { actions, faults, requests, accessKeyId, accessKeySecret, log } = options;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  /** The answer a healthy service would give; faults decide whether and how it is sent. */
  function answer(req: http.IncomingMessage, url: URL, rawBody: Buffer, action: string, params: Params): { status: number; body: Body } {
    try {
      if ((req.method !== 'GET' && req.method !== 'POST') || url.pathname !== '/') {
        throw new ApiError(404, 'InvalidApi.NotFound', `Specified api is not found, please check your url and method.`, 'gateway');
      }
      const version = header(req, 'x-acs-version') ?? params.Version;
      if (!version) throw missing('Version');
      if (version !== API_VERSION || !Object.hasOwn(actions, action)) {
        throw new ApiError(404, 'InvalidApi.NotFound', `Specified api ${action || '(none)'} of version ${version} is not found.`, 'gateway');
      }
      if (options.verifySignature) checkSignature(req, url, rawBody);
      return { status: 200, body: { Success: true, Code: 'OK', Message: 'Success', HttpStatusCode: 200, ...actions[action]!(params) } };
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const body: Body = error.style === 'gateway'
        ? { HostId: HOST_ID, Code: error.code, Message: error.message, Recommend: `https://api.aliyun.com/troubleshoot?q=${error.code}` }
        : { Success: false, Code: error.code, Message: error.message, HttpStatusCode: error.status };
      return { status: error.status, body };
    }
  }

  function checkSignature(req: http.IncomingMessage, url: URL, rawBody: Buffer): void {
    const auth = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$/.exec(header(req, 'authorization') ?? '');
    if (!auth) throw new ApiError(400, 'IncompleteSignature', 'The request signature does not conform to Aliyun standards.', 'gateway');
    const [, keyId, signedHeaders, signature] = auth as unknown as [string, string, string, string];
    if (keyId !== accessKeyId) throw new ApiError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.', 'gateway');
    const payloadHash = createHash('sha256').update(rawBody).digest('hex');
    const expected = acs3Signature(req.method!, url, req.headers, signedHeaders.split(';'), payloadHash, accessKeySecret);
    if (header(req, 'x-acs-content-sha256') !== payloadHash || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
      throw new ApiError(400, 'SignatureDoesNotMatch', 'Specified signature does not match our calculation.', 'gateway');
    }
  }

  function send(res: http.ServerResponse, requestId: string, status: number, text: string, contentType = 'application/json;charset=utf-8'): void {
    if (res.destroyed || res.writableEnded) return; // the client gave up (timeout) or stop() ran
    res.writeHead(status, { 'content-type': contentType, 'x-acs-request-id': requestId });
    res.end(text);
  }

  /** Runs later unless stop() comes first; a client that hangs up cancels it. */
  function later(res: http.ServerResponse, ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
    res.on('close', () => {
      clearTimeout(timer);
      timers.delete(timer);
    });
  }

  function applyFault(fault: Fault, res: http.ServerResponse, requestId: string, respond: () => { status: number; body: Body }): void {
    const json = (status: number, body: Body) => send(res, requestId, status, JSON.stringify({ RequestId: requestId, ...body }));
    switch (fault.name) {
      case 'throttle': {
        const code = fault.code ?? FAULT_DEFAULTS.throttleCode;
        res.setHeader('x-acs-retry-after', String(fault.delayMs ?? FAULT_DEFAULTS.throttleRetryAfterMs));
        return json(400, { HostId: HOST_ID, Code: code, Message: 'Request was denied due to user flow control.', Recommend: '' });
      }
      case 'server-error': {
        const code = fault.code ?? FAULT_DEFAULTS.serverErrorCode;
        return json(code === 'InternalError' ? 500 : 503, { HostId: HOST_ID, Code: code, Message: 'The request has failed due to a temporary failure of the server.', Recommend: '' });
      }
      case 'timeout':
        if (fault.delayMs === null) return; // never answers; the client's timeout (or stop()) ends it
        return later(res, fault.delayMs, () => { const a = respond(); json(a.status, a.body); });
      case 'lost-answer': {
        // The effect lands now; only the answer is lost (or late): a write whose caller cannot know it happened.
        const a = respond();
        if (fault.delayMs === null) return;
        return later(res, fault.delayMs, () => json(a.status, a.body));
      }
      case 'slow':
        return later(res, fault.delayMs ?? FAULT_DEFAULTS.slowMs, () => { const a = respond(); json(a.status, a.body); });
      case 'html-502':
        return send(res, requestId, 502, HTML_502, 'text/html');
      case 'empty-200':
        return send(res, requestId, 200, '');
      case 'malformed-json': {
        const full = JSON.stringify({ RequestId: requestId, ...respond().body });
        return send(res, requestId, 200, full.slice(0, Math.max(1, Math.floor(full.length / 2))));
      }
      case 'reset':
        res.socket?.destroy();
        return;
      case 'business-error':
      case 'business-error-200': {
        const code = fault.code ?? FAULT_DEFAULTS.businessErrorCode;
        const status = httpStatusOfBusinessCode(code);
        return json(fault.name === 'business-error' ? status : 200, { Success: false, Code: code, Message: fault.message ?? `Simulated business error ${code}.`, HttpStatusCode: status });
      }
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const rawBody = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const params = mergeParams(url.searchParams, rawBody, header(req, 'content-type'));
    const action = header(req, 'x-acs-action') ?? params.Action ?? '';
    const requestId = randomUUID().toUpperCase();
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v ?? '']));
    requests.push({ action, method: req.method ?? '', params, headers, at: Date.now() });
    const respond = () => answer(req, url, rawBody, action, params);
    const fault = faults.take(action);
    log?.debug({ action, fault: fault?.name ?? null }, 'outboundbot simulator request');
    if (fault) return applyFault(fault, res, requestId, respond);
    const reply = () => {
      const { status, body } = respond();
      send(res, requestId, status, JSON.stringify({ RequestId: requestId, ...body }));
    };
    if (options.hold?.until) await options.hold.until;
    const latencyMs = options.latency?.ms ?? 0;
    if (latencyMs > 0) return later(res, latencyMs, reply);
    reply();
  }

  let inFlight = 0;
  let maxInFlight = 0;
  // AssignJobs sends up to 99 jobs as JSON in the query string (reference §2.2): far beyond Node's
  // 16 KB default for the request head, which would answer 431 with an empty body.
  const server = http.createServer({ maxHeaderSize: 1024 * 1024 }, (req, res) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => { inFlight -= 1; });
    handle(req, res).catch((error: unknown) => {
      log?.error({ err: error }, 'outboundbot simulator failed on a request');
      send(res, randomUUID().toUpperCase(), 500, JSON.stringify({ Code: 'InternalError', Message: String(error) }));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    get inFlight() { return inFlight; },
    get maxInFlight() { return maxInFlight; },
    resetMaxInFlight() { maxInFlight = inFlight; },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy(); // hung requests included
      await closed;
    },
  };
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value) || undefined;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** ACS3-HMAC-SHA256 as reference §6.4 describes it, computed independently of the client library. */
function acs3Signature(method: string, url: URL, headers: http.IncomingHttpHeaders, signedHeaders: string[], payloadHash: string, secret: string): string {
  const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const query = [...url.searchParams.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${encode(v)}`).join('&');
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${String(headers[name] ?? '').trim()}\n`).join('');
  const canonicalRequest = [method, url.pathname, query, canonicalHeaders, signedHeaders.join(';'), payloadHash].join('\n');
  const stringToSign = `ACS3-HMAC-SHA256\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
  return createHmac('sha256', secret).update(stringToSign).digest('hex');
}
