// /stuck: the tasks that need a person, each cause with the action that fixes it, most urgent first.
// The reads are in stuck-queries.ts; whether a run moved its task is the run history's rule
// (pipeline/task-runs.ts runMoved). A cause carries its facts, never a sentence: the page renders
// each from the i18n catalogue in the reader's language, a lead-level cause from the diagnose reason
// code it is (web/i18n/reasons.ts, as on the task page), the others from `stuck.detail.*` (web/i18n/stuck.ts).
//
// "No progress" (stage 2 or 3, not paused): nothing moved for STUCK_AFTER. Something moved when a
// run of the task moved it (runMoved), or the task row itself was created or changed
// (call_tasks.created_time / updated_time). This replaces the newest leads_task_list.updated_time
// and af_lead_states.analysed_at of the task's leads (no index answers those without reading every
// lead). What it no longer sees: a person editing leads in the CRM. The runs since STUCK_AFTER are
// read whole (a few dozen per task); only for a task none of them moved is the time it last moved
// looked up, in its last LOOKBACK_RUNS runs before that. When none of those moved either, the time
// given is a bound ("for at least"): the oldest of them.
import { inArray } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { callTasks as task } from '../db/schema/crm.ts';
import { fromCrmDateTime, toCrmDateTime } from '../crm-time.ts';
import type { LeadReason } from '../read-model/lead-reasons.ts';
import { readLastMoves, readLatestRunsByTask, readTasksMovedSince, type RunFacts } from '../pipeline/task-runs.ts';
import { STAGE } from '../pipeline/task-stages.ts';
import {
  databaseNow, readAnalysisFailures, readApiErrors, readCancelledJobs, readExistingTaskIds, readHeldLeases, readLeadsNotInGroup, readPauses,
  readStuckWithoutConversation, type ApiErrorLeads, type HeldLease, type Pauses, type WaitingLeads,
} from './stuck-queries.ts';

export type StuckCauseKind = 'lease-expired' | 'lease-held-long' | 'no-progress' | 'api-errors' | 'no-conversation' | 'analysis-failed' | 'not-in-group' | 'never-called' | 'job-cancelled';
export type FixAction = 'break-lease' | 'process' | 'resync' | 'retry-analysis' | 'none';

/** A fact in a cause's sentence: text or a count as is, a time or an age formatted for the reader. */
export type DetailValue = string | number | { at: Date } | { ageMs: number };

/**
 * One sentence of a cause: an i18n key (`stuck.detail.*`) and its variables, or the diagnose reason
 * the cause's leads are under, with their count (the same code, the same sentence as the task page).
 */
export type CauseDetail = { key: StuckDetailKey; vars: Record<string, DetailValue> } | { reason: LeadReason; count: number };

export type StuckDetailKey =
  | 'lease-expired' | 'lease-expired-unknown' | 'lease-held-long' | 'no-progress' | 'no-progress-bound' | 'no-progress-never'
  | 'api-errors-runs' | 'api-errors-leads' | 'api-errors-last' | 'no-conversation' | 'no-conversation-oldest' | 'never-called';

export interface StuckCause {
  kind: StuckCauseKind;
  /** leads concerned, or null for task-level causes */
  count: number | null;
  since: Date | null;
  /** What the page says about it, sentence by sentence (rendered in the reader's language). */
  details: CauseDetail[];
  action: FixAction;
  /** lease causes: the owner the fix (break-lease) is meant for */
  leaseOwner?: string;
}

export interface StuckTask {
  id: number;
  name: string;
  stage: number;
  paused: { pausedAt: Date; pausedBy: string } | null;
  causes: StuckCause[];
}

export interface StuckOptions {
  stuckAfterSeconds: number;
  leaseSeconds: number;
  limit: number;
  /** The CRM zone of leads_task_list.updated_time (config.timeZone). */
  timeZone?: string;
}

/** The most urgent `limit` stuck tasks, and how many there are in all. */
export interface StuckPage {
  tasks: StuckTask[];
  total: number;
}

