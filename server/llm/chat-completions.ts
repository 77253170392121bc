// One chat.completions exchange with an OpenAI-compatible server (DESIGN §4 "LLM exchange"): a JSON
// POST to `${baseUrl}/chat/completions` over a keep-alive connection, its JSON answer back.
//
// Plain node:http rather than the openai SDK over fetch: profiling a 10,000-lead pass (issue 12)
// put 43% of autofollow's CPU in the SDK, undici's fetch and its web streams, about 1.8 ms per
// analysis; this costs a fraction of that. Retries are client.ts's, by the error's class
// (classify-llm-error.ts), with one exception: a request that dies on a pooled socket before any
// answer is sent again at once, on a new connection, because that says nothing about the server.
import http from 'node:http';
import https from 'node:https';

/**
 * Idle pooled sockets are closed after this long: shorter than the keep-alive timeout of servers and
 * load balancers (node's 5 s, nginx's 75 s, cloud load balancers' 60 s and up), so we close an idle
 * connection before they drop it and our next request meets a reset. The agent's `timeout` does this
 * on Node 20 and 24: it destroys a *free* socket that times out, and only emits 'timeout' on one in use
 * (the deadline below bounds those). It also lets a server's `Keep-Alive: timeout=N` hint shorten it,
 * which the agent ignores while `timeout` is 0.
 */
const FREE_SOCKET_TIMEOUT_MS = 4_000;

/**
 * An answer is a few KiB (one JSON object of three fields plus the envelope). A body past this is
 * not a chat completion (a wrong LLM_BASE_URL serving a file, a runaway stream): stop reading it
 * rather than hold it in memory until LLM_TIMEOUT_MS.
 */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/** The server answered with an HTTP error status; its body is not kept (it may echo the request). */
export class LlmHttpError extends Error {
  constructor(
    readonly status: number,
    readonly headers: http.IncomingHttpHeaders,
  ) {
    super(`LLM server answered HTTP ${status}`);
    this.name = 'LlmHttpError';
  }
}

/** The server could not be reached, or the connection broke before a whole answer came. */
export class LlmConnectionError extends Error {
  constructor(cause: unknown) {
    super(`LLM server connection failed (${(cause as NodeJS.ErrnoException)?.code ?? (cause as Error)?.name ?? 'unknown'})`, { cause });
    this.name = 'LlmConnectionError';
  }
}

/** No whole answer (headers and body) within the deadline. */
export class LlmTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer from the LLM server within ${timeoutMs} ms`);
    this.name = 'LlmTimeoutError';
  }
}

/** A 2xx answer larger than MAX_ANSWER_BYTES; sending the request again would bring the same. */
export class LlmAnswerTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`the LLM server's answer is larger than ${limitBytes} bytes`);
    this.name = 'LlmAnswerTooLargeError';
  }
}

export interface ChatCompletion {
  choices?: Array<{ message?: { content?: string | null } }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

export type ChatCompletionsCall = (body: unknown) => Promise<ChatCompletion>;

/**
 * `timeoutMs` bounds the whole exchange, body included, so a server that stalls mid-answer cannot
 * hold a place (and a lease) for ever. A body that is not JSON rejects with a SyntaxError, a 2xx body
 * over MAX_ANSWER_BYTES with LlmAnswerTooLargeError.
 */
export function createChatCompletions(options: { baseUrl: string; apiKey: string; timeoutMs: number }): ChatCompletionsCall {
  const url = new URL(`${options.baseUrl.replace(/\/+$/, '')}/chat/completions`);
  const secure = url.protocol === 'https:';
  const transport = secure ? https : http;
  // Idle sockets are unref'd by the agent, so they never keep the process alive.
  const agentOptions = { keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS };
  const agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const headers = (length: number) => ({
    'content-type': 'application/json',
    accept: 'application/json',
    'content-length': length,
    authorization: `Bearer ${options.apiKey}`,
    'user-agent': 'autofollow',
  });

  return (body) =>
    new Promise<ChatCompletion>((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify(body));
      let settled = false;
      let current: http.ClientRequest;
      const settle = (error: unknown, answer?: ChatCompletion) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        if (error) reject(error);
        else resolve(answer!);
      };
      // One deadline for the whole call, the resend of a stale socket's request included.
      const deadline = setTimeout(() => {
        settle(new LlmTimeoutError(options.timeoutMs));
        current.destroy();
      }, options.timeoutMs);

      const send = (pooled: boolean) => {
        // A resend takes a connection of its own (agent: false), so it cannot draw another stale socket.
        const request = transport.request(url, { method: 'POST', agent: pooled ? agent : false, headers: headers(payload.length) });
        current = request;
        let answered = false;
        request.on('error', (error) => {
          if (settled) return; // the deadline destroyed it
          // The server (or a load balancer) closed this pooled socket while it sat idle or as we
          // wrote on it: the request never reached a live connection, so it goes again at once
          // instead of costing one of client.ts's attempts. A duplicate at worst costs tokens.
          if (pooled && !answered && request.reusedSocket && isStaleSocketError(error)) return send(false);
          settle(new LlmConnectionError(error));
        });
        request.on('response', (response) => {
          answered = true;
          const status = response.statusCode ?? 0;
          const ok = status >= 200 && status < 300;
          // An error status's body is not kept, so only its size is capped, and its status is what counts.
          const tooLarge = () => {
            settle(ok ? new LlmAnswerTooLargeError(MAX_ANSWER_BYTES) : new LlmHttpError(status, response.headers));
            request.destroy();
          };
          if (Number(response.headers['content-length']) > MAX_ANSWER_BYTES) return tooLarge();
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_ANSWER_BYTES) return tooLarge();
            if (ok) chunks.push(chunk);
          });
          response.on('error', (error) => settle(new LlmConnectionError(error)));
          response.on('close', () => {
            if (!response.complete) settle(new LlmConnectionError(new Error('the answer was cut short')));
          });
          response.on('end', () => {
            if (!ok) return settle(new LlmHttpError(status, response.headers));
            let answer: ChatCompletion;
            try {
              answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatCompletion;
            } catch (error) {
              return settle(error);
            }
            settle(null, answer);
          });
        });
        request.end(payload);
      };
      send(true);
    });
}

/** How a write or read on a socket the peer has already closed fails ('socket hang up' is an ECONNRESET). */
function isStaleSocketError(error: NodeJS.ErrnoException): boolean {
  return error.code === 'ECONNRESET' || error.code === 'EPIPE' || error.message === 'socket hang up';
}
