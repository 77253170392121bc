// What a launch or re-call request may say, checked the same way from the CLI, /api and the
// dashboard's forms (issue 10): script, calling numbers and calling window, with the defaults from
// OUTBOUNDBOT_SCRIPT_ID, OUTBOUNDBOT_CALLING_NUMBERS and OUTBOUNDBOT_WORKING_HOURS; a re-call also
// its causes and lead ids. Bad input is one sentence naming the field, and nothing is sent.
import { callingNumbers, ConfigError, workingHours, type Config } from '../config.ts';
import { parseTaskId } from '../task-id.ts';
import type { GroupSettings } from './launch-job-group.ts';
import { isRecallCause, RECALL_CAUSES, type RecallCause } from './lead-causes.ts';

export const DEFAULT_MAX_ATTEMPTS_PER_DAY = 3;
export const DEFAULT_MIN_ATTEMPT_INTERVAL_MINUTES = 10;

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

type Raw = Record<string, unknown>;

const asList = (value: unknown): unknown[] => (value === undefined || value === null || value === '' ? [] : Array.isArray(value) ? value : [value]);

export function parseLaunchInput(raw: unknown, config: Pick<Config, 'outboundbotScriptId' | 'outboundbotCallingNumbers' | 'outboundbotWorkingHours'>): Parsed<GroupSettings> {
  const body = (raw ?? {}) as Raw;
  if (typeof body !== 'object' || Array.isArray(body)) return { ok: false, error: 'the request must be an object' };
  try {
    const script = body.scriptId;
    if (script !== undefined && script !== null && (typeof script !== 'string' || !/^[\w.-]{0,64}$/.test(script.trim()))) {
      return { ok: false, error: 'scriptId must be a script id (letters, digits, "-", "_" or ".")' };
    }
    const scriptId = typeof script === 'string' && script.trim() !== '' ? script.trim() : config.outboundbotScriptId;
    const numbers = asList(body.callingNumbers);
    if (numbers.some((n) => typeof n !== 'string')) return { ok: false, error: 'callingNumbers must be a list of numbers' };
    const given = callingNumbers('callingNumbers', (numbers as string[]).join(','));
    const hours = typeof body.workingHours === 'string' && body.workingHours.trim() !== '' ? workingHours('workingHours', body.workingHours) : config.outboundbotWorkingHours;
    const maxAttemptsPerDay = wholeNumber(body.maxAttemptsPerDay, 'maxAttemptsPerDay', 1, 10) ?? DEFAULT_MAX_ATTEMPTS_PER_DAY;
    const minAttemptInterval = wholeNumber(body.minAttemptInterval, 'minAttemptInterval', 1, 1440) ?? DEFAULT_MIN_ATTEMPT_INTERVAL_MINUTES;
    return {
      ok: true,
      value: {
        scriptId,
        callingNumbers: given.length > 0 ? given : config.outboundbotCallingNumbers,
        window: { workingTime: hours, maxAttemptsPerDay, minAttemptInterval },
      },
    };
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, error: error.message };
    throw error;
  }
}

export interface RecallInput extends GroupSettings {
  causes: RecallCause[];
  leadIds?: number[];
}

export function parseRecallInput(raw: unknown, config: Parameters<typeof parseLaunchInput>[1]): Parsed<RecallInput> {
  const body = (raw ?? {}) as Raw;
  const settings = parseLaunchInput(body, config);
  if (!settings.ok) return settings;
  const causes = [...asList(body.cause), ...asList(body.causes)];
  const bad = causes.find((c) => !isRecallCause(c));
  if (bad !== undefined) return { ok: false, error: `cause must be one of ${RECALL_CAUSES.join(', ')}, got "${String(bad).slice(0, 40)}"` };
  const leadIds: number[] = [];
  for (const id of asList(body.leadIds)) {
    const parsed = parseTaskId(String(id).trim());
    if (parsed === null) return { ok: false, error: `lead id must be a positive whole number, got "${String(id).slice(0, 40)}"` };
    leadIds.push(parsed);
  }
  return { ok: true, value: { ...settings.value, causes: [...new Set(causes as RecallCause[])], ...(leadIds.length > 0 ? { leadIds: [...new Set(leadIds)] } : {}) } };
}

function wholeNumber(value: unknown, field: string, min: number, max: number): number | null {
  if (value === undefined || value === null || value === '') return null;
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(String(value)) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(field, `must be a whole number from ${min} to ${max}, got "${String(value).slice(0, 20)}"`);
  return n;
}
