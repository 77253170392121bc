// Spec 3.1 sync_call_job_ids: page through the job group, match each job to a lead of the task by
// phone, and store its call_job_id. A complete listing also tells which leads the group does not
// contain at all: those are marked "not in job group" instead of being silently ignored (DESIGN §3.6).
import { and, inArray, isNotNull } from 'drizzle-orm';
import { caseById } from '../db/batch-update.ts';
import { writeResult } from '../db/client.ts';
import { leadStates } from '../db/schema/app.ts';
import { leadsTaskList as lead } from '../db/schema/crm.ts';
import { errorCodeOf } from '../outboundbot/errors.ts';
import type { GroupJob } from '../outboundbot/types.ts';
import { toCrmDateTime } from './crm-time.ts';
import type { PipelineDeps } from './deps.ts';
import { hasJobId, lacksJobId, leadOfTask } from './lead-conditions.ts';
import type { HeldLease } from './leases.ts';
import { normalizePhone } from '../phone.ts';
import type { PendingTask } from './find-pending-tasks.ts';
import { startStep, type StepReport } from './step-report.ts';

export const JOB_GROUP_PAGE_SIZE = 100; // spec 3.1

export async function syncCallJobIds(deps: PipelineDeps, task: PendingTask, lease: HeldLease): Promise<StepReport> {
  const step = startStep('sync_call_job_ids', deps.clock.now);
  const { db } = deps;
  const unsynced = await db.select({ id: lead.id, phone: lead.leadsPhone }).from(lead).where(and(leadOfTask(task.id), lacksJobId)).orderBy(lead.id);
  if (unsynced.length === 0 || !task.jobGroupId) return step.finish();

  const known = await db.select({ jobId: lead.callJobId }).from(lead).where(and(leadOfTask(task.id), hasJobId));
  const assignedJobs = new Set(known.map((row) => row.jobId!));
  const waitingByPhone = new Map<string, number[]>();
  for (const row of unsynced) {
    const phone = normalizePhone(row.phone);
    waitingByPhone.set(phone, [...(waitingByPhone.get(phone) ?? []), row.id]);
  }

  let pageCount = 1;
  let complete = true;
  const matchedIds = new Set<number>();
  for (let page = 1; page <= pageCount; page++) {
    lease.check();
    let jobs: GroupJob[];
    try {
      const result = await deps.outboundbot.listJobsByGroup(task.jobGroupId, page, JOB_GROUP_PAGE_SIZE);
      pageCount = Math.max(1, Math.ceil(result.totalCount / JOB_GROUP_PAGE_SIZE));
      jobs = result.jobs;
    } catch (error) {
      // A failed page is recorded and the others go on (DESIGN §3.9); the listing is then incomplete.
      complete = false;
      step.fail({ code: errorCodeOf(error), message: (error as Error).message, page });
      step.add('pagesFailed');
      if (page === 1) break; // without the first page the number of pages is unknown
      continue;
    }
    step.add('pages');
    step.add('jobsListed', jobs.length);
    const matches = matchJobsToLeads(jobs, waitingByPhone, assignedJobs);
    if (matches.length > 0) {
      const stored = await storeJobIds(deps, task.id, matches);
      step.add('matched', stored);
      for (const match of matches) matchedIds.add(match.id);
    }
  }

  const stillUnsynced = unsynced.map((row) => row.id).filter((id) => !matchedIds.has(id));
  if (complete) step.add('notInJobGroup', await markNotInJobGroup(deps, task.id, stillUnsynced));
  await clearNotInJobGroup(deps, [...matchedIds]);
  return step.finish();
}

/** Pairs each job not yet assigned in this task with a waiting lead of the same phone, one lead per job. */
export function matchJobsToLeads(jobs: GroupJob[], waitingByPhone: Map<string, number[]>, assignedJobs: Set<string>): Array<{ id: number; value: string }> {
  const matches: Array<{ id: number; value: string }> = [];
  for (const job of jobs) {
    if (assignedJobs.has(job.jobId)) continue;
    for (const phone of job.phoneNumbers.map(normalizePhone)) {
      const waiting = waitingByPhone.get(phone);
      const leadId = waiting?.shift();
      if (leadId === undefined) continue;
      matches.push({ id: leadId, value: job.jobId });
      assignedJobs.add(job.jobId);
      break;
    }
  }
  return matches;
}

async function storeJobIds(deps: PipelineDeps, taskId: number, matches: Array<{ id: number; value: string }>): Promise<number> {
  const now = toCrmDateTime(deps.clock.now(), deps.config.timeZone);
  const result = await deps.db
    .update(lead)
    .set({ callJobId: caseById(lead.id, matches), updatedTime: now })
    // The spec's guard: never replace a job id another pass stored meanwhile.
    .where(and(leadOfTask(taskId), inArray(lead.id, matches.map((m) => m.id)), lacksJobId));
  return writeResult(result).affectedRows;
}

/** Marks leads a complete listing lacked; only those not marked yet, so a repeat pass writes nothing. */
async function markNotInJobGroup(deps: PipelineDeps, taskId: number, leadIds: number[]): Promise<number> {
  if (leadIds.length === 0) return 0;
  const alreadyMarked = await deps.db
    .select({ id: leadStates.leadRowId })
    .from(leadStates)
    .where(and(inArray(leadStates.leadRowId, leadIds), isNotNull(leadStates.notInGroupSince)));
  const marked = new Set(alreadyMarked.map((row) => row.id));
  const fresh = leadIds.filter((id) => !marked.has(id));
  if (fresh.length === 0) return leadIds.length;
  const since = new Date(deps.clock.now());
  await deps.db
    .insert(leadStates)
    .values(fresh.map((id) => ({ leadRowId: id, taskId, notInGroupSince: since })))
    .onDuplicateKeyUpdate({ set: { notInGroupSince: since } });
  return leadIds.length;
}

async function clearNotInJobGroup(deps: PipelineDeps, leadIds: number[]): Promise<void> {
  if (leadIds.length === 0) return;
  await deps.db
    .update(leadStates)
    .set({ notInGroupSince: null })
    .where(and(inArray(leadStates.leadRowId, leadIds), isNotNull(leadStates.notInGroupSince)));
}
