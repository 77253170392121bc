// Spec 3.3 create_leads_follow and 3.4 create_leads_follow_by_task_and_phone: decide each ready
// lead's follow record (fixed remark for a Failed call, LLM analysis for a Succeeded one with its
// conversation) and write them exactly once (write-follow-ups.ts). A Succeeded call without its
// conversation is not ready and waits (DESIGN §3.4).
//
// No page barrier (issue 12): ready leads are read page by page, but each job's analysis starts as
// soon as an LLM place is free and its decision joins the next small batch write the moment it is
// ready (follow-up-batches.ts). The LLM client keeps LLM_CONCURRENCY (or what throttling leaves of
// it) calls in flight; here just enough work is queued ahead to keep it fed.
import { and, asc, eq, gt, inArray, type SQL } from 'drizzle-orm';
import { leadStates } from '../db/schema/app.ts';
import { leadsTaskList as lead } from '../db/schema/crm.ts';
import type { FollowUpAnalysis } from '../llm/types.ts';
import { pipelined } from '../net/pipelined.ts';
import type { Utterance } from '../outboundbot/types.ts';
import { toCrmDateTime } from '../crm-time.ts';
import type { PipelineDeps } from './deps.ts';
import type { PendingTask } from './find-pending-tasks.ts';
import { createFollowUpBatches } from './follow-up-batches.ts';
import { ANALYSIS_FAILED_REMARK, failedCallRemark } from './follow-up-remarks.ts';
import { isReadyForFollowUp, lacksJobId, leadOfTask } from './lead-conditions.ts';
import type { HeldLease } from './leases.ts';
import { normalizePhone } from '../phone.ts';
import { capErrorMessage, startStep, type StepReport } from './step-report.ts';
import { writeFollowUps, type FollowUpDecision, type WriteOutcome } from './write-follow-ups.ts';

/** Ready leads read per query; their decisions are written in batches as answers arrive (follow-up-batches.ts). */
export const FOLLOW_UP_PAGE_SIZE = 50;

interface ReadyLead {
  id: number;
  taskId: number;
  leadsId: number;
  name: string | null;
  phone: string;
  jobId: string | null;
  callStatus: string | null;
  conversation: string | null;
  jobFailureReason: string | null;
  lastTaskStatus: string | null;
}

/** Jobs queued ahead of the LLM per place it has: enough that a freed place never waits for a read. */
const QUEUED_PER_LLM_PLACE = 2;

export async function createFollowUps(deps: PipelineDeps, task: PendingTask, lease: HeldLease): Promise<StepReport> {
  const step = startStep('create_leads_follow', deps.clock.now);
  const batches = createFollowUpBatches(deps.db, () => {
    const now = deps.clock.now();
    return { crmNow: toCrmDateTime(now, deps.config.timeZone), at: new Date(now) };
  });
  let afterId = 0;
  let queued: ReadyLead[][] = [];
  // Rows taken ahead of the keyset (with an earlier row of their job) that a later page must not take
  // again; ids the keyset has passed are dropped, since no read reaches them any more.
  const taken = new Set<number>();
  const next = async (): Promise<ReadyLead[] | undefined> => {
    if (batches.failure) throw batches.failure;
    while (queued.length === 0) {
      lease.check();
      const page = await readyLeads(deps, and(leadOfTask(task.id), gt(lead.id, afterId))!, FOLLOW_UP_PAGE_SIZE);
      if (page.length === 0) return undefined;
      afterId = page[page.length - 1]!.id;
      const rows = [...page, ...(await laterRowsOfTheSameJobs(deps, task.id, page))].filter((l) => !taken.has(l.id));
      for (const id of taken) if (id <= afterId) taken.delete(id);
      for (const l of rows) if (l.id > afterId) taken.add(l.id);
      queued = groupByReading(rows);
    }
    return queued.shift();
  };
  try {
    await pipelined(next, async (rows) => {
      const crmNow = toCrmDateTime(deps.clock.now(), deps.config.timeZone);
      const reading = rows[0]!.callStatus === 'Failed' ? null : analyseConversation(deps, rows[0]!, crmNow);
      await batches.add(await Promise.all(rows.map((l, i) => decide(l, crmNow, () => reading!, i === 0))));
    }, deps.config.llmConcurrency * QUEUED_PER_LLM_PLACE);
  } finally {
    const outcome = await batches.close();
    step.add('created', outcome.created);
    if (outcome.alreadyDone) step.add('alreadyDone', outcome.alreadyDone);
    if (outcome.analysisFailed) step.add('analysisFailed', outcome.analysisFailed);
  }
  return step.finish();
}

/**
 * The rows that share one LLM reading: those of one job with the same conversation (DESIGN §3.6,
 * rows sharing a phone share its job). A Failed call needs no reading and stands alone.
 */
function groupByReading(rows: ReadyLead[]): ReadyLead[][] {
  const groups = new Map<string, ReadyLead[]>();
  for (const l of rows) {
    const key = l.callStatus === 'Failed' ? `row ${l.id}` : readingKey(l);
    const group = groups.get(key);
    if (group) group.push(l);
    else groups.set(key, [l]);
  }
  return [...groups.values()];
}

const readingKey = (l: ReadyLead) => `${l.jobId ?? `row ${l.id}`}\0${l.conversation ?? ''}`;

