// Spec 3.1 sync_call_job_ids: list the task's job group, pair its jobs with the task's leads by phone
// (pair-jobs-to-leads.ts) and store each lead's call_job_id. DESIGN §3.6 decides the edges: only a
// listing proven complete (job-group-listing.ts) may mark a lead "not in job group", rows sharing a
// phone share its latest job when there are fewer jobs than rows, and a lead without its follow
// record follows the newest job for its phone (the job it leaves is kept in af_superseded_jobs).
// The listing and the leads wait in the database while they are paired, one range of phones at a
// time (pairing-scratch.ts): the process holds O(range), whatever the task's size (issue 12).
import { and, eq, gt, inArray, isNotNull, isNull } from 'drizzle-orm';
import { caseById, valuesOf } from '../db/batch-update.ts';
import { writeResult, type Db } from '../db/client.ts';
import { jobGroupListings, leadStates, supersededJobs } from '../db/schema/app.ts';
import { leadsTaskList as lead } from '../db/schema/crm.ts';
import { toCrmDateTime } from '../crm-time.ts';
import type { PipelineDeps } from './deps.ts';
import type { PendingTask } from './find-pending-tasks.ts';
import { fetchPage, JOB_GROUP_PAGE_SIZE, listJobGroup } from './job-group-listing.ts';
import { countIf, hasJobId, isOpen, isUnfollowed, lacksFinalStatus, lacksJobId, leadOfTask } from './lead-conditions.ts';
import type { JobIdsProgress } from './job-ids-written.ts';
import type { HeldLease } from './leases.ts';
import { pairJobsToLeads, type JobMove, type LeadForPairing } from './pair-jobs-to-leads.ts';
import { openPairingScratch, type PairingScratch } from './pairing-scratch.ts';
import { startStep, type StepReport } from './step-report.ts';

/** Leads written per UPDATE. */
const WRITE_BATCH = 500;

/** `progress`: told as job ids are written, when query_task_execution runs alongside (job-ids-written.ts). */
export async function syncCallJobIds(deps: PipelineDeps, task: PendingTask, lease: HeldLease, progress?: JobIdsProgress): Promise<StepReport> {
  const step = startStep('sync_call_job_ids', deps.clock.now);
  const jobGroupId = task.jobGroupId;
  if (!jobGroupId) return step.finish();
  const { waiting, movable } = await countSyncCandidates(deps, task.id);
  if (waiting === 0 && movable === 0) return step.finish();

  // Every open lead has a job: only a job the group did not have at its last complete listing can
  // change anything (a re-issued call), and page 1's TotalCount says whether there is one.
  let firstPage;
  if (waiting === 0) {
    firstPage = await fetchPage(deps, jobGroupId, 1, JOB_GROUP_PAGE_SIZE, lease, step);
    if (!firstPage) return step.finish();
    const last = await lastCompleteListing(deps, task.id);
    if (last?.jobGroupId === jobGroupId && last.totalCount === firstPage.totalCount) {
      step.add('unchanged');
      return step.finish();
    }
  }

  // The leads and the listing wait in the database; the pairing takes one range of phones at a time.
  const scratch = await openPairingScratch(deps.db);
  try {
    await copyLeadsForPairing(deps, task.id, scratch, lease);
    const listing = await listJobGroup(deps, jobGroupId, lease, step, scratch, firstPage ?? undefined);
    for await (const range of scratch.ranges({ withHeld: !listing.complete })) {
      lease.check();
      const { moves, absent } = pairJobsToLeads(range.leads, range.jobs, listing.complete, range.held);
      await scratch.addNewJobs(moves.filter((m) => m.fromJobId === null));
      await storePairing(deps, task.id, step, moves.filter((m) => m.fromJobId !== null), listing.complete ? absent : null);
    }
    // Ranges are phones, not lead ids: the new job ids wait in the scratch until every range is
    // paired and then go in lead-id order, so query_task_execution reads each batch's leads while
    // the rest are written.
    for await (const batch of scratch.newJobsInLeadOrder(WRITE_BATCH)) {
      lease.check();
      const assigned = await assignNewJobs(deps, task.id, batch);
      if (assigned.length > 0) step.add('matched', assigned.length);
      await clearNotInGroupMarks(deps, assigned);
      progress?.writtenThrough(batch[batch.length - 1]!.leadRowId); // every lead up to it is settled
    }
    progress?.writtenThrough(Infinity);
    if (listing.complete) await rememberListing(deps, task.id, jobGroupId, listing.totalCount!);
  } finally {
    await scratch.close();
  }
  return step.finish();
}

