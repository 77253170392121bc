// Errors of one chat.completions attempt, classified at the edge (STYLE §2, DESIGN §3.9):
// timeouts, connection failures, 408/409, throttling (429) and 5xx are worth another attempt;
// bad requests, auth, an answer too large to read and anything we cannot name are not, because
// repeating them gives the same answer.
import type { IncomingHttpHeaders } from 'node:http';
import { LlmAnswerTooLargeError, LlmConnectionError, LlmHttpError, LlmTimeoutError } from './chat-completions.ts';

export interface LlmFailure {
  /** Short, operator-readable, free of secrets: "timeout", "http 500", "invalid response body". */
  reason: string;
  retryable: boolean;
  /** The server's throttling hint (retry-after-ms / retry-after), when it gave one. */
  retryAfterMs?: number;
  /** 429: the account's rate or token quota, not this request, is the problem (adaptive-concurrency.ts). */
  throttled?: boolean;
}

export function classifyLlmError(error: unknown): LlmFailure {
  if (error instanceof LlmTimeoutError) return { reason: 'timeout', retryable: true };
  if (error instanceof LlmConnectionError) return { reason: 'connection error', retryable: true };
  if (error instanceof LlmHttpError) {
    const status = error.status;
    const retryable = status === 408 || status === 409 || status === 429 || status >= 500;
    if (status !== 429) return { reason: `http ${status}`, retryable };
    const retryAfterMs = retryAfterOf(error.headers);
    return retryAfterMs === undefined ? { reason: `http ${status}`, retryable, throttled: true } : { reason: `http ${status}`, retryable, throttled: true, retryAfterMs };
  }
  // A 200 whose body is not JSON (chat-completions.ts lets JSON.parse's SyntaxError through).
  if (error instanceof SyntaxError) return { reason: 'invalid response body', retryable: false };
  // Most likely LLM_BASE_URL points at something that is not a chat.completions server.
  if (error instanceof LlmAnswerTooLargeError) return { reason: 'answer too large', retryable: false };
  return { reason: `unexpected error (${error instanceof Error ? error.name : typeof error})`, retryable: false };
}

function retryAfterOf(headers: IncomingHttpHeaders): number | undefined {
  const ms = Number.parseFloat(String(headers['retry-after-ms'] ?? ''));
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const seconds = headers['retry-after'];
  if (!seconds) return undefined;
  const asNumber = Number.parseFloat(seconds);
  if (Number.isFinite(asNumber) && asNumber >= 0) return asNumber * 1000;
  const at = Date.parse(seconds);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