/** Spec 3.3 for one job: the lead(s) of that call_job_id. */
export async function createFollowUpForJob(deps: PipelineDeps, callJobId: string): Promise<WriteOutcome> {
  return decideAndWrite(deps, await readyLeads(deps, eq(lead.callJobId, callJobId), FOLLOW_UP_PAGE_SIZE));
}

/** Spec 3.4: a lead without call_job_id, found by task and phone (compared as normalised digits). */
export async function createFollowUpByTaskAndPhone(deps: PipelineDeps, taskId: number, phone: string): Promise<WriteOutcome> {
  const candidates = await readyLeads(deps, and(leadOfTask(taskId), lacksJobId)!, Number.MAX_SAFE_INTEGER);
  const wanted = normalizePhone(phone);
  return decideAndWrite(deps, candidates.filter((l) => normalizePhone(l.phone) === wanted));
}

/**
 * Rows sharing a phone may share its job (DESIGN §3.6): the rows of the page's jobs that a later page
 * would hold are decided with them, so the LLM reads each conversation once.
 */
async function laterRowsOfTheSameJobs(deps: PipelineDeps, taskId: number, page: ReadyLead[]): Promise<ReadyLead[]> {
  const jobIds = [...new Set(page.map((l) => l.jobId).filter((id): id is string => !!id))];
  if (jobIds.length === 0) return [];
  return readyLeads(deps, and(leadOfTask(taskId), gt(lead.id, page[page.length - 1]!.id), inArray(lead.callJobId, jobIds))!, Number.MAX_SAFE_INTEGER);
}

async function readyLeads(deps: PipelineDeps, where: SQL, limit: number): Promise<ReadyLead[]> {
  return deps.db
    .select({
      id: lead.id,
      taskId: lead.taskId,
      leadsId: lead.leadsId,
      name: lead.leadsName,
      phone: lead.leadsPhone,
      jobId: lead.callJobId,
      callStatus: lead.callStatus,
      conversation: lead.callConversation,
      jobFailureReason: leadStates.jobFailureReason,
      lastTaskStatus: leadStates.lastTaskStatus,
    })
    .from(lead)
    .leftJoin(leadStates, eq(leadStates.leadRowId, lead.id))
    .where(and(where, isReadyForFollowUp))
    .orderBy(asc(lead.id))
    .limit(limit);
}

async function decideAndWrite(deps: PipelineDeps, leads: ReadyLead[]): Promise<WriteOutcome & { analysisFailed: number }> {
  const now = deps.clock.now();
  const crmNow = toCrmDateTime(now, deps.config.timeZone);
  // The LLM is called here, before and outside the write transaction (DESIGN §3.2), once per
  // conversation: rows that share a job share its reading, and each still gets its own record.
  const readings = new Map<string, Promise<FollowUpAnalysis>>();
  const analyse = (l: ReadyLead) => readings.get(readingKey(l))!;
  const decisions = await Promise.all(leads.map((l) => {
    const key = readingKey(l);
    const owns = l.callStatus !== 'Failed' && !readings.has(key);
    if (owns) readings.set(key, analyseConversation(deps, l, crmNow));
    return decide(l, crmNow, analyse, owns);
  }));
  const outcome = await writeFollowUps(deps.db, decisions, crmNow, new Date(now));
  return { ...outcome, analysisFailed: decisions.filter((d) => d.analysis?.status === 'failed').length };
}

async function decide(l: ReadyLead, crmNow: string, analyse: (l: ReadyLead) => Promise<FollowUpAnalysis>, ownsReading: boolean): Promise<FollowUpDecision> {
  const base = { leadRowId: l.id, taskId: l.taskId, leadsId: l.leadsId };
  if (l.callStatus === 'Failed') {
    // A call that never connected needs no LLM (DESIGN §3.3).
    return { ...base, remark: failedCallRemark(l.jobFailureReason, l.lastTaskStatus), isInterested: 0, nextFollowTime: null, analysis: null };
  }
  const analysis = await analyse(l);
  // Rows sharing a job share one reading: its tokens are counted on one of them only.
  const usage = ownsReading ? analysis.usage : undefined;
  if (!analysis.ok) {
    return { ...base, remark: ANALYSIS_FAILED_REMARK, isInterested: 0, nextFollowTime: null, analysis: { status: 'failed', error: capErrorMessage(analysis.error), usage } };
  }
  return { ...base, remark: analysis.remark, isInterested: analysis.isInterested, nextFollowTime: analysis.nextFollowTime, analysis: { status: 'ok', error: null, usage } };
}

/** The LLM's reading of a lead's stored conversation; also used to retry a failed one (retry-analysis.ts). */
export async function analyseConversation(deps: PipelineDeps, l: { name: string | null; conversation: string | null }, crmNow: string): Promise<FollowUpAnalysis> {
  const conversation = parseConversation(l.conversation);
  if (!conversation) return { ok: false, error: 'call_conversation is not a JSON list of utterances' };
  return deps.llm.analyse({ leadName: l.name, conversation, now: crmNow });
}

function parseConversation(text: string | null): Utterance[] | null {
  if (!text) return null;
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value) || value.length === 0) return null;
    return value.map((u: Record<string, unknown>) => ({
      speaker: String(u.speaker ?? u.Speaker ?? ''),
      script: String(u.script ?? u.Script ?? ''),
      timestamp: typeof (u.timestamp ?? u.Timestamp) === 'number' ? Number(u.timestamp ?? u.Timestamp) : null,
    }));
  } catch {
    return null;
  }
}