/** One range's moves to newer jobs and, after a complete listing, its absent leads. */
async function storePairing(deps: PipelineDeps, taskId: number, step: ReturnType<typeof startStep>, changes: JobMove[], absent: number[] | null): Promise<void> {
  const moved = await moveToNewerJobs(deps, taskId, changes); // their not-in-group marks go with the move
  if (moved.length > 0) step.add('followNewerJob', moved.length);
  if (absent) {
    const { absent: absentCount, newlyMarked } = await markNotInJobGroup(deps, taskId, absent);
    step.add('notInJobGroup', absentCount);
    if (newlyMarked > 0) step.add('newlyNotInJobGroup', newlyMarked);
  }
}

async function countSyncCandidates(deps: PipelineDeps, taskId: number): Promise<{ waiting: number; movable: number }> {
  const [row] = await deps.db
    .select({
      waiting: countIf(and(lacksJobId, isOpen)),
      movable: countIf(and(hasJobId, lacksFinalStatus, isUnfollowed)),
    })
    .from(lead)
    .where(leadOfTask(taskId));
  return { waiting: Number(row?.waiting ?? 0), movable: Number(row?.movable ?? 0) };
}

/** Leads read per query into the scratch tables. */
const LEAD_READ_PAGE = 2000;

async function copyLeadsForPairing(deps: PipelineDeps, taskId: number, scratch: PairingScratch, lease: HeldLease): Promise<void> {
  for (let afterId = 0; ; ) {
    lease.check();
    const leads = await readLeadsForPairing(deps, taskId, afterId);
    if (leads.length === 0) return;
    await scratch.addLeads(leads);
    afterId = leads[leads.length - 1]!.id;
  }
}

async function readLeadsForPairing(deps: PipelineDeps, taskId: number, afterId: number): Promise<LeadForPairing[]> {
  const rows = await deps.db
    .select({ id: lead.id, phone: lead.leadsPhone, jobId: lead.callJobId, followId: lead.leadsFollowId, interest: lead.isInterested, status: lead.callStatus })
    .from(lead)
    .where(and(leadOfTask(taskId), gt(lead.id, afterId)))
    .orderBy(lead.id)
    .limit(LEAD_READ_PAGE);
  return rows.map((r) => ({
    id: r.id,
    phone: r.phone,
    jobId: r.jobId || null,
    done: r.followId !== null || r.interest !== null,
    followed: r.followId !== null,
    final: r.status === 'Succeeded' || r.status === 'Failed',
  }));
}

/**
 * One batch of leads without a job get theirs, conditional on what the pairing saw (the spec's
 * guard), so a lead another pass or a person changed meanwhile is left alone.
 */
async function assignNewJobs(deps: PipelineDeps, taskId: number, batch: ReadonlyArray<{ leadRowId: number; toJobId: string }>): Promise<number[]> {
  const updatedTime = toCrmDateTime(deps.clock.now(), deps.config.timeZone);
  const ids = batch.map((m) => m.leadRowId);
  const result = await deps.db
    .update(lead)
    .set({ callJobId: caseById(lead.id, batch.map((m) => ({ id: m.leadRowId, value: m.toJobId }))), updatedTime })
    .where(and(leadOfTask(taskId), inArray(lead.id, ids), lacksJobId, isNull(lead.leadsFollowId)));
  // Every row matched the guard: all got their job, no need to read them back (the usual case).
  if (writeResult(result).affectedRows === batch.length) return ids;
  return leadsNowOn(deps, batch);
}

/**
 * An open lead without a final status moves from the job it had to the newer one, conditional on
 * still holding the job the pairing saw. One transaction per batch: a lead never sits on its new job
 * with its old job's state (a Cancelled there would stop its new job from ever being read).
 */
async function moveToNewerJobs(deps: PipelineDeps, taskId: number, changes: JobMove[]): Promise<JobMove[]> {
  const updatedTime = toCrmDateTime(deps.clock.now(), deps.config.timeZone);
  const moved: JobMove[] = [];
  for (let i = 0; i < changes.length; i += WRITE_BATCH) {
    const batch = changes.slice(i, i + WRITE_BATCH);
    moved.push(...(await deps.db.transaction(async (tx) => moveBatch({ ...deps, db: tx as unknown as Db }, taskId, batch, updatedTime))));
  }
  return moved;
}

/** Moves one batch of open leads to their newer jobs, keeping the old job and clearing its state. */
async function moveBatch(deps: PipelineDeps, taskId: number, batch: JobMove[], updatedTime: string): Promise<JobMove[]> {
  await deps.db
    .update(lead)
    .set({ callJobId: caseById(lead.id, batch.map((m) => ({ id: m.leadRowId, value: m.toJobId }))), updatedTime })
    .where(and(
      leadOfTask(taskId),
      inArray(lead.id, batch.map((m) => m.leadRowId)),
      eq(lead.callJobId, caseById(lead.id, batch.map((m) => ({ id: m.leadRowId, value: m.fromJobId! })))),
      isUnfollowed,
      lacksFinalStatus,
    ));
  const landed = new Set(await leadsNowOn(deps, batch));
  const moved = batch.filter((m) => landed.has(m.leadRowId));
  if (moved.length === 0) return moved;
  await rememberSuperseded(deps, taskId, moved);
  await forgetOldJob(deps, moved.map((m) => m.leadRowId));
  return moved;
}

