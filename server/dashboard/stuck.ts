// /stuck: the tasks that need a person, each cause with the action that fixes it. Ages are measured
// against the database's clock (UTC_TIMESTAMP), like leases. Bounded: leases and analysis failures
// are read through small tables or an index; the lead-level causes are read for tasks at stage 2-3
// only (a few percent of tasks), in one grouped statement over their ids.
//
// "No progress" (stage 2 or 3, not paused): for STUCK_AFTER nothing moved, i.e. all of these are
// older than STUCK_AFTER (or absent): the newest leads_task_list.updated_time of the task's leads
// (the pipeline stamps it when it syncs a job id or stores a call result), the newest
// af_lead_states.analysed_at (a follow record analysed), the task row's own updated_time (e.g. its
// stage change) and the start of its newest run that ended 'ok'. A task whose runs keep succeeding
// while Outbound Bot is still calling is waiting, not stuck; one whose runs fail or never happen is.
import { and, eq, inArray, isNotNull, isNull, max, min, or, sql } from 'drizzle-orm';
import type mysql from 'mysql2/promise';
import type { Db } from '../db/client.ts';
import { leadStates, taskLeases, taskPauses, taskRuns } from '../db/schema/app.ts';
import { callTasks as task, leadsTaskList as lead } from '../db/schema/crm.ts';
import { fromCrmDateTime, toCrmDateTime } from '../pipeline/crm-time.ts';
import { countIf, isUnfollowed, waitsForConversation } from '../pipeline/lead-conditions.ts';
import { STAGE } from '../pipeline/task-stages.ts';
import { LEAD_FILTER_CONDITIONS, leadStatesJoin } from './lead-states.ts';
import { readLatestRunsByTask, utcDate, type RunFacts } from './task-batches.ts';

export type StuckCauseKind = 'lease-expired' | 'lease-held-long' | 'no-progress' | 'api-errors' | 'no-conversation' | 'analysis-failed' | 'not-in-group' | 'job-cancelled';
export type FixAction = 'break-lease' | 'process' | 'resync' | 'retry-analysis' | 'none';