/** A lease held longer than this many lease lengths belongs to a run that does not end. */
export const LEASE_HELD_LONG_FACTOR = 3;
/** This many runs in a row ending partial or failed are "repeated API errors". */
export const FAILING_RUNS = 3;
/** How far back (in runs before STUCK_AFTER) the time a task last moved is looked up. */
export const LOOKBACK_RUNS = 50;

/** Causes in the order a person should look at them; tasks sort by their first cause, then newest. */
const CAUSE_ORDER: StuckCauseKind[] = ['lease-expired', 'lease-held-long', 'no-progress', 'api-errors', 'job-cancelled', 'no-conversation', 'not-in-group', 'never-called', 'analysis-failed'];

interface TaskHead {
  id: number;
  name: string;
  stage: number;
  updatedTime: string | null;
  createdTime: string | null;
}

const detail = (key: StuckDetailKey, vars: Record<string, DetailValue> = {}): CauseDetail => ({ key, vars });

/** The stuck tasks, most urgent first, at most options.limit of them. */
export async function findStuck(db: Db, options: StuckOptions): Promise<StuckTask[]> {
  return (await findStuckPage(db, options)).tasks;
}

export async function findStuckPage(db: Db, options: StuckOptions): Promise<StuckPage> {
  const timeZone = options.timeZone ?? 'Asia/Shanghai';
  const now = await databaseNow(db);
  const stuckBefore = new Date(now.getTime() - options.stuckAfterSeconds * 1000);

  // Side by side; the reads of the stage-2/3 tasks wait only for their list, not for the others.
  const [{ active, pauses, noConversation, apiErrors, runs, idle }, leases, analysis, missing, cancelled] = await Promise.all([
    readActiveTaskFacts(db, stuckBefore, timeZone),
    readHeldLeases(db),
    readAnalysisFailures(db),
    readLeadsNotInGroup(db),
    readCancelledJobs(db),
  ]);

  const causes = new Map<number, StuckCause[]>();
  const add = (taskId: number, cause: StuckCause | null) => {
    if (cause) causes.set(taskId, [...(causes.get(taskId) ?? []), cause]);
  };
  for (const lease of leases) add(lease.taskId, leaseCause(lease, now, options.leaseSeconds));
  for (const [taskId, last] of idle) add(taskId, noProgressCause(last, now));
  for (const t of active) add(t.id, apiErrorsCause(apiErrors.get(t.id), runs.get(t.id) ?? []));
  for (const [taskId, count] of cancelled) {
    add(taskId, { kind: 'job-cancelled', count, since: null, action: 'none', details: [{ reason: 'job-cancelled', count }] });
  }
  for (const [taskId, waiting] of noConversation) add(taskId, noConversationCause(waiting, options.stuckAfterSeconds, timeZone));
  // A task moves on without leads its job group lacks (DESIGN §3.6), but those leads were never
  // called: while it is at stage 2-3 a re-sync finds them once assigned; a finished task is no longer
  // processed, so they stay here as never called, for a person to call or to put in a new task.
  const processed = new Set(active.map((t) => t.id));
  for (const m of missing) {
    add(m.taskId, processed.has(m.taskId)
      ? { kind: 'not-in-group', count: m.count, since: m.since, action: 'resync', details: [{ reason: 'not-in-job-group', count: m.count }] }
      : { kind: 'never-called', count: m.count, since: m.since, action: 'none', details: [detail('never-called', { n: m.count })] });
  }
  for (const failure of analysis) {
    add(failure.taskId, {
      kind: 'analysis-failed', count: failure.count, since: failure.since, action: 'retry-analysis',
      details: [{ reason: 'analysis-failed', count: failure.count }],
    });
  }
  return assemble(db, causes, active, pauses, options.limit);
}

