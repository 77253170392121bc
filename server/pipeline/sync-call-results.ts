// Spec 3.2 query_task_execution: for leads whose job has no final status yet (or whose Succeeded call
// still lacks its conversation), fetch the jobs page by page and store what is final. Only Succeeded
// and Failed are ever written to call_status (DESIGN §3.1); anything else is kept in our own table
// for diagnose and polled again next pass. A page that learns nothing writes nothing (DESIGN §3.11).
// Pages are read from the database one after the other (by keyset), but their ListJobs calls run
// concurrently, up to OUTBOUNDBOT_MAX_IN_FLIGHT (issue 12), and the answers are written as they
// arrive, behind the requests (net/write-behind.ts): a slow write never holds a request slot, and a
// failed page is recorded on its own leads and never holds the others back.
import { and, asc, eq, gt, lte, sql } from 'drizzle-orm';
import { caseById, inIds, upsertRows, valuesOf } from '../db/batch-update.ts';
import { retryOnLockConflict, writeResult, type Db } from '../db/client.ts';
import { leadStates } from '../db/schema/app.ts';
import { leadsTaskList as lead } from '../db/schema/crm.ts';
import { pipelined } from '../net/pipelined.ts';
import { createWriteBehind, type WriteBehind } from '../net/write-behind.ts';
import { errorCodeOf } from '../outboundbot/errors.ts';
import { LIST_JOBS_MAX_IDS, type JobDetail, type Utterance } from '../outboundbot/types.ts';
import { toCrmDateTime } from '../crm-time.ts';
import type { PipelineDeps } from './deps.ts';
import type { PendingTask } from './find-pending-tasks.ts';
import { hasConversation, isFinalStatus, isNotJobCancelled, leadOfTask, needsCallResult } from './lead-conditions.ts';
import { ALL_JOB_IDS_WRITTEN, type JobIdsWritten } from './job-ids-written.ts';
import type { HeldLease } from './leases.ts';
import { recheckMissingConversations } from './recheck-missing-conversations.ts';
import { capErrorMessage, startStep, type StepReport } from './step-report.ts';
import { countActivity } from './task-activity.ts';

/** One ListJobs call per page: its limit is 99 ids (reference §3.3). */
export const CALL_RESULT_PAGE_SIZE = LIST_JOBS_MAX_IDS;

/**
 * At most this many answered pages go in one transaction. Each page carries up to 99 conversations,
 * and a write's statement is built as text several times over (escaped values, the query, its
 * buffer): unbounded, a backlog of 16 pages made the heap saw by ~150 MB at the tail of a
 * 100,000-lead sync and set the pass's peak RSS (issue 12). Four pages keep the writes' CPU per lead.
 */
export const PAGES_PER_WRITE = 4;

interface LeadToFetch {
  id: number;
  jobId: string;
  callStatus: string | null;
  lastJobStatus: string | null;
  apiErrorCode: string | null;
}

export interface CallResultWrite {
  id: number;
  /** The job the result was read from: written only while the lead is still on it. */
  jobId: string;
  status: 'Succeeded' | 'Failed';
  conversation: string | null;
  callTaskId: string | null;
  callingNumber: string | null;
  planedTime: string | null;
}

interface LeadStateWrite {
  leadRowId: number;
  taskId: number;
  /** The job the state was read from: written only while the lead is still on it. */
  jobId: string;
  lastJobStatus: string | null;
  jobFailureReason: string | null;
  lastTaskStatus: string | null;
}

interface ApiErrorWrite {
  id: number;
  /** The job that could not be read: recorded only while the lead is still on it. */
  jobId: string;
  code: string;
  message: string;
}

/** What one page's answer changes, waiting for the writer. */
interface PageWrite {
  leads: LeadToFetch[];
  results: CallResultWrite[];
  states: LeadStateWrite[];
  apiErrors: ApiErrorWrite[];
}

type Step = ReturnType<typeof startStep>;

