// The transport under the analyser (chat-completions.ts) against servers the simulator does not play:
// one that drops pooled keep-alive sockets, one that streams far more than an answer. A plain
// node:http server here, because these faults live in the connection, not in the answer.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createChatCompletions, MAX_ANSWER_BYTES } from '../../server/llm/chat-completions.ts';
import { createFollowUpAnalyzer } from '../../server/llm/client.ts';
import type { FollowUpRequest } from '../../server/llm/types.ts';
import { registry } from '../../server/metrics.ts';
import { captureLog } from './capture-log.ts';

const API_KEY = 'sk-transport-secret';
const NOW = '2026-05-13 14:00:00';
const ANSWER = JSON.stringify({
  choices: [{ message: { role: 'assistant', content: JSON.stringify({ leads_remark: '客户想试驾。', is_interested: 1, next_follow_time: null }) } }],
  usage: { prompt_tokens: 10, completion_tokens: 5 },
});
const request: FollowUpRequest = { leadName: '王女士', now: NOW, conversation: [{ speaker: 'Contact', script: '我想试驾。', timestamp: 1 }] };

interface TestServer {
  url: string;
  /** Requests seen, connections opened and closed, in total. */
  requests: number;
  connections: number;
  closed: Promise<void>[];
  server: Server;
}

let current: TestServer | undefined;
afterEach(async () => {
  current?.server.closeAllConnections();
  if (current) await new Promise((resolve) => current!.server.close(resolve));
  current = undefined;
});

/** `handle` gets each request with its number on its connection (1 for the first). */
async function startServer(handle: (req: IncomingMessage, res: ServerResponse, nthOnSocket: number) => void): Promise<TestServer> {
  const perSocket = new WeakMap<Socket, number>();
  const server = createServer((req, res) => {
    state.requests += 1;
    const n = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, n);
    handle(req, res, n);
  });
  // Far longer than the client's free-socket timeout: closing idle sockets is the client's job.
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket) => {
    state.connections += 1;
    // Not once(): it rejects on the 'error' (ECONNRESET) of a socket the client reset.
    state.closed.push(new Promise((resolve) => socket.on('close', () => resolve())));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const state: TestServer = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, requests: 0, connections: 0, closed: [], server };
  current = state;
  return state;
}

function answer(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(ANSWER);
}

function analyzer(url: string, log = captureLog(), overrides: { timeoutMs?: number; attempts?: number } = {}) {
  return createFollowUpAnalyzer({
    baseUrl: url,
    apiKey: API_KEY,
    model: 'qwen-plus',
    timeoutMs: overrides.timeoutMs ?? 2000,
    concurrency: 1,
    // One attempt: any failure the transport lets through becomes a failed analysis.
    retry: { attempts: overrides.attempts ?? 1, baseMs: 5, maxMs: 10 },
    timeZone: 'Asia/Shanghai',
    log: log.log,
    now: () => Date.parse('2026-05-13T06:00:00Z'),
  });
}

/** autofollow_llm_errors_total, of one kind or all. */
async function llmErrorsCounted(kind?: string): Promise<number> {
  const metric = registry.getSingleMetric('autofollow_llm_errors_total');
  const values = (await metric!.get()).values as Array<{ value: number; labels: { kind?: string } }>;
  return values.filter((v) => kind === undefined || v.labels.kind === kind).reduce((sum, v) => sum + v.value, 0);
}

describe('a pooled keep-alive socket the server has dropped', () => {
  // The server takes the first request on a connection and drops the connection when a second one
  // arrives on it: what a client sees when a server or load balancer closed an idle socket just as
  // it was reused. destroy() ends with a FIN ("socket hang up"), resetAndDestroy() with an RST (ECONNRESET).
  it.each(['destroy', 'resetAndDestroy'] as const)('costs no attempt when the server drops it with %s(): the request goes again at once', async (drop) => {
    let dropped = 0;
    const server = await startServer((req, res, nthOnSocket) => {
      if (nthOnSocket === 1) return void req.resume().on('end', () => answer(res));
      dropped += 1;
      req.socket[drop]();
    });
    const log = captureLog();
    const llm = analyzer(server.url, log);
    const errorsBefore = await llmErrorsCounted();

    expect(await llm.analyse(request)).toMatchObject({ ok: true, isInterested: 1 });
    expect(await llm.analyse(request)).toMatchObject({ ok: true, isInterested: 1 });

    expect(dropped).toBe(1); // the second analysis did meet the dropped socket
    expect(server.requests).toBe(3);
    expect(server.connections).toBe(2);
    expect(await llmErrorsCounted()).toBe(errorsBefore);
    expect(log.lines.filter((line) => /retrying|failed/.test(line.msg))).toEqual([]);
  });

  it('sends again only a request that met a reused socket, and only once', async () => {
    const server = await startServer((req, res, nthOnSocket) => {
      if (server.connections === 1 && nthOnSocket === 1) return void req.resume().on('end', () => answer(res));
      req.socket.destroy();
    });
    const llm = analyzer(server.url);
    expect(await llm.analyse(request)).toMatchObject({ ok: true });
    // Reused socket dropped, then the fresh connection too: that one is the server failing.
    expect(await llm.analyse(request)).toEqual({ ok: false, error: 'connection error' });
    expect(server.requests).toBe(3);
    // Nothing left in the pool: a new connection, dropped, is not sent again either.
    expect(await llm.analyse(request)).toEqual({ ok: false, error: 'connection error' });
    expect(server.requests).toBe(4);
  });

  it('is closed by the client after a few idle seconds, before a server would drop it', async () => {
    const server = await startServer((req, res) => void req.resume().on('end', () => answer(res)));
    const chat = createChatCompletions({ baseUrl: server.url, apiKey: API_KEY, timeoutMs: 2000 });
    await chat({ model: 'qwen-plus', messages: [] });
    const answeredAt = Date.now();
    await server.closed[0]; // the server keeps it for 60 s: only the client can close it
    expect(Date.now() - answeredAt).toBeGreaterThanOrEqual(3000);
  }, 10_000);
});

describe('an answer larger than MAX_ANSWER_BYTES', () => {
  // Twice the cap and the connection stays open, as from a wrong LLM_BASE_URL serving a big file.
  const huge = Buffer.alloc(2 * MAX_ANSWER_BYTES, 'x');
  it.each([
    ['streamed without a length', (res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).write(huge)],
    // Only the header says it: the first bytes, then nothing, so reading on would end in a timeout.
    ['announced by content-length', (res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': huge.length }).write('{"choices":')],
  ])('%s fails the analysis at once as "answer too large", without a retry', async (_, send) => {
    const server = await startServer((req, res) => void req.resume().on('end', () => send(res)));
    const log = captureLog();
    const invalidBodiesBefore = await llmErrorsCounted('invalid_body');
    const started = Date.now();
    const result = await analyzer(server.url, log, { timeoutMs: 3000, attempts: 3 }).analyse(request);
    expect(result).toEqual({ ok: false, error: 'answer too large' });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(server.requests).toBe(1);
    expect(await llmErrorsCounted('invalid_body')).toBe(invalidBodiesBefore + 1);
    const warnings = JSON.stringify(log.warnings());
    expect(warnings).toContain('answer too large');
    for (const secret of [API_KEY, '王女士', '试驾']) expect(warnings).not.toContain(secret);
  });

  it('keeps the status of an error answer that is too large', async () => {
    const server = await startServer((req, res) => void req.resume().on('end', () => res.writeHead(404).write(huge)));
    expect(await analyzer(server.url).analyse(request)).toEqual({ ok: false, error: 'http 404' });
  });
});
