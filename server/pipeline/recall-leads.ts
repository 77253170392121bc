// 重新外呼 (issue 10, DESIGN §3.12): leads without a follow record whose call was cancelled, never
// made or failed get a new job, never twice (assign-missing-jobs.ts). Into the task's job group, or
// into a new one when Outbound Bot has ended it. Then, in one transaction: failed leads lose their
// old call status (their new call is not final), a new group becomes the task's, a task at stage 3
// or 4 goes back to 2 while they are calling (DESIGN §3.7), and the attempt is marked done. The
// leads then follow their new jobs through sync's re-issued-jobs rule (DESIGN §3.6), which keeps
// the old job ids in af_superseded_jobs.
import { and, asc, eq, inArray, or } from 'drizzle-orm';
import { writeResult } from '../db/client.ts';
import { launches, leadStates, supersededJobs } from '../db/schema/app.ts';
import { callTasks, leadsTaskList as lead } from '../db/schema/crm.ts';
import { assignMissingJobs } from './assign-missing-jobs.ts';
import type { PipelineDeps } from './deps.ts';
import type { PendingTask } from './find-pending-tasks.ts';
import { findOrCreateJobGroup, type GroupSettings } from './launch-job-group.ts';
import type { FailedAttempt, LaunchRow } from './launches.ts';
import { runLeasedAttempt, type AttemptRequest } from './leased-attempt.ts';
import type { RunRefusal } from './leased-run.ts';
import { RECALL_CAUSE_CONDITIONS, RECALL_CAUSES, type RecallCause } from './lead-causes.ts';
import { isUnfollowed, leadOfTask } from './lead-conditions.ts';
import type { LeadToCall } from './match-launched-jobs.ts';
import { STAGE } from './task-stages.ts';

/** JobGroup.Status values after which a group takes no more jobs (reference §4.2). */
const ENDED_GROUP_STATUSES = new Set(['Completed', 'Cancelled', 'Failed']);

export interface RecallRequest extends AttemptRequest {
  /** Absent: every re-call cause. */
  causes?: RecallCause[];
  /** Only these lead rows (still only if they have one of the causes). */
  leadIds?: number[];
}

export type RecallResult =
  | { status: 'recalled'; launchId: number; jobGroupId: string; leads: number; jobsCreated: number; newJobGroup: boolean; stageBefore: number; stageAfter: number }
  | { status: 'nothing-to-recall' }
  | FailedAttempt
  | { status: RunRefusal };

export async function recallLeads(deps: PipelineDeps, taskId: number, request: RecallRequest): Promise<RecallResult> {
  return runLeasedAttempt(deps, taskId, 'recall', request, {
    eligible: (task) => task.taskType >= STAGE.calling && task.taskType <= STAGE.followedUp && !!task.jobGroupId,
    leads: () => leadsToRecall(deps, taskId, request),
    nothing: { status: 'nothing-to-recall' } as const,
    async attempt({ task, lease, step, row, leads }) {
      const jobGroupId = await targetGroup(deps, row, task, request, () => step.add('jobGroupCreated'));
      await assignMissingJobs(deps, lease, step, { launchId: row.id, taskId, jobGroupId, leads, callingNumbers: request.callingNumbers });
      const stageAfter = await finishRecall(deps, row, task, jobGroupId, leads.map((l) => l.id));
      if (stageAfter !== task.taskType) step.add('stageMoved');
      step.add('leadsRecalled', leads.length);
      const done = {
        status: 'recalled', launchId: row.id, jobGroupId, leads: leads.length, jobsCreated: step.counts.jobsCreated ?? 0,
        newJobGroup: jobGroupId !== task.jobGroupId, stageBefore: task.taskType, stageAfter,
      } as const;
      return { stage: stageAfter, done };
    },
  });
}

async function leadsToRecall(deps: PipelineDeps, taskId: number, request: RecallRequest): Promise<LeadToCall[]> {
  const causes = request.causes && request.causes.length > 0 ? request.causes : [...RECALL_CAUSES];
  return deps.db
    .select({ id: lead.id, phone: lead.leadsPhone, name: lead.leadsName })
    .from(lead)
    .leftJoin(leadStates, eq(leadStates.leadRowId, lead.id))
    .where(and(
      leadOfTask(taskId),
      isUnfollowed, // a lead with its follow record is never re-called
      or(...causes.map((cause) => RECALL_CAUSE_CONDITIONS[cause])),
      request.leadIds ? inArray(lead.id, request.leadIds) : undefined,
    ))
    .orderBy(asc(lead.id));
}

/** The task's group while it takes jobs; a new one (found again by name after a lost answer) once it has ended. */
async function targetGroup(deps: PipelineDeps, row: LaunchRow, task: PendingTask, settings: GroupSettings, onCreated: () => void): Promise<string> {
  if (row.jobGroupId) return row.jobGroupId;
  const current = await deps.outboundbot.describeJobGroup(task.jobGroupId!);
  if (!ENDED_GROUP_STATUSES.has(current.status)) return task.jobGroupId!;
  return findOrCreateJobGroup(deps, row, task.name, settings, onCreated);
}

async function finishRecall(deps: PipelineDeps, row: LaunchRow, task: PendingTask, jobGroupId: string, leadIds: number[]): Promise<number> {
  const at = new Date(deps.clock.now());
  return deps.db.transaction(async (tx) => {
    // A failed lead's old result no longer stands: its new call is under way. It lets go of the old
    // job too (kept in af_superseded_jobs), so no pass can read that job's Failed back into it; sync
    // gives it the newest job for its phone (pair-jobs-to-leads.ts).
    for (let i = 0; i < leadIds.length; i += 500) {
      const failed = await tx
        .select({ id: lead.id, jobId: lead.callJobId })
        .from(lead)
        .where(and(leadOfTask(task.id), inArray(lead.id, leadIds.slice(i, i + 500)), eq(lead.callStatus, 'Failed'), isUnfollowed))
        .for('update');
      if (failed.length === 0) continue;
      const withJob = failed.filter((f) => f.jobId);
      if (withJob.length > 0) {
        await tx
          .insert(supersededJobs)
          .values(withJob.map((f) => ({ leadRowId: f.id, jobId: f.jobId!, taskId: task.id, lastJobStatus: 'Failed', supersededBy: `recall ${row.id}`, supersededAt: at })))
          .onDuplicateKeyUpdate({ set: { supersededAt: at } });
      }
      await tx.update(lead).set({ callStatus: null, callJobId: null }).where(and(inArray(lead.id, failed.map((f) => f.id)), eq(lead.callStatus, 'Failed'), isUnfollowed));
      await tx.update(leadStates).set({ lastJobStatus: null, jobFailureReason: null, lastTaskStatus: null }).where(inArray(leadStates.leadRowId, failed.map((f) => f.id)));
    }
    if (jobGroupId !== task.jobGroupId) {
      await tx.update(callTasks).set({ jobGroupId }).where(and(eq(callTasks.id, task.id), eq(callTasks.jobGroupId, task.jobGroupId!)));
    }
    const back = await tx
      .update(callTasks)
      .set({ taskType: STAGE.calling })
      .where(and(eq(callTasks.id, task.id), inArray(callTasks.taskType, [STAGE.callsDone, STAGE.followedUp])));
    await tx.update(launches).set({ status: 'done', finishedAt: at, updatedAt: at, errorCode: null, errorMessage: null }).where(eq(launches.id, row.id));
    return writeResult(back).affectedRows === 1 ? STAGE.calling : task.taskType;
  });
}