/** What the progress causes need of the stage-2/3 tasks: their leads, runs and pauses. */
async function readActiveTaskFacts(db: Db, stuckBefore: Date, timeZone: string) {
  const [active, pauses] = await Promise.all([
    db.select(headColumns).from(task).where(inArray(task.taskType, [STAGE.calling, STAGE.callsDone])),
    readPauses(db),
  ]);
  const activeIds = active.map((t) => t.id);
  const [noConversation, apiErrors, runs, movedRecently] = await Promise.all([
    readStuckWithoutConversation(db, activeIds, toCrmDateTime(stuckBefore.getTime(), timeZone)),
    readApiErrors(db, activeIds),
    readLatestRunsByTask(db, activeIds, FAILING_RUNS),
    readTasksMovedSince(db, activeIds, stuckBefore),
  ]);
  const idle = await readIdleTasks(db, active, { pauses, movedRecently, stuckBefore, timeZone });
  return { active, pauses, noConversation, apiErrors, runs, idle };
}

const headColumns = { id: task.id, name: task.taskName, stage: task.taskType, updatedTime: task.updatedTime, createdTime: task.createdTime };

function leaseCause(lease: HeldLease, now: Date, leaseSeconds: number): StuckCause | null {
  if (lease.expired) {
    return {
      kind: 'lease-expired', count: null, since: lease.expiresAt, action: 'break-lease', leaseOwner: lease.owner,
      details: [lease.expiresAt
        ? detail('lease-expired', { owner: lease.owner, ago: { ageMs: now.getTime() - lease.expiresAt.getTime() } })
        : detail('lease-expired-unknown', { owner: lease.owner })],
    };
  }
  if (lease.heldSeconds > LEASE_HELD_LONG_FACTOR * leaseSeconds) {
    return {
      kind: 'lease-held-long', count: null, since: lease.acquiredAt, action: 'break-lease', leaseOwner: lease.owner,
      details: [detail('lease-held-long', { owner: lease.owner, held: { ageMs: lease.heldSeconds * 1000 }, factor: LEASE_HELD_LONG_FACTOR, leaseSeconds })],
    };
  }
  return null;
}

function noConversationCause(waiting: WaitingLeads, stuckAfterSeconds: number, timeZone: string): StuckCause {
  return {
    kind: 'no-conversation', count: waiting.count, action: 'process',
    since: crmDate(waiting.oldest, timeZone),
    details: [
      detail('no-conversation', { n: waiting.count, after: stuckAfterSeconds }),
      ...(waiting.oldest ? [detail('no-conversation-oldest', { oldest: waiting.oldest })] : []),
    ],
  };
}

function apiErrorsCause(leads: ApiErrorLeads | undefined, runs: RunFacts[]): StuckCause | null {
  const failing = runs.length >= FAILING_RUNS && runs.every((r) => r.outcome === 'partial' || r.outcome === 'failed');
  if (!failing && !leads) return null;
  const lastError = runs.find((r) => r.errorCode)?.errorCode ?? leads?.lastCode;
  return {
    kind: 'api-errors', count: leads?.count ?? null, action: 'process',
    since: leads?.since ?? (failing ? runs[FAILING_RUNS - 1]!.startedAt : null),
    details: [
      ...(failing ? [detail('api-errors-runs', { runs: FAILING_RUNS, outcomes: runs.map((r) => r.outcome).join(', ') })] : []),
      ...(leads ? [detail('api-errors-leads', { n: leads.count })] : []),
      ...(lastError ? [detail('api-errors-last', { code: lastError })] : []),
    ],
  };
}

interface LastMove {
  /** When the task last moved, or null when it never did. */
  at: Date | null;
  /** true: it did not move in its last LOOKBACK_RUNS runs, `at` is the oldest of them (it moved before). */
  bound: boolean;
}

/**
 * The stage-2/3 tasks, not paused, that did not move since STUCK_AFTER (see the file header), with
 * when they last moved. Only those whose own row and recent runs show no move are looked up further.
 */