export interface StuckCause {
  kind: StuckCauseKind;
  /** leads concerned, or null for task-level causes */
  count: number | null;
  since: Date | null;
  /** English, one sentence, for people */
  detail: string;
  action: FixAction;
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

/** A lease held longer than this many lease lengths belongs to a run that does not end. */
export const LEASE_HELD_LONG_FACTOR = 3;
/** This many runs in a row ending partial or failed are "repeated API errors". */
export const FAILING_RUNS = 3;

/** Causes in the order a person should look at them; tasks sort by their first cause, then newest. */
const CAUSE_ORDER: StuckCauseKind[] = ['lease-expired', 'lease-held-long', 'no-progress', 'api-errors', 'job-cancelled', 'no-conversation', 'not-in-group', 'analysis-failed'];

interface TaskHead {
  id: number;
  name: string;
  stage: number;
  updatedTime: string | null;
  createdTime: string | null;
}

export async function findStuck(db: Db, options: StuckOptions): Promise<StuckTask[]> {
  const timeZone = options.timeZone ?? 'Asia/Shanghai';
  const now = await databaseNow(db);
  const stuckBefore = new Date(now.getTime() - options.stuckAfterSeconds * 1000);
  const stuckBeforeCrm = toCrmDateTime(stuckBefore.getTime(), timeZone);

  const [active, leases, analysis, missing] = await Promise.all([
    db.select(headColumns).from(task).where(inArray(task.taskType, [STAGE.calling, STAGE.callsDone])),
    readHeldLeases(db),
    readAnalysisFailures(db),
    readLeadsNotInGroup(db),
  ]);
  const activeIds = active.map((t) => t.id);
  const [leadFacts, runs, lastOk, pauses] = await Promise.all([
    readActiveLeadFacts(db, activeIds, stuckBeforeCrm),
    readLatestRunsByTask(db, activeIds, FAILING_RUNS),
    readLastOkRun(db, activeIds),
    readPauses(db),
  ]);

  const causes = new Map<number, StuckCause[]>();
  const add = (taskId: number, cause: StuckCause) => causes.set(taskId, [...(causes.get(taskId) ?? []), cause]);
  for (const lease of leases) {
    const cause = leaseCause(lease, now, options.leaseSeconds);
    if (cause) add(lease.taskId, cause);
  }
  for (const t of active) {
    const facts = leadFacts.get(t.id);
    const activity = [facts?.lastLeadChange, t.updatedTime, t.createdTime].map((text) => crmDate(text ?? null, timeZone));
    activity.push(facts?.lastAnalysis ?? null, lastOk.get(t.id) ?? null);
    const last = Math.max(...activity.map((at) => at?.getTime() ?? -Infinity));
    if (!pauses.has(t.id) && last < stuckBefore.getTime()) {
      add(t.id, {
        kind: 'no-progress', count: null, since: Number.isFinite(last) ? new Date(last) : null, action: 'process',
        detail: Number.isFinite(last)
          ? `Nothing has moved for ${age(now.getTime() - last)}: no lead changed and no run succeeded since ${new Date(last).toISOString()}.`
          : 'Nothing has ever moved: no lead changed and no run succeeded.',
      });
    }
    for (const cause of leadCauses(facts, runs.get(t.id) ?? [], options.stuckAfterSeconds, timeZone)) add(t.id, cause);
  }
  // A task moves on without leads its job group lacks (DESIGN §3.6), but those leads were never
  // called: they stay on this page at every stage until someone assigns them and re-syncs.
  const activeSet = new Set(activeIds);
  for (const m of missing) {
    if (!activeSet.has(m.taskId)) add(m.taskId, notInGroupCause(m.count, m.since));
  }
  for (const failure of analysis) {
    add(failure.taskId, {
      kind: 'analysis-failed', count: failure.count, since: failure.since, action: 'retry-analysis',
      detail: `${plural(failure.count, 'lead')} got the basic follow record because the LLM analysis failed; re-run the analysis.`,
    });
  }
  return assemble(db, causes, [...active], pauses, options.limit);
}

const headColumns = { id: task.id, name: task.taskName, stage: task.taskType, updatedTime: task.updatedTime, createdTime: task.createdTime };

async function databaseNow(db: Db): Promise<Date> {
  const [rows] = (await db.execute(sql`SELECT UTC_TIMESTAMP(3) AS now`)) as unknown as [mysql.RowDataPacket[]];
  return utcDate(rows[0]?.now)!;
}

interface HeldLease { taskId: number; owner: string; acquiredAt: Date | null; expiresAt: Date | null; expired: boolean; heldSeconds: number }

/** af_task_leases has one row per task ever claimed: small, read whole (owner set only). */
async function readHeldLeases(db: Db): Promise<HeldLease[]> {
  const rows = await db
    .select({
      taskId: taskLeases.taskId, owner: taskLeases.owner, acquiredAt: taskLeases.acquiredAt, expiresAt: taskLeases.expiresAt,
      expired: sql<number>`(${taskLeases.expiresAt} IS NULL OR ${taskLeases.expiresAt} <= UTC_TIMESTAMP(3))`,
      heldSeconds: sql<number>`TIMESTAMPDIFF(SECOND, ${taskLeases.acquiredAt}, UTC_TIMESTAMP(3))`,
    })
    .from(taskLeases)
    .where(isNotNull(taskLeases.owner));
  return rows.map((r) => ({ ...r, owner: r.owner!, expired: Number(r.expired) === 1, heldSeconds: Number(r.heldSeconds ?? 0) }));
}

function leaseCause(lease: HeldLease, now: Date, leaseSeconds: number): StuckCause | null {
  if (lease.expired) {
    return {
      kind: 'lease-expired', count: null, since: lease.expiresAt, action: 'break-lease',
      detail: `The lease of ${lease.owner} expired${lease.expiresAt ? ` ${age(now.getTime() - lease.expiresAt.getTime())} ago` : ''} but is still held, so its process probably died; break it or let the next pass take it over.`,
    };
  }
  if (lease.heldSeconds > LEASE_HELD_LONG_FACTOR * leaseSeconds) {
    return {
      kind: 'lease-held-long', count: null, since: lease.acquiredAt, action: 'break-lease',
      detail: `The lease has been held by ${lease.owner} for ${age(lease.heldSeconds * 1000)}, over ${LEASE_HELD_LONG_FACTOR} × LEASE_SECONDS (${leaseSeconds} s): its run does not end; break the lease if that process hangs.`,
    };
  }
  return null;
}

/** Leads whose analysis failed, at any stage, through idx_af_lead_states_analysis (no lead row read). */
async function readAnalysisFailures(db: Db): Promise<Array<{ taskId: number; count: number; since: Date | null }>> {
  const rows = await db
    .select({ taskId: leadStates.taskId, count: sql<number>`CAST(COUNT(*) AS SIGNED)`, since: min(leadStates.analysedAt) })
    .from(leadStates)
    .where(eq(leadStates.analysisStatus, 'failed'))
    .groupBy(leadStates.taskId);
  return rows.map((r) => ({ taskId: r.taskId, count: Number(r.count), since: r.since }));
}

function notInGroupCause(count: number, since: Date | null): StuckCause {
  return {
    kind: 'not-in-group', count, since, action: 'resync',
    detail: `${plural(count, 'lead')} ${count === 1 ? 'is' : 'are'} missing from the job group's complete listing; assign ${count === 1 ? 'it' : 'them'} in Outbound Bot, then re-sync.`,
  };
}

/** Leads marked missing from their job group and still without a job id, through idx_af_lead_states_not_in_group. */
async function readLeadsNotInGroup(db: Db): Promise<Array<{ taskId: number; count: number; since: Date | null }>> {
  const rows = await db
    .select({ taskId: leadStates.taskId, count: sql<number>`CAST(COUNT(*) AS SIGNED)`, since: min(leadStates.notInGroupSince) })
    .from(leadStates)
    .innerJoin(lead, eq(lead.id, leadStates.leadRowId))
    .where(and(isNotNull(leadStates.notInGroupSince), LEAD_FILTER_CONDITIONS['not-in-group']))
    .groupBy(leadStates.taskId);
  return rows.map((r) => ({ taskId: r.taskId, count: Number(r.count), since: r.since }));
}

interface LeadFacts {
  noConversation: number;
  noConversationSince: string | null;
  notInGroup: number;
  notInGroupSince: Date | null;
  apiErrors: number;
  apiErrorSince: Date | null;
  lastApiError: string | null;
  cancelled: number;
  lastLeadChange: string | null;
  lastAnalysis: Date | null;
}

/** One grouped statement over the active tasks' leads (idx_task), joined to their af_lead_states. */
async function readActiveLeadFacts(db: Db, taskIds: number[], stuckBeforeCrm: string): Promise<Map<number, LeadFacts>> {
  if (taskIds.length === 0) return new Map();
  // As diagnose counts them: Succeeded without conversation for longer than STUCK_AFTER (DESIGN §3.4),
  // API errors on leads still waiting for Outbound Bot, cancelled jobs without such an error.
  const noConversation = and(waitsForConversation, isUnfollowed, sql`${lead.updatedTime} < ${stuckBeforeCrm}`);
  const apiError = and(or(LEAD_FILTER_CONDITIONS.calling, LEAD_FILTER_CONDITIONS['waiting-conversation']), isNotNull(leadStates.apiErrorCode));
  const cancelled = and(LEAD_FILTER_CONDITIONS.calling, isNull(leadStates.apiErrorCode), eq(leadStates.lastJobStatus, 'Cancelled'));
  const notInGroup = LEAD_FILTER_CONDITIONS['not-in-group'];
  const rows = await db
    .select({
      taskId: lead.taskId,
      noConversation: countIf(noConversation),
      noConversationSince: sql<string | null>`MIN(CASE WHEN ${noConversation} THEN ${lead.updatedTime} END)`,
      notInGroup: countIf(notInGroup),
      notInGroupSince: sql<Date | null>`MIN(CASE WHEN ${notInGroup} THEN ${leadStates.notInGroupSince} END)`.mapWith(leadStates.notInGroupSince),
      apiErrors: countIf(apiError),
      apiErrorSince: sql<Date | null>`MIN(CASE WHEN ${apiError} THEN ${leadStates.apiErrorAt} END)`.mapWith(leadStates.apiErrorAt),
      lastApiError: sql<string | null>`MAX(CASE WHEN ${apiError} THEN ${leadStates.apiErrorCode} END)`,
      cancelled: countIf(cancelled),
      lastLeadChange: max(lead.updatedTime),
      lastAnalysis: max(leadStates.analysedAt),
    })
    .from(lead)
    .leftJoin(leadStates, leadStatesJoin)
    .where(inArray(lead.taskId, taskIds))
    .groupBy(lead.taskId);
  return new Map(
    rows.map(({ taskId, ...r }) => [taskId, {
      ...r, noConversation: Number(r.noConversation), notInGroup: Number(r.notInGroup), apiErrors: Number(r.apiErrors), cancelled: Number(r.cancelled),
    }]),
  );
}

async function readLastOkRun(db: Db, taskIds: number[]): Promise<Map<number, Date>> {
  if (taskIds.length === 0) return new Map();
  const rows = await db
    .select({ taskId: taskRuns.taskId, at: max(taskRuns.startedAt) })
    .from(taskRuns)
    .where(and(inArray(taskRuns.taskId, taskIds), eq(taskRuns.outcome, 'ok')))
    .groupBy(taskRuns.taskId);
  return new Map(rows.filter((r) => r.at !== null).map((r) => [r.taskId, r.at!]));
}

async function readPauses(db: Db): Promise<Map<number, { pausedAt: Date; pausedBy: string }>> {
  const rows = await db.select().from(taskPauses);
  return new Map(rows.map((r) => [r.taskId, { pausedAt: r.pausedAt, pausedBy: r.pausedBy }]));
}

function leadCauses(facts: LeadFacts | undefined, runs: RunFacts[], stuckAfterSeconds: number, timeZone: string): StuckCause[] {
  const causes: StuckCause[] = [];
  const failing = runs.length >= FAILING_RUNS && runs.every((r) => r.outcome === 'partial' || r.outcome === 'failed');
  if (failing || (facts && facts.apiErrors > 0)) {
    const lastError = runs.find((r) => r.errorCode)?.errorCode ?? facts?.lastApiError;
    const parts = [
      failing ? `the last ${FAILING_RUNS} runs ended ${runs.map((r) => r.outcome).join(', ')}` : null,
      facts && facts.apiErrors > 0 ? `${plural(facts.apiErrors, 'lead')} carry an API error` : null,
    ].filter(Boolean);
    causes.push({
      kind: 'api-errors', count: facts && facts.apiErrors > 0 ? facts.apiErrors : null, action: 'process',
      since: facts?.apiErrorSince ?? (failing ? runs[FAILING_RUNS - 1]!.startedAt : null),
      detail: `Repeated API errors: ${parts.join(' and ')}${lastError ? ` (last: ${lastError})` : ''}; fix the cause, then process the task again.`,
    });
  }
  if (!facts) return causes;
  if (facts.cancelled > 0) {
    causes.push({
      kind: 'job-cancelled', count: facts.cancelled, since: null, action: 'none',
      detail: `${plural(facts.cancelled, 'job')} ${facts.cancelled === 1 ? 'was' : 'were'} cancelled in Outbound Bot and will never finish; only a person in Outbound Bot can call ${facts.cancelled === 1 ? 'it' : 'them'} again.`,
    });
  }
  if (facts.noConversation > 0) {
    causes.push({
      kind: 'no-conversation', count: facts.noConversation, action: 'resync',
      since: crmDate(facts.noConversationSince, timeZone),
      detail: `${plural(facts.noConversation, 'call')} succeeded more than STUCK_AFTER (${stuckAfterSeconds} s) ago without a conversation${facts.noConversationSince ? `, the oldest at ${facts.noConversationSince} (CRM time)` : ''}; fetch the jobs again.`,
    });
  }
  if (facts.notInGroup > 0) causes.push(notInGroupCause(facts.notInGroup, facts.notInGroupSince));
  return causes;
}

async function assemble(
  db: Db,
  causes: Map<number, StuckCause[]>,
  known: TaskHead[],
  pauses: Map<number, { pausedAt: Date; pausedBy: string }>,
  limit: number,
): Promise<StuckTask[]> {
  const heads = new Map(known.map((t) => [t.id, t]));
  const missing = [...causes.keys()].filter((id) => !heads.has(id));
  if (missing.length > 0) for (const t of await db.select(headColumns).from(task).where(inArray(task.id, missing))) heads.set(t.id, t);
  const rank = (list: StuckCause[]) => Math.min(...list.map((c) => CAUSE_ORDER.indexOf(c.kind)));
  return [...causes.entries()]
    .filter(([id]) => heads.has(id)) // a lease or lead state left behind by a deleted task
    .map(([id, list]) => {
      const head = heads.get(id)!;
      const sorted = [...list].sort((a, b) => CAUSE_ORDER.indexOf(a.kind) - CAUSE_ORDER.indexOf(b.kind));
      return { id, name: head.name, stage: head.stage, paused: pauses.get(id) ?? null, causes: sorted };
    })
    .sort((a, b) => rank(a.causes) - rank(b.causes) || b.id - a.id)
    .slice(0, Math.max(0, limit));
}

function crmDate(text: string | null, timeZone: string): Date | null {
  const ms = text ? fromCrmDateTime(text, timeZone) : null;
  return ms === null ? null : new Date(ms);
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** 90 000 ms -> "1 min 30 s"; 7 500 000 ms -> "2 h 5 min". */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
  return `${Math.floor(s / 86_400)} d${Math.floor((s % 86_400) / 3600) ? ` ${Math.floor((s % 86_400) / 3600)} h` : ''}`;
}
