// The stuck page /stuck (issue 3, part 3): every task or lead that is not progressing, with its
// cause, since when, what fixes it, a confirmed button that does it (the task actions' route, answered
// with a sentence in a slot beside the button) and a link to the task's affected leads. Polled.
import type { FastifyPluginAsync } from 'fastify';
import type { LeadFilterState } from '../../dashboard/lead-list.ts';
import { findStuckPage, type CauseDetail, type DetailValue, type FixAction, type StuckCause, type StuckCauseKind, type StuckTask } from '../../dashboard/stuck.ts';
import { formatDuration } from '../../format-duration.ts';
import { toCrmDateTime } from '../../crm-time.ts';
import { reasonText } from '../i18n/render-reason.ts';
import type { CloseCause, RecallCause } from '../../pipeline/lead-causes.ts';
import type { DashboardOptions } from '../dashboard.ts';
import { isHtmx } from '../dashboard.ts';
import { httpError, t } from '../http-errors.ts';

/** At most this many stuck tasks are listed, the most urgent; the page says how many there are in all.
 * Polled every few seconds: 200 tasks made 536 KB of HTML at 1,000,000 leads. */
export const STUCK_LISTED = 50;

/** Which leads of the task each cause concerns, as a filter of the task page's leads table. */
const CAUSE_FILTER: Partial<Record<StuckCauseKind, LeadFilterState>> = {
  'analysis-failed': 'analysis-failed',
  'not-in-group': 'not-in-group',
  'never-called': 'not-in-group',
  'no-conversation': 'waiting-conversation',
  'job-cancelled': 'calling',
};

/** The causes a person may close by hand (人工跟进), and the cause they close the leads for. */
const CAUSE_CLOSE: Partial<Record<StuckCauseKind, CloseCause>> = {
  'job-cancelled': 'cancelled',
  'not-in-group': 'not-in-group',
  'never-called': 'not-in-group',
  'no-conversation': 'no-conversation',
};

/** The causes a re-call (重新外呼) gives new jobs to, and the cause it re-calls the leads for. */
const CAUSE_RECALL: Partial<Record<StuckCauseKind, RecallCause>> = {
  'job-cancelled': 'cancelled',
  'not-in-group': 'not-in-group',
  'never-called': 'not-in-group',
};

export interface StuckCauseView extends StuckCause {
  /** The cause's sentences in the reader's language. */
  detailText: string;
  /** The task page, filtered to the leads concerned when a filter shows them. */
  link: string;
  /** The fix as a button posting to /tasks/:id/actions/:action, or null when only a person can fix it. */
  fix: Exclude<FixAction, 'none'> | null;
  /** id of the message slot beside the button */
  slot: string;
  /** 人工跟进 for every lead of this cause in the task, when a person may close them. */
  closeCause: CloseCause | null;
  /** 重新外呼 for every lead of this cause in the task, when a re-call may give them new jobs. */
  recallCause: RecallCause | null;
}

export interface StuckTaskView extends Omit<StuckTask, 'causes'> {
  causes: StuckCauseView[];
}

/** A cause's facts as words: ages in whole units, times in the CRM zone, through the i18n catalogue. */
export function causeRenderer(tr: ReturnType<typeof t>, timeZone: string): (details: CauseDetail[]) => string {
  const value = (v: DetailValue) =>
    typeof v === 'object' ? ('at' in v ? toCrmDateTime(v.at.getTime(), timeZone) : age(v.ageMs)) : v;
  return (details) =>
    details
      .map((d) => ('reason' in d
        ? reasonText({ code: d.reason, count: d.count, leadIds: [] }, tr)
        : tr(`stuck.detail.${d.key}`, Object.fromEntries(Object.entries(d.vars).map(([k, v]) => [k, value(v)])))))
      .join(' ');
}

/** An age in whole units: "45 s", "1 min 30 s", "2 h 5 min" (formatDuration from a minute up). */
export function age(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return seconds < 60 ? `${seconds} s` : formatDuration(seconds * 1000);
}

export function stuckView(tasks: StuckTask[], render: (details: CauseDetail[]) => string): StuckTaskView[] {
  return tasks.map((task) => ({
    ...task,
    causes: task.causes.map((cause) => {
      const filter = CAUSE_FILTER[cause.kind];
      return {
        ...cause,
        detailText: render(cause.details),
        link: filter ? `/tasks/${task.id}?state=${filter}` : `/tasks/${task.id}`,
        fix: cause.action === 'none' ? null : cause.action,
        slot: `stuck-msg-${task.id}-${cause.kind}`,
        closeCause: CAUSE_CLOSE[cause.kind] ?? null,
        recallCause: CAUSE_RECALL[cause.kind] ?? null,
      };
    }),
  }));
}

export const stuckRoutes: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  app.get<{ Querystring: Record<string, unknown> }>('/stuck', async (request, reply) => {
    const { fragment } = request.query;
    if (fragment !== undefined && fragment !== 'list') throw httpError(400, t(reply)('task.err.badFragment', { fragment: String(fragment) }));
    reply.header('Vary', 'HX-Request');
    const stuck = await findStuckPage(options.reads.db, {
      stuckAfterSeconds: options.config.stuckAfterSeconds,
      leaseSeconds: options.config.leaseSeconds,
      limit: STUCK_LISTED,
      timeZone: options.config.timeZone,
    });
    const data = { tasks: stuckView(stuck.tasks, causeRenderer(t(reply), options.config.timeZone)), total: stuck.total, stuckAfterSeconds: options.config.stuckAfterSeconds };
    if (fragment === 'list' && isHtmx(request)) return reply.view('partials/stuck-list', data);
    return reply.view('pages/stuck', data);
  });
};
