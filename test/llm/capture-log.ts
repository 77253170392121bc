// A real pino logger whose JSON lines are kept in memory, so tests can assert what was logged.
import pino from 'pino';
import type { Logger } from '../../server/log.ts';

export interface CapturedLog {
  log: Logger;
  lines: Array<Record<string, unknown> & { level: number; msg: string }>;
  warnings(): Array<Record<string, unknown> & { msg: string }>;
}

export function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines, warnings: () => lines.filter((line) => line.level === 40) };
}
