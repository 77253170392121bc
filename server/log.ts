// One logger for the whole process. Logs go to stderr so that `diagnose --json` keeps stdout for
// JSON; pretty lines on a terminal, JSON lines otherwise. Both modes share one set of options, so
// what JSON mode keeps out of the log (secrets, query values, whole phone numbers) pretty mode keeps
// out too: the pretty printer only formats lines that were already cleaned.
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import { withoutPhones } from './phone.ts';

export type { Logger };

/** Fields that hold a secret, at whatever depth they appear (`{ request: { headers: { authorization } } }`). */
const SECRET_FIELDS = new Set(['accesskeysecret', 'apikey', 'password', 'authorization', 'token', 'secret', 'cookie', 'set-cookie']);

export function createLogger(level: string, options: { pretty?: boolean; destination?: DestinationStream } = {}): Logger {
  const prettyMode = options.pretty ?? Boolean(process.stderr.isTTY);
  const destination = options.destination ?? (prettyMode ? undefined : pino.destination(2));
  if (prettyMode) {
    // In-process (not a worker transport), so the hooks below run on every line and tests can
    // capture the printed text. Messages are whole sentences; the fields behind them are for JSON.
    const stream = pretty({ destination: destination ?? 2, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', hideObject: true, sync: true });
    return pino(loggerOptions(level), stream);
  }
  return pino(loggerOptions(level), destination);
}

function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    serializers: { err: serializeError },
    // Every field of every line, at any depth: secrets replaced, phones masked (an API's error code
    // or a step's counts may quote a number the request carried).
    formatters: { log: (object) => scrub(object, 0) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        const values = args as unknown[];
        const [first] = values;
        const err = first && typeof first === 'object' && 'err' in first ? (first as { err: unknown }).err : undefined;
        for (let i = 0; i < values.length; i++) {
          // A message built from error.message ("… failed: ${error.message}") carries the values too.
          if (typeof values[i] === 'string') values[i] = withoutPhones(withoutQueryValues(values[i] as string, err));
        }
        return method.apply(this, args);
      },
    },
  };
}

/**
 * drizzle's failed-query error says "Failed query: <sql>\nparams: <values>" and keeps the values in
 * `params`: phone numbers, names and conversations among them. Logs keep the SQL and the driver's
 * own words ("Table … doesn't exist"), never the values.
 */
function serializeError(error: unknown) {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  if (!serialized || typeof serialized !== 'object') return serialized;
  delete serialized.params;
  for (const field of ['message', 'stack'] as const) {
    if (typeof serialized[field] === 'string') serialized[field] = withoutQueryValues(serialized[field], error);
  }
  // pino's serialized error has a prototype of its own, so scrub its fields one by one.
  for (const [key, field] of Object.entries(serialized)) serialized[key] = SECRET_FIELDS.has(key.toLowerCase()) ? '[Redacted]' : scrub(field, 1);
  return serialized;
}

/** Secret fields replaced and phones masked in every string, through plain objects and arrays. */
function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return withoutPhones(value);
  // Errors are left whole for serializeError, which scrubs what it keeps of them.
  if (value === null || typeof value !== 'object' || value instanceof Error || depth > 8) return value;
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value;
  const cleaned: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) cleaned[key] = SECRET_FIELDS.has(key.toLowerCase()) ? '[Redacted]' : scrub(field, depth + 1);
  return cleaned;
}

function withoutQueryValues(text: string, error: unknown): string {
  let cleaned = text;
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    const { query, params } = e as { query?: unknown; params?: unknown };
    if (typeof query === 'string' && Array.isArray(params)) cleaned = cleaned.split(`\nparams: ${String(params)}`).join('\nparams: (not logged)');
  }
  // Whatever else said "params: …" (another driver, a rethrown message) loses its values too.
  return cleaned.replace(/\bparams: (?!\(not logged\)).*/g, 'params: (not logged)');
}

export { maskPhone, withoutPhones } from './phone.ts';
