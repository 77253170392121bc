// /stuck: the tasks that need a person, each cause with the action that fixes it. Ages are measured
// against the database's clock (UTC_TIMESTAMP), like leases. Polled every few seconds over a CRM of
// a million leads, so every statement is answered from an index and reads rows only for the few
// leads or runs that match: leases, pauses and analysis failures from small tables or an index; the
// lead-level causes of the stage-2/3 tasks as narrow ranges (Succeeded-unfollowed leads on
// af_idx_task_progress, API errors and cancelled jobs on idx_af_lead_states_attention, leads missing
// from their group on idx_af_lead_states_not_in_group, each checked as a point of
// af_idx_task_progress); never a MAX over all of a task's leads.
//
// "No progress" (stage 2 or 3, not paused): nothing moved for STUCK_AFTER. Something moved when
// - a run of the task started that ended 'ok' (a task whose runs keep succeeding while Outbound Bot
//   is still calling is waiting, not stuck; one whose runs fail or never happen is), or
// - a run of any outcome changed something, as its own record says (af_task_runs): a stage change
//   (stage_after <> stage_before) or a step count of writes (RUN_WRITES: job ids stored, call results
//   stored, follow records created, interest defaulted, analyses retried successfully), or
// - the task row itself was created or changed (call_tasks.created_time / updated_time).
// Every write autofollow makes to a lead happens inside a recorded run, so this replaces the newest
// leads_task_list.updated_time and af_lead_states.analysed_at of the task's leads (no index answers
// those without reading every lead). What it no longer sees: a person editing leads in the CRM.
// The runs since STUCK_AFTER are read whole (a few dozen per task); only for a task none of them
// moved is the time it last moved looked up, in its last LOOKBACK_RUNS runs before that. When none
// of those moved either, the time given is a bound ("for at least"): the oldest of them.
import { and, eq, gte, inArray, isNotNull, isNull, lt, min, not, or, sql } from 'drizzle-orm';
import type mysql from 'mysql2/promise';
import type { Db } from '../db/client.ts';
import { formatDuration } from '../format-duration.ts';
import type { PIPELINE_INDEXES } from '../db/migrate.ts';
import { leadStates, taskLeases, taskPauses, taskRuns } from '../db/schema/app.ts';
import { callTasks as task, leadsTaskList as lead } from '../db/schema/crm.ts';
import { fromCrmDateTime, toCrmDateTime } from '../crm-time.ts';
import { CLOSE_CAUSE_CONDITIONS } from '../pipeline/lead-causes.ts';
import { countIf } from '../pipeline/lead-conditions.ts';
import type { StepName, StepReport } from '../pipeline/step-report.ts';
import { STAGE } from '../pipeline/task-stages.ts';
import { LEAD_FILTER_CONDITIONS, leadStatesJoin } from './lead-states.ts';
import { readLatestRunsByTask, utcDate, type RunFacts } from './task-batches.ts';

export type StuckCauseKind = 'lease-expired' | 'lease-held-long' | 'no-progress' | 'api-errors' | 'no-conversation' | 'analysis-failed' | 'not-in-group' | 'never-called' | 'job-cancelled';
export type FixAction = 'break-lease' | 'process' | 'resync' | 'retry-analysis' | 'none';