async function readIdleTasks(
  db: Db,
  active: TaskHead[],
  context: { pauses: Pauses; movedRecently: Set<number>; stuckBefore: Date; timeZone: string },
): Promise<Map<number, LastMove>> {
  const { pauses, movedRecently, stuckBefore, timeZone } = context;
  const rowChanged = new Map(active.map((t) => [t.id, latest([crmDate(t.updatedTime, timeZone), crmDate(t.createdTime, timeZone)])]));
  const candidates = active.filter((t) => {
    if (pauses.has(t.id)) return false;
    const changed = rowChanged.get(t.id);
    if (changed && changed.getTime() >= stuckBefore.getTime()) return false;
    return !movedRecently.has(t.id);
  });
  const earlier = await readLastMoves(db, candidates.map((t) => t.id), LOOKBACK_RUNS, stuckBefore);
  const idle = new Map<number, LastMove>();
  for (const t of candidates) {
    const runs = earlier.get(t.id);
    const changed = rowChanged.get(t.id) ?? null;
    if (!runs || runs.movedAt || runs.runs < LOOKBACK_RUNS) {
      idle.set(t.id, { at: latest([runs?.movedAt ?? null, changed]), bound: false });
    } else {
      // The row changed after the oldest run read: that is exact; otherwise it moved before that run.
      idle.set(t.id, changed && changed.getTime() >= runs.oldestAt.getTime() ? { at: changed, bound: false } : { at: runs.oldestAt, bound: true });
    }
  }
  return idle;
}

function noProgressCause(last: LastMove, now: Date): StuckCause {
  let line: CauseDetail;
  if (!last.at) line = detail('no-progress-never');
  else if (last.bound) line = detail('no-progress-bound', { ago: { ageMs: now.getTime() - last.at.getTime() }, runs: LOOKBACK_RUNS, since: { at: last.at } });
  else line = detail('no-progress', { ago: { ageMs: now.getTime() - last.at.getTime() }, since: { at: last.at } });
  return { kind: 'no-progress', count: null, since: last.at, action: 'process', details: [line] };
}

async function assemble(db: Db, causes: Map<number, StuckCause[]>, known: TaskHead[], pauses: Pauses, limit: number): Promise<StuckPage> {
  const heads = new Map(known.map((t) => [t.id, t]));
  const byOrder = (a: StuckCause, b: StuckCause) => CAUSE_ORDER.indexOf(a.kind) - CAUSE_ORDER.indexOf(b.kind);
  const ranked = [...causes.entries()]
    .map(([id, list]) => ({ id, causes: [...list].sort(byOrder) }))
    .sort((a, b) => CAUSE_ORDER.indexOf(a.causes[0]!.kind) - CAUSE_ORDER.indexOf(b.causes[0]!.kind) || b.id - a.id);
  // The other tasks (a thousand finished ones with never-called leads at 1,000,000 leads): whether
  // they still exist is read for all of them, for the total (a lease or lead state can outlive its
  // task); their heads only for those listed.
  const others = ranked.filter((r) => !heads.has(r.id)).map((r) => r.id);
  const existing = await readExistingTaskIds(db, others);
  const shown = ranked.filter((r) => heads.has(r.id) || existing.has(r.id));
  const listed = shown.slice(0, Math.max(0, limit));
  const unread = listed.filter((r) => !heads.has(r.id)).map((r) => r.id);
  if (unread.length > 0) for (const t of await db.select(headColumns).from(task).where(inArray(task.id, unread))) heads.set(t.id, t);
  const tasks = listed
    .filter((r) => heads.has(r.id)) // deleted since it was counted
    .map(({ id, causes: list }) => {
      const head = heads.get(id)!;
      return { id, name: head.name, stage: head.stage, paused: pauses.get(id) ?? null, causes: list };
    });
  return { tasks, total: shown.length };
}

function latest(dates: Array<Date | null>): Date | null {
  const times = dates.filter((d): d is Date => d !== null).map((d) => d.getTime());
  return times.length === 0 ? null : new Date(Math.max(...times));
}

function crmDate(text: string | null, timeZone: string): Date | null {
  const ms = text ? fromCrmDateTime(text, timeZone) : null;
  return ms === null ? null : new Date(ms);
}