/** `jobIds`: how far sync_call_job_ids has written, when it runs alongside (job-ids-written.ts). */
export async function syncCallResults(deps: PipelineDeps, task: PendingTask, lease: HeldLease, jobIds: JobIdsWritten = ALL_JOB_IDS_WRITTEN): Promise<StepReport> {
  const step = startStep('query_task_execution', deps.clock.now);
  let afterId = 0;
  let pageNumber = 0;
  const next = async (): Promise<{ page: number; leads: LeadToFetch[] } | undefined> => {
    let leads: LeadToFetch[];
    for (;;) {
      lease.check();
      const through = jobIds.through;
      leads = await nextPage(deps, task.id, afterId, through);
      // A short page below the mark may still grow: the leads above it get their job ids yet.
      if (leads.length === CALL_RESULT_PAGE_SIZE || through === Infinity) break;
      await jobIds.movedPast(through);
    }
    if (leads.length === 0) return undefined;
    afterId = leads[leads.length - 1]!.id;
    step.add('leadsChecked', leads.length);
    return { page: ++pageNumber, leads };
  };
  // The writes trail the requests: a page's request slot is free again as soon as its answer is read.
  const writes = createWriteBehind<PageWrite>((pages) => storePages(deps, task, step, pages), 2 * deps.config.outboundbotMaxInFlight, PAGES_PER_WRITE);
  try {
    await pipelined(next, ({ page, leads }) => fetchPage(deps, task, step, page, leads, writes), deps.config.outboundbotMaxInFlight);
  } finally {
    await writes.close();
  }
  await recheckMissingConversations(deps, task, lease, step);
  return step.finish();
}

/** One page's ListJobs call; what it changes goes to the writer. An API failure is recorded on its leads. */
async function fetchPage(deps: PipelineDeps, task: PendingTask, step: Step, page: number, leads: LeadToFetch[], writes: WriteBehind<PageWrite>): Promise<void> {
  let jobs: JobDetail[];
  try {
    jobs = await deps.outboundbot.listJobs([...new Set(leads.map((l) => l.jobId))]); // rows sharing a phone share its job
    step.add('pages');
  } catch (error) {
    const code = errorCodeOf(error);
    const message = (error as Error).message;
    step.failed(error, page);
    step.add('pagesFailed');
    const apiErrors = leads.filter((l) => l.apiErrorCode !== code).map((l) => ({ id: l.id, jobId: l.jobId, code, message }));
    await writes.add({ leads: [], results: [], states: [], apiErrors });
    return; // the other pages go on (spec 3.2 error handling)
  }
  await writes.add({ leads, ...interpretPage(deps, task.id, leads, jobs) });
}

/** The pages answered since the last write, in one transaction, then their API errors. */
async function storePages(deps: PipelineDeps, task: PendingTask, step: Step, pages: PageWrite[]): Promise<void> {
  const leads = pages.flatMap((p) => p.leads);
  const results = pages.flatMap((p) => p.results);
  const states = pages.flatMap((p) => p.states);
  // One transaction: a Failed status is never stored without the failure reason its remark is
  // made from (follow-up-remarks.ts), whatever happens between the two writes.
  const stored = await retryOnLockConflict(() => deps.db.transaction(async (tx) => {
    const db = tx as unknown as Db;
    const onJob = await lockLeadsStillOn(db, states.map((s) => ({ id: s.leadRowId, jobId: s.jobId })));
    await writeLeadStates(db, states.filter((s) => onJob.has(s.leadRowId)));
    if (results.length === 0) return 0;
    const written = await writeCallResults(db, deps, task.id, results);
    // A call finishes when its status is first stored (a later write only brings the conversation).
    const before = new Map(leads.map((l) => [l.id, l.callStatus]));
    await countActivity(db, task.id, { callsFinished: results.filter((r) => before.get(r.id) == null).length });
    return written;
  }));
  if (results.length > 0) step.add('statusesStored', stored);
  if (states.length > 0) step.add('jobStatesChanged', states.length);
  if (leads.length > 0) {
    step.add('final', results.length);
    step.add('notFinal', leads.length - results.length);
  }
  const recorded = await retryOnLockConflict(() => writeApiErrors(deps, task.id, pages.flatMap((p) => p.apiErrors)));
  if (recorded > 0) step.add('apiErrorsRecorded', recorded);
}