export interface StuckCause {
  kind: StuckCauseKind;
  /** leads concerned, or null for task-level causes */
  count: number | null;
  since: Date | null;
  /** English, one sentence, for people */
  detail: string;
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

/** The step counts that say a run wrote something (see the pipeline's steps); any above 0 is a move. */
const RUN_WRITES: Record<StepName, readonly string[]> = {
  sync_call_job_ids: ['matched'],
  query_task_execution: ['statusesStored'],
  create_leads_follow: ['created', 'succeeded'], // succeeded: retry-analysis rewrote a record
  default_is_interested: ['defaulted'],
  check_and_update_task_status: [], // a stage change is in the run row's stage_after
  launch: ['jobsCreated'],
  recall: ['jobsCreated'],
};

/** Causes in the order a person should look at them; tasks sort by their first cause, then newest. */
const CAUSE_ORDER: StuckCauseKind[] = ['lease-expired', 'lease-held-long', 'no-progress', 'api-errors', 'job-cancelled', 'no-conversation', 'not-in-group', 'never-called', 'analysis-failed'];

interface TaskHead {
  id: number;
  name: string;
  stage: number;
  updatedTime: string | null;
  createdTime: string | null;
}

type Pauses = Map<number, { pausedAt: Date; pausedBy: string }>;

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
  for (const [taskId, count] of cancelled) add(taskId, cancelledCause(count));
  for (const [taskId, waiting] of noConversation) add(taskId, noConversationCause(waiting, options.stuckAfterSeconds, timeZone));
  // A task moves on without leads its job group lacks (DESIGN §3.6), but those leads were never
  // called: while it is at stage 2-3 a re-sync finds them once assigned; a finished task is no longer
  // processed, so they stay here as never called, for a person to call or to put in a new task.
  const processed = new Set(active.map((t) => t.id));
  for (const m of missing) add(m.taskId, processed.has(m.taskId) ? notInGroupCause(m.count, m.since) : neverCalledCause(m.count, m.since));
  for (const failure of analysis) {
    add(failure.taskId, {
      kind: 'analysis-failed', count: failure.count, since: failure.since, action: 'retry-analysis',
      detail: `${plural(failure.count, 'lead')} got the basic follow record because the LLM analysis failed; re-run the analysis.`,
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
  const [noConversation, apiErrors, runs, recentRuns] = await Promise.all([
    readStuckWithoutConversation(db, activeIds, toCrmDateTime(stuckBefore.getTime(), timeZone)),
    readApiErrors(db, activeIds),
    readLatestRunsByTask(db, activeIds, FAILING_RUNS),
    readRunsSince(db, activeIds, stuckBefore),
  ]);
  const idle = await readIdleTasks(db, active, { pauses, recentRuns, stuckBefore, timeZone });
  return { active, pauses, noConversation, apiErrors, runs, idle };
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
      kind: 'lease-expired', count: null, since: lease.expiresAt, action: 'break-lease', leaseOwner: lease.owner,
      detail: `The lease of ${lease.owner} expired${lease.expiresAt ? ` ${age(now.getTime() - lease.expiresAt.getTime())} ago` : ''} but is still held, so its process probably died; break it or let the next pass take it over.`,
    };
  }
  if (lease.heldSeconds > LEASE_HELD_LONG_FACTOR * leaseSeconds) {
    return {
      kind: 'lease-held-long', count: null, since: lease.acquiredAt, action: 'break-lease', leaseOwner: lease.owner,
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

function neverCalledCause(count: number, since: Date | null): StuckCause {
  return {
    kind: 'never-called', count, since, action: 'none',
    detail: `${plural(count, 'lead')} ${count === 1 ? 'was' : 'were'} missing from the job group when the task finished, so ${count === 1 ? 'it was' : 'they were'} never called; call ${count === 1 ? 'it' : 'them'} by hand or put ${count === 1 ? 'it' : 'them'} in a new task.`,
  };
}

/** The CRM index migrate creates (PIPELINE_INDEXES); InnoDB appends the row id to it. */
const TASK_PROGRESS_INDEX = 'af_idx_task_progress' satisfies (typeof PIPELINE_INDEXES)[number]['name'];

/**
 * How a lead the pipeline never synced looks: every column of af_idx_task_progress NULL. Such a
 * lead is unsynced (the lead's part of LEAD_FILTER_CONDITIONS['not-in-group']), and with its task
 * and row id it is one point of that index, found without reading the row.
 */
const neverTouched = and(isNull(lead.callStatus), isNull(lead.leadsFollowId), isNull(lead.isInterested), isNull(lead.callJobId))!;

type MissingLeads = { taskId: number; count: number; since: Date | null };

/**
 * Leads marked missing from their job group and still without a job id, at every stage. Marks stay
 * on finished tasks, so there can be thousands: reading each one's lead row (a random page of a big
 * table) took 0.7 s at 1,000,000 leads. So each mark is first looked up as an untouched lead in
 * af_idx_task_progress (task, NULLs, row id: an index-only point, forced because the optimiser
 * would rather read the row by its primary key); only marks not found that way (a lead changed
 * since, e.g. a job id stored outside the pipeline: rare) have their lead rows read.
 */
async function readLeadsNotInGroup(db: Db): Promise<MissingLeads[]> {
  const marked = isNotNull(leadStates.notInGroupSince);
  const found = and(eq(lead.taskId, leadStates.taskId), leadStatesJoin, neverTouched);
  const first = await db
    .select({
      taskId: leadStates.taskId,
      marks: sql<number>`CAST(COUNT(*) AS SIGNED)`,
      count: sql<number>`CAST(COUNT(${lead.id}) AS SIGNED)`,
      since: sql<Date | null>`MIN(CASE WHEN ${lead.id} IS NOT NULL THEN ${leadStates.notInGroupSince} END)`.mapWith(leadStates.notInGroupSince),
    })
    .from(leadStates)
    .leftJoin(lead, found, { forceIndex: TASK_PROGRESS_INDEX })
    .where(marked)
    .groupBy(leadStates.taskId);
  const byTask = new Map(first.map((r) => [r.taskId, { taskId: r.taskId, count: Number(r.count), since: r.since }]));
  const rest = first.filter((r) => Number(r.marks) > Number(r.count)).map((r) => r.taskId);
  if (rest.length > 0) {
    const others = await db
      .select({ taskId: leadStates.taskId, count: sql<number>`CAST(COUNT(*) AS SIGNED)`, since: min(leadStates.notInGroupSince) })
      .from(leadStates)
      .innerJoin(lead, leadStatesJoin)
      .where(and(inArray(leadStates.taskId, rest), CLOSE_CAUSE_CONDITIONS['not-in-group'], not(and(eq(lead.taskId, leadStates.taskId), neverTouched)!)))
      .groupBy(leadStates.taskId);
    for (const r of others) {
      const entry = byTask.get(r.taskId)!;
      entry.count += Number(r.count);
      if (r.since && (!entry.since || r.since < entry.since)) entry.since = r.since;
    }
  }
  return [...byTask.values()].filter((m) => m.count > 0);
}

interface WaitingLeads { count: number; oldest: string | null }

/**
 * As diagnose counts them (DESIGN §3.4): Succeeded, no follow record, no conversation, for longer than
 * STUCK_AFTER. Succeeded-and-unfollowed is a narrow range of af_idx_task_progress; only those rows are
 * read (the conversation and updated_time are not in the index).
 */
async function readStuckWithoutConversation(db: Db, taskIds: number[], stuckBeforeCrm: string): Promise<Map<number, WaitingLeads>> {
  if (taskIds.length === 0) return new Map();
  const rows = await db
    .select({ taskId: lead.taskId, count: sql<number>`CAST(COUNT(*) AS SIGNED)`, oldest: min(lead.updatedTime) })
    .from(lead)
    .where(and(inArray(lead.taskId, taskIds), LEAD_FILTER_CONDITIONS['waiting-conversation'], lt(lead.updatedTime, stuckBeforeCrm)))
    .groupBy(lead.taskId);
  return new Map(rows.map((r) => [r.taskId, { count: Number(r.count), oldest: r.oldest }]));
}

function noConversationCause(waiting: WaitingLeads, stuckAfterSeconds: number, timeZone: string): StuckCause {
  return {
    kind: 'no-conversation', count: waiting.count, action: 'process',
    since: crmDate(waiting.oldest, timeZone),
    detail: `${plural(waiting.count, 'call')} succeeded more than STUCK_AFTER (${stuckAfterSeconds} s) ago without a conversation${waiting.oldest ? `, the oldest at ${waiting.oldest} (CRM time)` : ''}; process the task to fetch the jobs again.`,
  };
}

interface ApiErrorLeads { count: number; since: Date | null; lastCode: string | null }

/** API errors on leads still waiting for Outbound Bot (being called, or owed their conversation). */
async function readApiErrors(db: Db, taskIds: number[]): Promise<Map<number, ApiErrorLeads>> {
  if (taskIds.length === 0) return new Map();
  const waitingForOutboundBot = or(LEAD_FILTER_CONDITIONS.calling, LEAD_FILTER_CONDITIONS['waiting-conversation']);
  const rows = await db
    .select({
      taskId: leadStates.taskId,
      count: sql<number>`CAST(COUNT(*) AS SIGNED)`,
      since: min(leadStates.apiErrorAt),
      lastCode: sql<string | null>`MAX(${leadStates.apiErrorCode})`,
    })
    .from(leadStates)
    .innerJoin(lead, leadStatesJoin)
    .where(and(inArray(leadStates.taskId, taskIds), isNotNull(leadStates.apiErrorCode), waitingForOutboundBot))
    .groupBy(leadStates.taskId);
  return new Map(rows.map((r) => [r.taskId, { count: Number(r.count), since: r.since, lastCode: r.lastCode }]));
}

/**
 * Leads whose job Outbound Bot cancelled and that no person has closed yet (lead-causes.ts), at every
 * stage: they hold no stage any more, so a finished task can have them. Without an API error (that
 * cause says more). A narrow range of idx_af_lead_states_job_status.
 */
async function readCancelledJobs(db: Db): Promise<Map<number, number>> {
  const rows = await db
    .select({ taskId: leadStates.taskId, count: sql<number>`CAST(COUNT(*) AS SIGNED)` })
    .from(leadStates)
    .innerJoin(lead, leadStatesJoin)
    .where(and(eq(leadStates.lastJobStatus, 'Cancelled'), isNull(leadStates.apiErrorCode), CLOSE_CAUSE_CONDITIONS.cancelled))
    .groupBy(leadStates.taskId);
  return new Map(rows.map((r) => [r.taskId, Number(r.count)]));
}

function cancelledCause(count: number): StuckCause {
  return {
    kind: 'job-cancelled', count, since: null, action: 'none',
    detail: `${plural(count, 'job')} ${count === 1 ? 'was' : 'were'} cancelled in Outbound Bot and will never finish; call ${count === 1 ? 'it' : 'them'} again in Outbound Bot (the ${count === 1 ? 'lead follows its new job' : 'leads follow their new jobs'}), or follow ${count === 1 ? 'it' : 'them'} up by hand (人工跟进).`,
  };
}

function apiErrorsCause(leads: ApiErrorLeads | undefined, runs: RunFacts[]): StuckCause | null {
  const failing = runs.length >= FAILING_RUNS && runs.every((r) => r.outcome === 'partial' || r.outcome === 'failed');
  if (!failing && !leads) return null;
  const lastError = runs.find((r) => r.errorCode)?.errorCode ?? leads?.lastCode;
  const parts = [
    failing ? `the last ${FAILING_RUNS} runs ended ${runs.map((r) => r.outcome).join(', ')}` : null,
    leads ? `${plural(leads.count, 'lead')} carry an API error` : null,
  ].filter(Boolean);
  return {
    kind: 'api-errors', count: leads?.count ?? null, action: 'process',
    since: leads?.since ?? (failing ? runs[FAILING_RUNS - 1]!.startedAt : null),
    detail: `Repeated API errors: ${parts.join(' and ')}${lastError ? ` (last: ${lastError})` : ''}; fix the cause, then process the task again.`,
  };
}

interface MoveRun { taskId: number; startedAt: Date; outcome: string; stageBefore: number; stageAfter: number | null; steps: string | null }

/** A run moved the task when it succeeded, changed its stage, or its steps counted writes. */
function moved(run: MoveRun): boolean {
  if (run.outcome === 'ok') return true;
  if (run.stageAfter !== null && run.stageAfter !== run.stageBefore) return true;
  return stepsWrote(run.steps);
}

function stepsWrote(steps: string | null): boolean {
  if (!steps) return false;
  let reports: StepReport[];
  try {
    reports = JSON.parse(steps) as StepReport[];
  } catch {
    return false; // a run row we cannot read tells nothing either way; the task row and other runs still count
  }
  if (!Array.isArray(reports)) return false;
  return reports.some((r) => (RUN_WRITES[r?.step] ?? []).some((name) => Number(r.counts?.[name] ?? 0) > 0));
}

const moveColumns = {
  taskId: taskRuns.taskId, startedAt: taskRuns.startedAt, outcome: taskRuns.outcome,
  stageBefore: taskRuns.stageBefore, stageAfter: taskRuns.stageAfter, steps: taskRuns.steps,
};

/** Every run of these tasks started since `since`: a range of idx_af_runs_task per task. */
async function readRunsSince(db: Db, taskIds: number[], since: Date): Promise<Map<number, MoveRun[]>> {
  const runs = new Map<number, MoveRun[]>();
  if (taskIds.length === 0) return runs;
  const rows = await db.select(moveColumns).from(taskRuns).where(and(inArray(taskRuns.taskId, taskIds), gte(taskRuns.startedAt, since)));
  for (const row of rows) runs.set(row.taskId, [...(runs.get(row.taskId) ?? []), row]);
  return runs;
}

/** The last `perTask` runs of each task started before `before`, newest first: one index dive per task. */
async function readRunsBefore(db: Db, taskIds: number[], before: Date, perTask: number): Promise<Map<number, MoveRun[]>> {
  const runs = new Map<number, MoveRun[]>();
  if (taskIds.length === 0) return runs;
  const parts = taskIds.map(
    (taskId) => sql`(SELECT task_id, started_at, outcome, stage_before, stage_after, steps FROM af_task_runs
       WHERE task_id = ${taskId} AND started_at < ${before} ORDER BY started_at DESC, id DESC LIMIT ${perTask})`,
  );
  const [rows] = (await db.execute(sql.join(parts, sql` UNION ALL `))) as unknown as [mysql.RowDataPacket[]];
  for (const row of rows) {
    const run: MoveRun = {
      taskId: Number(row.task_id), startedAt: utcDate(row.started_at)!, outcome: String(row.outcome),
      stageBefore: Number(row.stage_before), stageAfter: row.stage_after === null ? null : Number(row.stage_after), steps: row.steps ?? null,
    };
    runs.set(run.taskId, [...(runs.get(run.taskId) ?? []), run]);
  }
  for (const list of runs.values()) list.sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime());
  return runs;
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
  context: { pauses: Pauses; recentRuns: Map<number, MoveRun[]>; stuckBefore: Date; timeZone: string },
): Promise<Map<number, LastMove>> {
  const { pauses, recentRuns, stuckBefore, timeZone } = context;
  const rowChanged = new Map(active.map((t) => [t.id, latest([crmDate(t.updatedTime, timeZone), crmDate(t.createdTime, timeZone)])]));
  const candidates = active.filter((t) => {
    if (pauses.has(t.id)) return false;
    const changed = rowChanged.get(t.id);
    if (changed && changed.getTime() >= stuckBefore.getTime()) return false;
    return !(recentRuns.get(t.id) ?? []).some(moved);
  });
  const earlier = await readRunsBefore(db, candidates.map((t) => t.id), stuckBefore, LOOKBACK_RUNS);
  const idle = new Map<number, LastMove>();
  for (const t of candidates) {
    const runs = earlier.get(t.id) ?? [];
    const lastRun = runs.find(moved)?.startedAt ?? null;
    const changed = rowChanged.get(t.id) ?? null;
    if (lastRun || runs.length < LOOKBACK_RUNS) {
      idle.set(t.id, { at: latest([lastRun, changed]), bound: false });
    } else {
      const oldest = runs[runs.length - 1]!.startedAt;
      // The row changed after the oldest run read: that is exact; otherwise it moved before that run.
      idle.set(t.id, changed && changed.getTime() >= oldest.getTime() ? { at: changed, bound: false } : { at: oldest, bound: true });
    }
  }
  return idle;
}

function noProgressCause(last: LastMove, now: Date): StuckCause {
  const what = 'no run changed a lead or succeeded and the task row did not change';
  let detail: string;
  if (!last.at) detail = 'Nothing has ever moved: no run changed a lead or succeeded.';
  else if (last.bound) detail = `Nothing has moved for at least ${age(now.getTime() - last.at.getTime())}: none of its last ${LOOKBACK_RUNS} runs, back to ${last.at.toISOString()}, changed a lead or succeeded.`;
  else detail = `Nothing has moved for ${age(now.getTime() - last.at.getTime())}: ${what} since ${last.at.toISOString()}.`;
  return { kind: 'no-progress', count: null, since: last.at, action: 'process', detail };
}

async function readPauses(db: Db): Promise<Pauses> {
  const rows = await db.select().from(taskPauses);
  return new Map(rows.map((r) => [r.taskId, { pausedAt: r.pausedAt, pausedBy: r.pausedBy }]));
}

async function assemble(db: Db, causes: Map<number, StuckCause[]>, known: TaskHead[], pauses: Pauses, limit: number): Promise<StuckPage> {
  const heads = new Map(known.map((t) => [t.id, t]));
  const missing = [...causes.keys()].filter((id) => !heads.has(id));
  if (missing.length > 0) for (const t of await db.select(headColumns).from(task).where(inArray(task.id, missing))) heads.set(t.id, t);
  const rank = (list: StuckCause[]) => Math.min(...list.map((c) => CAUSE_ORDER.indexOf(c.kind)));
  const all = [...causes.entries()]
    .filter(([id]) => heads.has(id)) // a lease or lead state left behind by a deleted task
    .map(([id, list]) => {
      const head = heads.get(id)!;
      const sorted = [...list].sort((a, b) => CAUSE_ORDER.indexOf(a.kind) - CAUSE_ORDER.indexOf(b.kind));
      return { id, name: head.name, stage: head.stage, paused: pauses.get(id) ?? null, causes: sorted };
    })
    .sort((a, b) => rank(a.causes) - rank(b.causes) || b.id - a.id);
  return { tasks: all.slice(0, Math.max(0, limit)), total: all.length };
}

function latest(dates: Array<Date | null>): Date | null {
  const times = dates.filter((d): d is Date => d !== null).map((d) => d.getTime());
  return times.length === 0 ? null : new Date(Math.max(...times));
}

function crmDate(text: string | null, timeZone: string): Date | null {
  const ms = text ? fromCrmDateTime(text, timeZone) : null;
  return ms === null ? null : new Date(ms);
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** An age in whole units: "45 s", "1 min 30 s", "2 h 5 min" (formatDuration from a minute up). */
export function age(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return seconds < 60 ? `${seconds} s` : formatDuration(seconds * 1000);
}
