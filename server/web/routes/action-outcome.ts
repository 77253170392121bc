// How the dashboard answers an operation's outcome: one sentence (an i18n key with its values, in
// the operator's language) and the HTTP status that goes with it. The operation has already decided
// and audited; nothing here re-decides.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Outcome } from '../../operations/index.ts';
import { stageName } from '../../pipeline/task-stages.ts';
import { isHtmx } from '../dashboard.ts';
import { statusOf } from './outcome-status.ts';

export interface ActionMessage {
  outcome: 'ok' | 'refused' | 'failed';
  key: string;
  vars: Record<string, string | number>;
  status: number;
}

export type MessageScope = 'task' | 'scheduler' | 'notify' | 'launch' | 'recall';

/** Which sentence says each result or refusal; `scheduler` reads some reasons differently. */
const KEYS: Record<MessageScope, Record<string, string>> = {
  task: {
    'process-started': 'msg.started.process',
    'resync-started': 'msg.started.resync',
    'retry-started': 'msg.started.retry',
    'lease-broken': 'msg.leaseBroken',
    paused: 'msg.paused',
    'paused-while-running': 'msg.pausedWhileRunning',
    resumed: 'msg.resumed',
    'refused:busy': 'msg.busy',
    'refused:paused': 'msg.pausedRefused',
    'refused:no-job-group': 'msg.noJobGroup',
    'refused:not-eligible': 'msg.notEligible',
    'refused:nothing-to-retry': 'msg.nothingToRetry',
    'refused:no-lease': 'msg.noLease',
    'refused:lease-changed': 'msg.leaseChanged',
    'refused:not-paused': 'msg.notPaused',
    'refused:already-paused': 'msg.alreadyPaused',
  },
  // 开始外呼 / 重新外呼 (issue 10): a stage that does not fit is a different sentence for each.
  launch: {
    'launch-started': 'launch.msg.started',
    launched: 'launch.msg.launched',
    'refused:not-eligible': 'launch.msg.notEligible',
    'refused:nothing-to-launch': 'launch.msg.nothing',
    'refused:bad-input': 'launch.msg.badInput',
    'refused:busy': 'msg.busy',
    'refused:paused': 'msg.pausedRefused',
  },
  recall: {
    'recall-started': 'recall.msg.started',
    recalled: 'recall.msg.recalled',
    'refused:not-eligible': 'recall.msg.notEligible',
    'refused:nothing-to-recall': 'recall.msg.nothing',
    'refused:bad-input': 'launch.msg.badInput',
    'refused:busy': 'msg.busy',
    'refused:paused': 'msg.pausedRefused',
  },
  notify: {
    'delivery-resent': 'notify.msg.resent',
    'refused:not-dead': 'notify.msg.notDead',
    'refused:not-found': 'notify.msg.notFound',
  },
  scheduler: {
    'scheduler-paused': 'msg.schedPaused',
    'scheduler-resumed': 'msg.schedResumed',
    'pass-started': 'msg.passStarted',
    'refused:already-paused': 'msg.schedAlreadyPaused',
    'refused:not-paused': 'msg.schedNotPaused',
  },
};
const COMMON: Record<string, string> = {
  'refused:shutting-down': 'msg.shuttingDown',
  'refused:forbidden': 'error.forbidden',
  'refused:not-found': 'task.err.notFound',
};

export function messageOf(outcome: Outcome<unknown>, scope: MessageScope, time: (at: Date) => string): ActionMessage {
  if (outcome.status === 'failed') return { outcome: 'failed', key: 'msg.failed', vars: { error: outcome.facts.error }, status: 500 };
  const code = outcome.status === 'refused' ? `refused:${outcome.reason}` : outcome.result;
  const vars: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(outcome.facts)) vars[name] = value instanceof Date ? time(value) : (value ?? '?');
  if (name(outcome) === 'not-eligible' && typeof outcome.facts.stage === 'number') vars.stage = stageName(outcome.facts.stage);
  const key = KEYS[scope][code] ?? COMMON[code] ?? code;
  return outcome.status === 'refused' ? { outcome: 'refused', key, vars, status: statusOf(outcome) } : { outcome: 'ok', key, vars, status: 200 };
}

function name(outcome: Outcome<unknown>): string | null {
  return outcome.status === 'refused' ? outcome.reason : null;
}

/**
 * htmx gets the fragment (with the sentence in it); a plain form post, without JavaScript, gets a
 * small page with the sentence and a way back.
 */
export function answerAction(
  request: FastifyRequest,
  reply: FastifyReply,
  message: ActionMessage,
  fragment: { template: string; data: Record<string, unknown> },
  back: string,
) {
  reply.code(message.status).header('Cache-Control', 'no-store').header('Vary', 'HX-Request');
  if (isHtmx(request)) return reply.view(fragment.template, { ...fragment.data, message });
  return reply.view('pages/action-result', { message, back });
}
