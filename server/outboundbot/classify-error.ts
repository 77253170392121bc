// Classifies every failure of an Outbound Bot call at the edge (STYLE §2, DESIGN §3.9): either a
// RetryableError the retry loop may repeat, or a BusinessError it must not. openapi-core throws
// plain-ish errors, so we read `code`, `statusCode` and `name` rather than relying on instanceof
// (reference §6.5, §6.9).
import { BusinessError } from './errors.ts';

/** A transient failure: network, timeout, 5xx, throttling or an unreadable 2xx body. */
export class RetryableError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The server's own "come back later" hint, in ms. */
    readonly retryAfterMs: number | null = null,
    readonly throttled = false,
  ) {
    super(message);
    this.name = 'RetryableError';
  }
}

const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN',
]);

const isThrottling = (code: string | null) => code !== null && code.includes('Throttling');
const isTransientServiceCode = (code: string | null) => code !== null && (code.startsWith('ServiceUnavailable') || code.startsWith('InternalError'));

/**
 * What a thrown error means for the caller: RetryableError, BusinessError, or (for anything we do
 * not recognise, e.g. a bug or a credentials-chain failure) the error itself, never retried.
 */
export function classifyError(error: unknown): unknown {
  if (error instanceof RetryableError || error instanceof BusinessError) return error;
  const e = (error ?? {}) as { name?: unknown; code?: unknown; statusCode?: unknown; message?: unknown; retryAfter?: unknown; requestId?: unknown; data?: unknown };
  const name = typeof e.name === 'string' ? e.name : '';
  const code = meaningful(e.code);
  const status = typeof e.statusCode === 'number' ? e.statusCode : null;
  const message = serviceMessage(e.data) ?? (typeof e.message === 'string' ? e.message : String(error));

  if (isThrottling(code)) {
    // openapi-core's own backoff uses retryAfter as milliseconds; we read it the same way.
    const hint = typeof e.retryAfter === 'number' && e.retryAfter > 0 ? e.retryAfter : null;
    return new RetryableError(code!, message, hint, true);
  }
  if ((status !== null && status >= 500) || isTransientServiceCode(code)) return new RetryableError(code ?? `HTTP${status}`, message);
  if (name === 'RequestTimeoutError') return new RetryableError('Timeout', `no answer in time (${message})`);
  // The HTTP layer says "aborted" with ECONNRESET when the read timeout fires mid-body (§6.6).
  if (code !== null && NETWORK_CODES.has(code)) return new RetryableError(code, message);
  // A non-JSON body (HTML 502 from a proxy, empty or truncated 200): the status is lost with it.
  if (name === 'SyntaxError') return new RetryableError('MalformedResponse', `the answer was not JSON (${message})`);
  if (status !== null && status >= 400) {
    return new BusinessError(code ?? `HTTP${status}`, message, status, meaningful(e.requestId));
  }
  if (name === 'ClientError' && code !== null) return new BusinessError(code, message); // e.g. InvalidCredentials, before any request
  return error;
}

/**
 * The JSON object of a 2xx answer, or a classified error: openapi-core resolves normally on HTTP
 * 200 with Success:false (§6.5), and the business-error style of this API is unconfirmed (§5.1).
 */
export function successBodyOf(statusCode: number, body: unknown, requestIdHeader: string | null): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new RetryableError('MalformedResponse', `the answer was JSON but not an object (HTTP ${statusCode})`);
  }
  const record = body as Record<string, unknown>;
  if (record.Success !== false) return record;
  const code = meaningful(record.Code) ?? 'UnknownError';
  const message = serviceMessage(record) ?? 'the service answered Success:false without a message';
  if (isThrottling(code)) throw new RetryableError(code, message, null, true);
  if (isTransientServiceCode(code)) throw new RetryableError(code, message);
  throw new BusinessError(code, message, statusCode, meaningful(record.RequestId) ?? requestIdHeader);
}

/** openapi-core interpolates missing fields, so "undefined" arrives as a string. */
function meaningful(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed && trimmed !== 'undefined' && trimmed !== 'null' ? trimmed : null;
}

function serviceMessage(data: unknown): string | null {
  const d = data as { Message?: unknown; message?: unknown } | null | undefined;
  return meaningful(d?.Message) ?? meaningful(d?.message);
}