async function nextPage(deps: PipelineDeps, taskId: number, afterId: number, throughId: number): Promise<LeadToFetch[]> {
  const belowMark = throughId === Infinity ? undefined : lte(lead.id, throughId);
  const rows = await deps.db
    .select({
      id: lead.id,
      jobId: lead.callJobId,
      callStatus: lead.callStatus,
      lastJobStatus: leadStates.lastJobStatus,
      apiErrorCode: leadStates.apiErrorCode,
    })
    .from(lead)
    .leftJoin(leadStates, eq(leadStates.leadRowId, lead.id))
    // A cancelled job is terminal (DESIGN §3.1): asking again would never tell anything new.
    .where(and(leadOfTask(taskId), gt(lead.id, afterId), belowMark, needsCallResult, isNotJobCancelled))
    .orderBy(asc(lead.id))
    .limit(CALL_RESULT_PAGE_SIZE);
  return rows.map((row) => ({ ...row, jobId: row.jobId! }));
}

/** Decides, per lead of the page, what is new: a final result to store, or a changed job state to remember. */
function interpretPage(deps: PipelineDeps, taskId: number, leads: LeadToFetch[], jobs: JobDetail[]) {
  const byJobId = new Map(jobs.map((job) => [job.jobId, job]));
  const results: CallResultWrite[] = [];
  const states: LeadStateWrite[] = [];
  const apiErrors: ApiErrorWrite[] = [];
  for (const l of leads) {
    const job = byJobId.get(l.jobId);
    if (!job) {
      if (l.apiErrorCode !== 'JobNotFound') {
        apiErrors.push({ id: l.id, jobId: l.jobId, code: 'JobNotFound', message: `Outbound Bot does not return job ${l.jobId}` });
      }
      continue;
    }
    const latest = job.tasks[job.tasks.length - 1];
    const result = callResultOf(deps, l.id, job);
    // A Succeeded lead already stored is only waiting for its conversation: write when it arrives.
    if (result && (l.callStatus !== result.status || result.conversation !== null)) results.push(result);
    const failureReason = job.failureReason || null;
    const taskStatus = latest?.status ?? null;
    if (l.lastJobStatus !== job.status || l.apiErrorCode !== null) {
      states.push({
        leadRowId: l.id,
        taskId,
        jobId: l.jobId,
        lastJobStatus: job.status,
        jobFailureReason: failureReason,
        lastTaskStatus: taskStatus,
      });
    }
  }
  return { results, states, apiErrors };
}

/** What a final job means for the lead's CRM columns; null while the job is not final. */
export function callResultOf(deps: Pick<PipelineDeps, 'config'>, leadRowId: number, job: JobDetail): CallResultWrite | null {
  if (!isFinalStatus(job.status)) return null;
  const latest = job.tasks[job.tasks.length - 1];
  return {
    id: leadRowId,
    jobId: job.jobId,
    status: job.status,
    conversation: latest && latest.conversation.length > 0 ? conversationText(latest.conversation) : null,
    callTaskId: latest?.taskId ?? null,
    callingNumber: latest?.callingNumber ?? null,
    planedTime: latest?.planedTime ? toCrmDateTime(latest.planedTime, deps.config.timeZone) : null,
  };
}

export async function writeCallResults(db: Db, deps: Pick<PipelineDeps, 'clock' | 'config'>, taskId: number, results: CallResultWrite[]): Promise<number> {
  const updatedTime = toCrmDateTime(deps.clock.now(), deps.config.timeZone);
  const column = <K extends keyof CallResultWrite>(key: K) => caseById(lead.id, results.map((r) => ({ id: r.id, value: r[key] })));
  const withConversation = results.filter((r) => r.conversation !== null).map((r) => r.id);
  // One transaction (a savepoint inside the caller's): a conversation is never written without its mark.
  return db.transaction(async (tx) => {
    const result = await tx
      .update(lead)
      .set({
        callStatus: column('status'),
        callConversation: column('conversation'),
        callTaskId: column('callTaskId'),
        callingNumber: column('callingNumber'),
        planedTime: column('planedTime'),
        updatedTime,
      })
      // Re-checked in the WHERE: a lead another pass completed, or moved to a newer job, meanwhile is left alone.
      .where(and(leadOfTask(taskId), inIds(lead.id, results.map((r) => r.id)), needsCallResult, eq(lead.callJobId, column('jobId'))));
    if (withConversation.length > 0) await markConversations(tx as unknown as Db, taskId, withConversation);
    return writeResult(result).affectedRows;
  });
}

