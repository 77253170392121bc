// What every operation answers (STYLE §1): it started work, it did what was asked, or it refused,
// with a reason code and the facts behind it. Callers map these to an HTTP status, an i18n sentence
// or an exit code; none of them re-decides anything.
import type { Role } from '../access/roles.ts';

export type Facts = Record<string, string | number | Date | null>;

export type RefusalReason =
  | 'forbidden' // the actor's role does not allow the command
  | 'not-found' // no such task, lead, account or token
  | 'bad-input' // a value the command cannot take (facts.problem says which)
  | 'busy' // another run holds the task's lease
  | 'paused' // the task is paused
  | 'not-eligible' // the task is at a stage autofollow does not process
  | 'no-job-group' // stage 2/3 but no job group to sync
  | 'shutting-down'
  | 'nothing-to-retry'
  | 'nothing-to-launch' // a stage-1 task without a lead to call
  | 'nothing-to-recall' // no lead of the task has a re-call cause
  | 'analysis-not-failed'
  | 'no-lease'
  | 'lease-changed'
  | 'not-paused'
  | 'already-paused'
  | 'name-taken'
  | 'already-disabled'
  | 'already-revoked'
  | 'throttled'
  | 'not-dead' // a resend of a delivery that is not dead
  | 'wrong-credentials'
  | 'bootstrap-closed'; // DASHBOARD_PASSWORD used while accounts exist

export type Outcome<Data = undefined> =
  | { status: 'started'; result: string; facts: Facts; data?: Data }
  | { status: 'done'; result: string; facts: Facts; data?: Data }
  | { status: 'refused'; reason: RefusalReason; facts: Facts }
  | { status: 'failed'; facts: Facts & { error: string } };

export const started = <D = undefined>(result: string, facts: Facts = {}, data?: D): Outcome<D> => ({ status: 'started', result, facts, ...(data !== undefined ? { data } : {}) });
export const done = <D = undefined>(result: string, facts: Facts = {}, data?: D): Outcome<D> => ({ status: 'done', result, facts, ...(data !== undefined ? { data } : {}) });
export const refused = (reason: RefusalReason, facts: Facts = {}): Outcome<never> => ({ status: 'refused', reason, facts });
export const failed = (error: string, facts: Facts = {}): Outcome<never> => ({ status: 'failed', facts: { ...facts, error } });

/** Who asks: the audit row names them; the role decides what they may do. */
export interface Actor {
  name: string;
  role: Role;
  via: 'dashboard' | 'api' | 'cli';
}

/** One line for the audit log's detail: the result or the reason, then the facts. */
export function describeOutcome(outcome: Outcome<unknown>): string {
  const head = outcome.status === 'refused' ? `refused: ${outcome.reason}` : outcome.status === 'failed' ? 'failed' : outcome.result;
  const facts = Object.entries(outcome.facts)
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([key, value]) => `${key}=${value instanceof Date ? value.toISOString() : String(value)}`);
  return facts.length > 0 ? `${head} (${facts.join(', ')})` : head;
}
