// View-models of the task page: what the templates show, computed once here so the page and each
// polled fragment (diagnosis, leads, runs) render the same thing (STYLE §4). Phones leave this module
// masked; only an explicit reveal (lead-actions.ts) passes one number through in full.
import type { LeadFilterState, LeadListRow, LeadState } from '../../dashboard/lead-list.ts';
import { maskPhone } from '../../phone.ts';
import type { Diagnosis, LeadReason, ReasonCode } from '../../pipeline/diagnose.ts';
import type { CloseCause, RecallCause } from '../../pipeline/lead-causes.ts';
import type { StepError, StepReport } from '../../pipeline/step-report.ts';
import type { lastRuns } from '../../pipeline/task-runs.ts';
import type { Translate } from '../i18n/index.ts';
import { reasonText, type FormatTime } from '../i18n/render-reason.ts';

export interface UtteranceView {
  /** robot | customer | other: the bubble's side and colour */
  kind: 'robot' | 'customer' | 'other';
  /** The API's speaker name, shown when it is neither the robot nor the customer. */
  speaker: string;
  text: string;
  at: string | null;
}

export interface LeadView {
  id: number;
  leadsId: number;
  name: string | null;
  /** Masked (138****1234) unless `phoneRevealed`. */
  phone: string;
  phoneRevealed: boolean;
  callJobId: string | null;
  callStatus: string | null;
  lastJobStatus: string | null;
  jobFailureReason: string | null;
  conversation: UtteranceView[] | null;
  follow: LeadListRow['follow'];
  interest: number | null;
  state: LeadState;
  analysisFailed: boolean;
  analysisError: string | null;
  notInGroupSince: Date | null;
  apiError: LeadListRow['apiError'];
  cancelled: boolean;
  closeCause: LeadListRow['closeCause'];
  recallCause: LeadListRow['recallCause'];
  closedBy: string | null;
}

const SPEAKER_KINDS: Record<string, UtteranceView['kind']> = { robot: 'robot', contact: 'customer', customer: 'customer' };

export function leadView(row: LeadListRow, options: { revealPhone?: boolean } = {}): LeadView {
  const revealed = options.revealPhone === true;
  return {
    id: row.id,
    leadsId: row.leadsId,
    name: row.name,
    phone: revealed ? row.phone : maskPhone(row.phone),
    phoneRevealed: revealed,
    callJobId: row.callJobId,
    callStatus: row.callStatus,
    lastJobStatus: row.lastJobStatus,
    jobFailureReason: row.jobFailureReason,
    conversation: row.conversation?.map((u) => ({ kind: SPEAKER_KINDS[u.speaker.trim().toLowerCase()] ?? 'other', speaker: u.speaker, text: u.text, at: u.at })) ?? null,
    follow: row.follow,
    interest: row.isInterested,
    state: row.state,
    analysisFailed: row.analysisStatus === 'failed',
    analysisError: row.analysisError,
    notInGroupSince: row.notInGroupSince,
    apiError: row.apiError,
    // A cancelled job never reaches a final status: only a person in Outbound Bot can start it again.
    cancelled: row.lastJobStatus === 'Cancelled' && row.callStatus !== 'Succeeded' && row.callStatus !== 'Failed',
    closeCause: row.closeCause,
    recallCause: row.recallCause,
    closedBy: row.closedBy,
  };
}

/** The diagnose reasons each lead filter shows on the leads table, for the "show" links. */
const REASON_FILTER: Partial<Record<LeadReason, LeadFilterState>> = {
  'not-synced': 'not-synced',
  'not-in-job-group': 'not-in-group',
  'still-calling': 'calling',
  'job-cancelled': 'calling',
  'waiting-for-conversation': 'waiting-conversation',
  'no-conversation': 'waiting-conversation',
  'analysis-failed': 'analysis-failed',
  'handled-outside': 'handled-outside',
};