/** af_lead_states.has_conversation for those of these leads whose row now holds a conversation (read back, so only what was written). */
async function markConversations(db: Db, taskId: number, leadIds: number[]): Promise<void> {
  const s = leadStates;
  const name = (column: typeof s.leadRowId | typeof s.taskId | typeof s.hasConversation) => sql.identifier(column.name);
  await db.execute(sql`INSERT INTO ${s} (${name(s.leadRowId)}, ${name(s.taskId)}, ${name(s.hasConversation)})
    SELECT ${lead.id}, ${lead.taskId}, 1 FROM ${lead} WHERE ${and(leadOfTask(taskId), inIds(lead.id, leadIds), hasConversation)}
    ON DUPLICATE KEY UPDATE ${name(s.hasConversation)} = 1`);
}

async function writeLeadStates(db: Db, states: LeadStateWrite[]): Promise<void> {
  if (states.length === 0) return;
  const s = leadStates;
  await db.execute(upsertRows(
    s,
    [s.leadRowId, s.taskId, s.lastJobStatus, s.jobFailureReason, s.lastTaskStatus],
    states.map((state) => [state.leadRowId, state.taskId, state.lastJobStatus, state.jobFailureReason, state.lastTaskStatus]),
    [s.lastJobStatus, s.jobFailureReason, s.lastTaskStatus],
    [s.apiErrorCode, s.apiErrorMessage, s.apiErrorAt],
  ));
}

/** Remembers, per lead, the API error that kept its job from being read (diagnose names it). */
async function writeApiErrors(deps: PipelineDeps, taskId: number, errors: ApiErrorWrite[]): Promise<number> {
  if (errors.length === 0) return 0;
  const at = new Date(deps.clock.now());
  return deps.db.transaction(async (tx) => {
    const db = tx as unknown as Db;
    const onJob = await lockLeadsStillOn(db, errors);
    const current = errors.filter((e) => onJob.has(e.id));
    if (current.length === 0) return 0;
    await db
      .insert(leadStates)
      .values(current.map((e) => ({ leadRowId: e.id, taskId, apiErrorCode: e.code, apiErrorMessage: capErrorMessage(e.message), apiErrorAt: at })))
      .onDuplicateKeyUpdate({
        set: {
          apiErrorCode: valuesOf(leadStates.apiErrorCode),
          apiErrorMessage: valuesOf(leadStates.apiErrorMessage),
          apiErrorAt: valuesOf(leadStates.apiErrorAt),
        },
      });
    return current.length;
  });
}

/**
 * Of these leads, those still on the job their answer came from, locked until the transaction ends:
 * after a broken lease another pass may have moved a lead to a newer job (and cleared its old job's
 * state), and the old job's Cancelled written back would stop the new job from ever being read.
 */
async function lockLeadsStillOn(db: Db, leads: ReadonlyArray<{ id: number; jobId: string }>): Promise<Set<number>> {
  if (leads.length === 0) return new Set();
  const rows = await db
    .select({ id: lead.id })
    .from(lead)
    .where(and(inIds(lead.id, leads.map((l) => l.id)), eq(lead.callJobId, caseById(lead.id, leads.map((l) => ({ id: l.id, value: l.jobId }))))))
    .orderBy(lead.id)
    .for('update');
  return new Set(rows.map((r) => r.id));
}

/** call_conversation keeps the API's own utterance list (DESIGN §2), in the API's field names. */
export function conversationText(conversation: Utterance[]): string {
  return JSON.stringify(
    conversation.map((u) => ({ Speaker: u.speaker, Script: u.script, Timestamp: u.timestamp, ...(u.action ? { Action: u.action } : {}) })),
  );
}
