// The dashboard's "retry analysis" (DESIGN §3.5): a lead whose LLM analysis failed got the basic
// follow record (is_interested 0, ANALYSIS_FAILED_REMARK) and analysis_status 'failed'. A retry asks
// the LLM again, with the same prompt as create_leads_follow, and on success rewrites THAT follow
// record's remark and next follow time and the lead's is_interested: never a second record.
//
// A person may have taken the lead over since (edited the remark in the CRM, set is_interested,
// pointed the lead at another record). Such a lead is left exactly as it is: every write is
// conditional on the failed state, re-checked under row locks after the LLM answered (the LLM is
// called outside the transaction, like create_leads_follow, DESIGN §3.2). Its analysis_status
// becomes 'superseded', so it is no longer offered for a retry. Runs at any stage, under the task's
// lease, and is recorded in af_task_runs as a create_leads_follow step; it never moves the stage.
import { and, asc, eq, gt, inArray, isNull, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { caseById } from '../db/batch-update.ts';
import type { Db } from '../db/client.ts';
import { isLockConflict } from '../db/client.ts';
import { leadStates } from '../db/schema/app.ts';
import { dccLeadsFollow as follow, leadsTaskList as lead } from '../db/schema/crm.ts';
import type { FollowUpAnalysis, TokenUsage } from '../llm/types.ts';
import { enqueueHotLeads, HOT_INTEREST } from '../notify/hot-lead-outbox.ts';
import { analyseConversation, FOLLOW_UP_PAGE_SIZE } from './create-follow-ups.ts';
import { toCrmDateTime } from '../crm-time.ts';
import type { PipelineDeps } from './deps.ts';
import { loadTask } from './find-pending-tasks.ts';
import { ANALYSIS_FAILED_REMARK } from './follow-up-remarks.ts';
import { leadOfTask } from './lead-conditions.ts';
import { runUnderLease, type RunTrigger } from './leased-run.ts';
import type { HeldLease } from './leases.ts';
import { capErrorMessage, startStep, type StepReport } from './step-report.ts';
import { analysisCounts, countActivity } from './task-activity.ts';
import type { RunOutcome } from './task-runs.ts';

export interface RetryAnalysisResult {
  status: 'processed' | 'not-found' | 'paused' | 'leased-elsewhere' | 'nothing-to-retry';
  /** Failed analyses taken up: succeeded + stillFailed + leftAlone. */
  retried: number;
  succeeded: number;
  stillFailed: number;
  /** follow record or is_interested changed by a person since: left exactly as it is */
  leftAlone: number;
  runId?: number;
  /** How the recorded run ended: 'partial' when some analyses failed again. */
  outcome?: Exclude<RunOutcome, 'running'>;
}

type RetryCounts = Pick<RetryAnalysisResult, 'retried' | 'succeeded' | 'stillFailed' | 'leftAlone'>;

export const SUPERSEDED_ANALYSIS = 'superseded';
const SUPERSEDED_NOTE = 'a person changed the follow record or is_interested after the analysis failed; left as it is';

/**
 * With `leadRowId`, only that lead: 'not-found' when it is not a lead of the task, 'nothing-to-retry'
 * when its analysis has not failed. A paused task is refused ('paused') like every other run.
 */
export async function retryFailedAnalyses(
  deps: PipelineDeps,
  taskId: number,
  options: { trigger: RunTrigger; leadRowId?: number },
): Promise<RetryAnalysisResult> {
  const counts: RetryCounts = { retried: 0, succeeded: 0, stillFailed: 0, leftAlone: 0 };
  if (!(await loadTask(deps.db, taskId))) return { status: 'not-found', ...counts };
  if (options.leadRowId !== undefined && !(await isLeadOfTask(deps.db, taskId, options.leadRowId))) return { status: 'not-found', ...counts };
  // Asked before the claim, so a click with nothing to do neither takes the lease nor records a run.
  if ((await failedLeads(deps.db, taskId, options.leadRowId, 0, 1)).length === 0) return { status: 'nothing-to-retry', ...counts };

  const run = await runUnderLease(deps, taskId, {
    trigger: options.trigger,
    eligible: () => true, // any stage: a task at stage 4 can still hold failed analyses
    work: async ({ task, lease, record }) => {
      record(await retryStep(deps, task.id, options.leadRowId, lease, counts));
      return task.taskType;
    },
  });
  if (run.status === 'not-eligible') throw new Error('unreachable: every task is eligible for a retry');
  if (run.status !== 'processed') return { status: run.status, ...counts };
  return { status: 'processed', ...counts, runId: run.runId, outcome: run.outcome };
}

interface FailedLead {
  id: number;
  taskId: number;
  name: string | null;
  conversation: string | null;
  followId: number | null;
  isInterested: number | null;
  remark: string | null;
  nextFollowTime: string | null;
}

/** The basic record a failed analysis wrote (create-follow-ups): anything else means a person edited it. */
const followAsFailureLeftIt = and(eq(follow.leadsRemark, ANALYSIS_FAILED_REMARK), isNull(follow.nextFollowTime))!;

async function retryStep(deps: PipelineDeps, taskId: number, leadRowId: number | undefined, lease: HeldLease, counts: RetryCounts): Promise<StepReport> {
  const step = startStep('create_leads_follow', deps.clock.now);
  let lastError: string | null = null;
  for (let afterId = 0; ; ) {
    lease.check();
    const page = await failedLeads(deps.db, taskId, leadRowId, afterId, FOLLOW_UP_PAGE_SIZE);
    if (page.length === 0) break;
    afterId = page[page.length - 1]!.id;
    const outcome = await retryPage(deps, page);
    counts.retried += page.length;
    counts.succeeded += outcome.succeeded;
    counts.stillFailed += outcome.stillFailed;
    counts.leftAlone += outcome.leftAlone;
    lastError = outcome.lastError ?? lastError;
  }
  for (const [name, n] of Object.entries(counts) as Array<[keyof RetryCounts, number]>) step.add(name, n);
  if (counts.stillFailed > 0) {
    step.fail({ code: 'AnalysisFailed', message: `${counts.stillFailed} analyses failed again; the last error: ${lastError}. Retry later or follow the leads up by hand.` });
  }
  return step.finish();
}

/** The basic record as the failed analysis left it: anything else means a person took over. */
function isUntouched(l: FailedLead): boolean {
  return l.followId !== null && l.isInterested === 0 && l.remark === ANALYSIS_FAILED_REMARK && l.nextFollowTime === null;
}

async function retryPage(deps: PipelineDeps, page: FailedLead[]) {
  const now = deps.clock.now();
  const crmNow = toCrmDateTime(now, deps.config.timeZone);
  const untouched = page.filter(isUntouched);
  // The LLM is asked outside any transaction; only leads still untouched are worth asking about.
  const analyses = await Promise.all(untouched.map((l) => analyseConversation(deps, l, crmNow)));
  const answered = untouched.map((l, i) => ({ lead: l, analysis: analyses[i]! }));
  const failed = answered.flatMap(({ lead: l, analysis }) => (analysis.ok ? [] : [{ id: l.id, value: capErrorMessage(analysis.error) }]));
  const succeeded = answered.filter((a): a is Answered => a.analysis.ok);
  const touched = page.filter((l) => !isUntouched(l));
  const spent = answered.flatMap(({ lead: l, analysis }) => (analysis.usage ? [{ lead: l, usage: analysis.usage }] : []));
  const written = await withLockRetries(() => writeRetries(deps.db, { succeeded, failed, touched, spent }, new Date(now)));
  return {
    succeeded: written.succeeded,
    stillFailed: failed.length,
    leftAlone: touched.length + written.touchedMeanwhile,
    lastError: failed[failed.length - 1]?.value ?? null,
  };
}

type Answered = { lead: FailedLead; analysis: Extract<FollowUpAnalysis, { ok: true }> };

/**
 * One short transaction per page: lock the leads, then their follow records, keep those still in
 * the failed state, and rewrite only those; every UPDATE carries the same condition in its WHERE.
 */
async function writeRetries(
  db: Db,
  page: { succeeded: Answered[]; failed: Array<{ id: number; value: string }>; touched: FailedLead[]; spent: Spent[] },
  analysedAt: Date,
): Promise<{ succeeded: number; touchedMeanwhile: number }> {
  return db.transaction(async (tx) => {
    const txDb = tx as unknown as Db;
    await recordTokens(txDb, page.spent);
    const writable = await stillAsFailureLeftThem(txDb, page.succeeded);
    const touchedMeanwhile = page.succeeded.filter((a) => !writable.includes(a)).map((a) => a.lead);
    if (writable.length > 0) {
      const byFollow = (value: (a: Answered) => string | null) => writable.map((a) => ({ id: a.lead.followId!, value: value(a) }));
      await tx
        .update(follow)
        .set({ leadsRemark: caseById(follow.id, byFollow((a) => a.analysis.remark)), nextFollowTime: caseById(follow.id, byFollow((a) => a.analysis.nextFollowTime)) })
        .where(and(inArray(follow.id, writable.map((a) => a.lead.followId!)), followAsFailureLeftIt));
      // An interest of 0 leaves the lead as it is: no write, no updated_time moved (DESIGN §3.11).
      const interested = writable.filter((a) => a.analysis.isInterested !== 0).map((a) => ({ id: a.lead.id, value: a.analysis.isInterested }));
      if (interested.length > 0) {
        await tx
          .update(lead)
          .set({ isInterested: caseById(lead.id, interested) })
          .where(and(inArray(lead.id, interested.map((i) => i.id)), eq(lead.isInterested, 0)));
      }
      // A lead that becomes interested here is a hot lead like any other: its message commits with
      // the rewrite (issue 11). The rows are locked and were re-checked at 0, so every one changed.
      const hot = writable.filter((a) => a.analysis.isInterested === HOT_INTEREST);
      await enqueueHotLeads(txDb, hot.map((a) => ({ taskId: a.lead.taskId, leadRowId: a.lead.id, followId: a.lead.followId! })));
      await markAnalysis(txDb, writable.map((a) => a.lead.id), { analysisStatus: 'ok', analysisError: null, analysedAt });
    }
    if (page.failed.length > 0) {
      await markAnalysis(txDb, page.failed.map((f) => f.id), { analysisStatus: 'failed', analysisError: caseById(leadStates.leadRowId, page.failed), analysedAt });
    }
    const superseded = [...page.touched, ...touchedMeanwhile].map((l) => l.id);
    await markAnalysis(txDb, superseded, { analysisStatus: SUPERSEDED_ANALYSIS, analysisError: SUPERSEDED_NOTE, analysedAt });
    return { succeeded: writable.length, touchedMeanwhile: touchedMeanwhile.length };
  });
}

type Spent = { lead: FailedLead; usage: TokenUsage };

/**
 * A re-run is paid for again, whatever becomes of its answer: its tokens add to the lead's (which
 * keep the first analysis's) and to its task's hour, from which the cost per task and day is read.
 */
async function recordTokens(db: Db, spent: Spent[]): Promise<void> {
  if (spent.length === 0) return;
  const added = (tokens: (u: TokenUsage) => number, column: AnyColumn) =>
    sql`COALESCE(${column}, 0) + ${caseById(leadStates.leadRowId, spent.map((s) => ({ id: s.lead.id, value: tokens(s.usage) })))}`;
  await db
    .update(leadStates)
    .set({ inputTokens: added((u) => u.inputTokens, leadStates.inputTokens), outputTokens: added((u) => u.outputTokens, leadStates.outputTokens) })
    .where(inArray(leadStates.leadRowId, spent.map((s) => s.lead.id)));
  for (const taskId of new Set(spent.map((s) => s.lead.taskId))) {
    await countActivity(db, taskId, analysisCounts(spent.filter((s) => s.lead.taskId === taskId).map((s) => s.usage)));
  }
}

/** Under row locks: the answered leads whose lead row and follow record are still as the failure left them. */
async function stillAsFailureLeftThem(db: Db, answered: Answered[]): Promise<Answered[]> {
  if (answered.length === 0) return [];
  const leads = await db
    .select({ id: lead.id, followId: lead.leadsFollowId })
    .from(lead)
    .where(and(inArray(lead.id, answered.map((a) => a.lead.id)), eq(lead.isInterested, 0)))
    .orderBy(lead.id)
    .for('update');
  const followOf = new Map(leads.map((l) => [l.id, l.followId]));
  const pointing = answered.filter((a) => followOf.get(a.lead.id) === a.lead.followId);
  if (pointing.length === 0) return [];
  const follows = await db
    .select({ id: follow.id })
    .from(follow)
    .where(and(inArray(follow.id, pointing.map((a) => a.lead.followId!)), followAsFailureLeftIt))
    .orderBy(follow.id)
    .for('update');
  const unedited = new Set(follows.map((f) => f.id));
  return pointing.filter((a) => unedited.has(a.lead.followId!));
}

/** Only rows still 'failed' change, so a repeat or a racing retry rewrites nothing. */
async function markAnalysis(db: Db, leadRowIds: number[], set: { analysisStatus: string; analysisError: string | SQL | null; analysedAt: Date }): Promise<void> {
  if (leadRowIds.length === 0) return;
  await db
    .update(leadStates)
    .set(set)
    .where(and(inArray(leadStates.leadRowId, leadRowIds), eq(leadStates.analysisStatus, 'failed')));
}

async function failedLeads(db: Db, taskId: number, leadRowId: number | undefined, afterId: number, limit: number): Promise<FailedLead[]> {
  return db
    .select({
      id: lead.id,
      taskId: lead.taskId,
      name: lead.leadsName,
      conversation: lead.callConversation,
      followId: lead.leadsFollowId,
      isInterested: lead.isInterested,
      remark: follow.leadsRemark,
      nextFollowTime: follow.nextFollowTime,
    })
    .from(leadStates)
    .innerJoin(lead, eq(lead.id, leadStates.leadRowId))
    .leftJoin(follow, eq(follow.id, lead.leadsFollowId))
    .where(
      and(
        eq(leadStates.taskId, taskId),
        eq(leadStates.analysisStatus, 'failed'),
        gt(leadStates.leadRowId, afterId),
        leadRowId === undefined ? undefined : eq(leadStates.leadRowId, leadRowId),
        leadOfTask(taskId),
      ),
    )
    .orderBy(asc(leadStates.leadRowId))
    .limit(limit);
}

async function isLeadOfTask(db: Db, taskId: number, leadRowId: number): Promise<boolean> {
  const rows = await db.select({ id: lead.id }).from(lead).where(and(eq(lead.id, leadRowId), leadOfTask(taskId)));
  return rows.length > 0;
}

const LOCK_CONFLICT_ATTEMPTS = 3;

/** A deadlock rolled the whole transaction back; its re-checks under lock make a redo safe. */
async function withLockRetries<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!(isLockConflict(error) && attempt < LOCK_CONFLICT_ATTEMPTS)) throw error;
    }
  }
}
