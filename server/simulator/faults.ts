// Faults the Outbound Bot simulator injects on demand (DESIGN §5), one per request, in the order
// they were asked for. The HTTP server asks takeFault() for each request and applies what it gets.

export type FaultName =
  | 'throttle' // 400 Throttling.User with x-acs-retry-after (milliseconds, as openapi-core reads it)
  | 'server-error' // 503 ServiceUnavailable (500 with code InternalError)
  | 'timeout' // no answer at all, or the real answer after delayMs
  | 'lost-answer' // the action runs (its jobs are created), then no answer at all, or the answer after delayMs
  | 'slow' // the real answer after delayMs
  | 'html-502' // a proxy's HTML error page: the client cannot even read the status
  | 'empty-200' // 200 with an empty body
  | 'malformed-json' // 200 with the real body cut in half
  | 'reset' // the socket is destroyed without an answer
  | 'business-error' // 4xx JSON with Success:false
  | 'business-error-200'; // 200 with Success:false (the real service's style is unconfirmed, reference §5.1)

export const FAULT_NAMES: readonly FaultName[] = [
  'throttle', 'server-error', 'timeout', 'lost-answer', 'slow', 'html-502', 'empty-200', 'malformed-json', 'reset', 'business-error', 'business-error-200',
];

export interface FaultOptions {
  /** Only requests for this action get the fault; others pass untouched. */
  action?: string;
  /** How many matching requests get it (default 1). */
  times?: number;
  /** throttle: the retry-after hint; slow/timeout: how long before answering. */
  delayMs?: number;
  /** Error code for throttle, server-error and the business errors. */
  code?: string;
  /** The business errors' Message (default "Simulated business error <code>."). */
  message?: string;
  /** Let this many matching requests through untouched first (e.g. fail page 2, not page 1). */
  after?: number;
}

export interface Fault {
  name: FaultName;
  delayMs: number | null;
  code: string | null;
  message: string | null;
}

interface QueuedFault extends Fault {
  action: string | null;
  remaining: number;
  passThrough: number;
}

export interface FaultQueue {
  add(name: FaultName, options?: FaultOptions): void;
  /** The fault for this request, if one is queued for its action; consumes one use of it. */
  take(action: string): Fault | null;
  clear(): void;
  readonly pending: number;
}

export function createFaultQueue(): FaultQueue {
  let queue: QueuedFault[] = [];
  return {
    add(name, options = {}) {
      if (!FAULT_NAMES.includes(name)) throw new Error(`Unknown fault "${name}"; use one of ${FAULT_NAMES.join(', ')}`);
      const times = options.times ?? 1;
      if (!(Number.isInteger(times) && times >= 1)) throw new Error(`times must be a whole number of at least 1, got ${times}`);
      queue.push({ name, action: options.action ?? null, remaining: times, passThrough: options.after ?? 0, delayMs: options.delayMs ?? null, code: options.code ?? null, message: options.message ?? null });
    },
    take(action) {
      const fault = queue.find((f) => f.action === null || f.action === action);
      if (!fault) return null;
      if (fault.passThrough > 0) {
        fault.passThrough--;
        return null;
      }
      fault.remaining--;
      if (fault.remaining === 0) queue = queue.filter((f) => f !== fault);
      return { name: fault.name, delayMs: fault.delayMs, code: fault.code, message: fault.message };
    },
    clear() {
      queue = [];
    },
    get pending() {
      return queue.reduce((sum, f) => sum + f.remaining, 0);
    },
  };
}

/** Defaults chosen so that a client with any sane timeout sees the fault. */
export const FAULT_DEFAULTS = {
  throttleRetryAfterMs: 100,
  /** Beyond the HTTP layer's 3 s default timeout, to catch a client that forgot to set its own. */
  slowMs: 4000,
  throttleCode: 'Throttling.User',
  serverErrorCode: 'ServiceUnavailable',
  businessErrorCode: 'JobGroupNotFound',
} as const;

/** 404 for "…NotFound" codes, 400 for the rest: the gateway's usual split (reference §5.2). */
export function httpStatusOfBusinessCode(code: string): number {
  if (/NotFound$/i.test(code)) return 404;
  if (/^Forbidden/.test(code)) return 403;
  return 400;
}

export const HTML_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>Tengine</center>\r\n</body>\r\n</html>\r\n';
