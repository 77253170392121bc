// One logger for the whole process. Logs go to stderr so that `diagnose --json` keeps stdout for
// JSON; pretty lines on a terminal, JSON lines otherwise. Never log secrets or whole phone numbers.
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, options: { pretty?: boolean } = {}): Logger {
  const pretty = options.pretty ?? Boolean(process.stderr.isTTY);
  if (pretty) {
    return pino({
      level,
      // Messages are whole sentences; the fields behind them are for JSON logs.
      transport: { target: 'pino-pretty', options: { destination: 2, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', hideObject: true } },
    });
  }
  return pino({ level, redact: ['accessKeySecret', 'apiKey', 'password', '*.accessKeySecret', '*.apiKey'] }, pino.destination(2));
}

export { maskPhone } from './phone.ts';