/** The leads of the batch that now hold the job the batch gave them. */
async function leadsNowOn(deps: PipelineDeps, batch: ReadonlyArray<Pick<JobMove, 'leadRowId' | 'toJobId'>>): Promise<number[]> {
  const wanted = new Map(batch.map((m) => [m.leadRowId, m.toJobId]));
  const rows = await deps.db.select({ id: lead.id, jobId: lead.callJobId }).from(lead).where(inArray(lead.id, [...wanted.keys()]));
  return rows.filter((r) => r.jobId === wanted.get(r.id)).map((r) => r.id);
}

/** A lead on a job is in its group: its "not in job group" mark goes. */
async function clearNotInGroupMarks(deps: PipelineDeps, leadIds: number[]): Promise<void> {
  for (let i = 0; i < leadIds.length; i += WRITE_BATCH) {
    await deps.db.update(leadStates).set({ notInGroupSince: null }).where(inArray(leadStates.leadRowId, leadIds.slice(i, i + WRITE_BATCH)));
  }
}

/**
 * A lead moved to a new job starts afresh: what autofollow knew of its old job (status, failure, API
 * error, the DescribeJob re-check) no longer applies. One batch of a move (at most WRITE_BATCH).
 */
async function forgetOldJob(deps: PipelineDeps, leadIds: number[]): Promise<void> {
  await deps.db
    .update(leadStates)
    .set({
      notInGroupSince: null, lastJobStatus: null, jobFailureReason: null, lastTaskStatus: null,
      apiErrorCode: null, apiErrorMessage: null, apiErrorAt: null, conversationCheckedAt: null,
    })
    .where(inArray(leadStates.leadRowId, leadIds));
}

/** Keeps the job each moved lead leaves, with the last status autofollow knew of it, for diagnose. */
async function rememberSuperseded(deps: PipelineDeps, taskId: number, moved: JobMove[]): Promise<void> {
  const states = await deps.db
    .select({ id: leadStates.leadRowId, status: leadStates.lastJobStatus })
    .from(leadStates)
    .where(inArray(leadStates.leadRowId, moved.map((m) => m.leadRowId)));
  const lastStatus = new Map(states.map((s) => [s.id, s.status]));
  const supersededAt = new Date(deps.clock.now());
  await deps.db
    .insert(supersededJobs)
    .values(moved.map((m) => ({
      leadRowId: m.leadRowId, jobId: m.fromJobId!, taskId, lastJobStatus: lastStatus.get(m.leadRowId) ?? null, supersededBy: m.toJobId, supersededAt,
    })))
    .onDuplicateKeyUpdate({ set: { supersededBy: valuesOf(supersededJobs.supersededBy), supersededAt } });
}

/** Marks leads a complete listing lacked; only those not marked yet, so a repeat pass writes nothing. */
async function markNotInJobGroup(deps: PipelineDeps, taskId: number, leadIds: number[]): Promise<{ absent: number; newlyMarked: number }> {
  if (leadIds.length === 0) return { absent: 0, newlyMarked: 0 };
  const alreadyMarked = await deps.db
    .select({ id: leadStates.leadRowId })
    .from(leadStates)
    .where(and(inArray(leadStates.leadRowId, leadIds), isNotNull(leadStates.notInGroupSince)));
  const marked = new Set(alreadyMarked.map((row) => row.id));
  const fresh = leadIds.filter((id) => !marked.has(id));
  if (fresh.length === 0) return { absent: leadIds.length, newlyMarked: 0 };
  const since = new Date(deps.clock.now());
  await deps.db
    .insert(leadStates)
    .values(fresh.map((id) => ({ leadRowId: id, taskId, notInGroupSince: since })))
    .onDuplicateKeyUpdate({ set: { notInGroupSince: since } });
  return { absent: leadIds.length, newlyMarked: fresh.length };
}

async function lastCompleteListing(deps: PipelineDeps, taskId: number) {
  const [row] = await deps.db.select().from(jobGroupListings).where(eq(jobGroupListings.taskId, taskId));
  return row ?? null;
}

/** Written only when it changed (DESIGN §3.11: a pass that learns nothing writes nothing). */
async function rememberListing(deps: PipelineDeps, taskId: number, jobGroupId: string, totalCount: number): Promise<void> {
  const last = await lastCompleteListing(deps, taskId);
  if (last?.jobGroupId === jobGroupId && last.totalCount === totalCount) return;
  const listedAt = new Date(deps.clock.now());
  await deps.db
    .insert(jobGroupListings)
    .values({ taskId, jobGroupId, totalCount, listedAt })
    .onDuplicateKeyUpdate({ set: { jobGroupId, totalCount, listedAt } });
}

