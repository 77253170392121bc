// One logger for the whole process. Logs go to stderr so that `diagnose --json` keeps stdout for
// JSON; pretty lines on a terminal, JSON lines otherwise. Never log secrets or whole phone numbers.
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, options: { pretty?: boolean; destination?: DestinationStream } = {}): Logger {
  const pretty = options.pretty ?? Boolean(process.stderr.isTTY);
  if (pretty) {
    return pino({
      level,
      // Messages are whole sentences; the fields behind them are for JSON logs.
      transport: { target: 'pino-pretty', options: { destination: 2, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', hideObject: true } },
    });
  }
  return pino(
    {
      level,
      redact: ['accessKeySecret', 'apiKey', 'password', '*.accessKeySecret', '*.apiKey'],
      serializers: { err: serializeError },
      hooks: {
        // A message built from error.message ("… failed: ${error.message}") carries the values too.
        logMethod(args, method) {
          const [first, message] = args as unknown[];
          if (typeof message === 'string' && first && typeof first === 'object' && 'err' in first) {
            (args as unknown[])[1] = withoutQueryValues(message, (first as { err: unknown }).err);
          }
          return method.apply(this, args);
        },
      },
    },
    options.destination ?? pino.destination(2),
  );
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
  return serialized;
}

function withoutQueryValues(text: string, error: unknown): string {
  let cleaned = text;
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    const { query, params } = e as { query?: unknown; params?: unknown };
    if (typeof query === 'string' && Array.isArray(params)) cleaned = cleaned.split(`\nparams: ${String(params)}`).join('\nparams: (not logged)');
  }
  return cleaned;
}

export { maskPhone } from './phone.ts';
