// The HTTP status of an operation's outcome, one table for the dashboard and the API.
import type { Outcome, RefusalReason } from '../../operations/index.ts';

const REFUSAL_STATUS: Partial<Record<RefusalReason, number>> = {
  forbidden: 403,
  'not-found': 404,
  'bad-input': 400,
  'shutting-down': 503,
  throttled: 429,
  'wrong-credentials': 401,
  'bootstrap-closed': 401,
};

export function statusOf(outcome: Outcome<unknown>): number {
  switch (outcome.status) {
    case 'started':
      return 202;
    case 'done':
      return 200;
    case 'failed':
      return 500;
    case 'refused':
      return REFUSAL_STATUS[outcome.reason] ?? 409;
  }
}
