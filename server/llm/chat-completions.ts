// One chat.completions exchange with an OpenAI-compatible server (DESIGN §4 "LLM exchange"): a JSON
// POST to `${baseUrl}/chat/completions` over a keep-alive connection, its JSON answer back.
//
// Plain node:http rather than the openai SDK over fetch: profiling a 10,000-lead pass (issue 12)
// put 43% of autofollow's CPU in the SDK, undici's fetch and its web streams, about 1.8 ms per
// analysis; this costs a fraction of that. Nothing here retries: client.ts decides, by the error's
// class (classify-llm-error.ts).
import http from 'node:http';
import https from 'node:https';

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

export interface ChatCompletion {
  choices?: Array<{ message?: { content?: string | null } }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

export type ChatCompletionsCall = (body: unknown) => Promise<ChatCompletion>;

/**
 * `timeoutMs` bounds the whole exchange, body included, so a server that stalls mid-answer cannot
 * hold a place (and a lease) for ever. A body that is not JSON rejects with a SyntaxError.
 */
export function createChatCompletions(options: { baseUrl: string; apiKey: string; timeoutMs: number }): ChatCompletionsCall {
  const url = new URL(`${options.baseUrl.replace(/\/+$/, '')}/chat/completions`);
  const secure = url.protocol === 'https:';
  const transport = secure ? https : http;
  // Idle sockets are unref'd by the agent, so they never keep the process alive.
  const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const authorization = `Bearer ${options.apiKey}`;

  return (body) =>
    new Promise<ChatCompletion>((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify(body));
      let settled = false;
      const settle = (error: unknown, answer?: ChatCompletion) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        if (error) reject(error);
        else resolve(answer!);
      };
      const request = transport.request(url, {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'content-length': payload.length,
          authorization,
          'user-agent': 'autofollow',
        },
      });
      const deadline = setTimeout(() => {
        settle(new LlmTimeoutError(options.timeoutMs));
        request.destroy();
      }, options.timeoutMs);
      request.on('error', (error) => settle(new LlmConnectionError(error)));
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (error) => settle(new LlmConnectionError(error)));
        response.on('close', () => {
          if (!response.complete) settle(new LlmConnectionError(new Error('the answer was cut short')));
        });
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          if (status < 200 || status >= 300) return settle(new LlmHttpError(status, response.headers));
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
    });
}