/** The diagnose reasons a person may close by hand (人工跟进), and the cause they close them for. */
const REASON_CLOSE_CAUSE: Partial<Record<LeadReason, CloseCause>> = {
  'job-cancelled': 'cancelled',
  'not-in-job-group': 'not-in-group',
  'no-conversation': 'no-conversation',
};

/** The diagnose reasons a re-call (重新外呼) gives new jobs to, and the cause it re-calls them for. */
const REASON_RECALL_CAUSE: Partial<Record<LeadReason, RecallCause>> = {
  'job-cancelled': 'cancelled',
  'not-in-job-group': 'not-in-group',
};

export interface DiagnosisView {
  eligible: boolean;
  /** diagnose's reasons, each its code and its sentence in the page's language. */
  reasons: Array<{ code: ReasonCode; text: string }>;
  funnel: Array<{ key: string; n: number; pct: number }>;
  succeeded: number;
  failed: number;
  leadReasons: Array<{ reason: LeadReason; n: number; filter: LeadFilterState | null; closeCause: CloseCause | null; recallCause: RecallCause | null }>;
}

/** diagnoseTask's output for people: the funnel total -> called -> final -> conversation -> followed -> interested, from one read. */
export function diagnosisView(diagnosis: Diagnosis, words: { t: Translate; time: FormatTime }): DiagnosisView {
  const s = diagnosis.stats;
  const steps: Array<[string, number]> = [
    ['total', s.total], ['called', s.called], ['withStatus', s.withStatus], ['withConversation', s.withConversation],
    ['withFollow', s.withFollow], ['interested', diagnosis.progress.interested],
  ];
  return {
    eligible: diagnosis.eligible,
    reasons: diagnosis.reasonCodes.map((reason) => ({ code: reason.code, text: reasonText(reason, words.t, words.time) })),
    funnel: steps.map(([key, n]) => ({ key, n, pct: percent(n, s.total) })),
    succeeded: s.succeeded,
    failed: s.failed,
    leadReasons: (Object.entries(diagnosis.leadReasons) as Array<[LeadReason, number]>)
      .filter(([, n]) => n > 0)
      .map(([reason, n]) => ({ reason, n, filter: REASON_FILTER[reason] ?? null, closeCause: REASON_CLOSE_CAUSE[reason] ?? null, recallCause: REASON_RECALL_CAUSE[reason] ?? null })),
  };
}

/** 0..100 in whole steps, for the .w0..w100 width classes; a non-zero count never shows as an empty bar. */
export function percent(n: number, total: number): number {
  if (total <= 0 || n <= 0) return 0;
  return Math.min(100, Math.max(1, Math.round((n * 100) / total)));
}

export interface StepView {
  step: string;
  durationMs: number;
  counts: Array<[string, number]>;
  errors: StepError[];
  incomplete: boolean;
}

export interface RunView {
  id: number;
  trigger: string;
  owner: string;
  startedAt: Date;
  durationMs: number | null;
  outcome: string;
  stageBefore: number;
  stageAfter: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  steps: StepView[];
}

type RunRow = Awaited<ReturnType<typeof lastRuns>>[number];

export function runView(run: RunRow): RunView {
  return {
    id: run.id,
    trigger: run.trigger,
    owner: run.owner,
    startedAt: run.startedAt,
    durationMs: run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : null,
    outcome: run.outcome,
    stageBefore: run.stageBefore,
    stageAfter: run.stageAfter,
    errorCode: run.errorCode,
    errorMessage: run.errorMessage,
    steps: parseSteps(run.steps).map((s) => ({
      step: s.step,
      durationMs: s.durationMs,
      counts: Object.entries(s.counts ?? {}),
      errors: s.errors ?? [],
      incomplete: s.incomplete === true,
    })),
  };
}

/** A run row written by an older version (or cut short) must not break the page. */
function parseSteps(text: string | null): StepReport[] {
  if (!text) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? (parsed.filter((s) => s && typeof s === 'object' && typeof s.step === 'string') as StepReport[]) : [];
  } catch {
    return [];
  }
}
