// Launch (issue 10, spec 4.1 before process_task_after_creation): a stage-1 task's leads become
// Outbound Bot jobs. Under the task's lease: find or create its one job group, write job_group_id,
// give every lead without a job its job (assign-missing-jobs.ts, never twice), then move the task
// 1 -> 2 and mark the attempt done in one transaction. Started again after any interruption, it ends
// with one group and one job per lead; the caller then processes the task at once.
import { and, asc, eq, isNull, or } from 'drizzle-orm';
import { writeResult } from '../db/client.ts';
import { launches } from '../db/schema/app.ts';
import { callTasks, leadsTaskList as lead } from '../db/schema/crm.ts';
import { assignMissingJobs } from './assign-missing-jobs.ts';
import type { PipelineDeps } from './deps.ts';
import { findOrCreateJobGroup } from './launch-job-group.ts';
import type { FailedAttempt, LaunchRow } from './launches.ts';
import { runLeasedAttempt, type AttemptRequest } from './leased-attempt.ts';
import type { RunRefusal } from './leased-run.ts';
import { isUnfollowed, lacksJobId, leadOfTask } from './lead-conditions.ts';
import type { LeadToCall } from './match-launched-jobs.ts';
import { STAGE } from './task-stages.ts';

export type LaunchRequest = AttemptRequest;

export type LaunchResult =
  | { status: 'launched'; launchId: number; jobGroupId: string; jobsCreated: number; leadsFound: number; stageMoved: boolean }
  | { status: 'no-leads' }
  | FailedAttempt
  | { status: RunRefusal };

export async function launchTask(deps: PipelineDeps, taskId: number, request: LaunchRequest): Promise<LaunchResult> {
  return runLeasedAttempt(deps, taskId, 'launch', request, {
    eligible: (task) => task.taskType === STAGE.notStarted,
    leads: () => leadsToLaunch(deps, taskId),
    nothing: { status: 'no-leads' } as const,
    async attempt({ task, lease, step, row, leads }) {
      // A group the CRM (or an earlier attempt) wrote on the task is the task's one group.
      const jobGroupId = task.jobGroupId || (await findOrCreateJobGroup(deps, row, task.name, request, () => step.add('jobGroupCreated')));
      await writeJobGroupId(deps, taskId, jobGroupId);
      await assignMissingJobs(deps, lease, step, { launchId: row.id, taskId, jobGroupId, leads, callingNumbers: request.callingNumbers });
      const stageMoved = await finishLaunch(deps, row, jobGroupId);
      if (stageMoved) step.add('stageMoved');
      const done = { status: 'launched', launchId: row.id, jobGroupId, jobsCreated: step.counts.jobsCreated ?? 0, leadsFound: step.counts.leadsFound ?? 0, stageMoved } as const;
      return { stage: stageMoved ? STAGE.calling : task.taskType, done };
    },
  });
}

/** Every lead a person has not decided on yet and that has no job: one job each. */
async function leadsToLaunch(deps: PipelineDeps, taskId: number): Promise<LeadToCall[]> {
  const rows = await deps.db
    .select({ id: lead.id, phone: lead.leadsPhone, name: lead.leadsName })
    .from(lead)
    .where(and(leadOfTask(taskId), isUnfollowed, lacksJobId))
    .orderBy(asc(lead.id));
  return rows;
}

/** Written while the task is at stage 1 and has none, so a group the CRM set is never overwritten. */
async function writeJobGroupId(deps: PipelineDeps, taskId: number, jobGroupId: string): Promise<void> {
  await deps.db
    .update(callTasks)
    .set({ jobGroupId })
    .where(and(eq(callTasks.id, taskId), eq(callTasks.taskType, STAGE.notStarted), or(isNull(callTasks.jobGroupId), eq(callTasks.jobGroupId, ''))));
}

/** 1 -> 2 (conditional, DESIGN §3.7) and the attempt done, together: no restart can see one without the other. */
async function finishLaunch(deps: PipelineDeps, row: LaunchRow, jobGroupId: string): Promise<boolean> {
  const at = new Date(deps.clock.now());
  return deps.db.transaction(async (tx) => {
    const moved = await tx
      .update(callTasks)
      .set({ taskType: STAGE.calling })
      .where(and(eq(callTasks.id, row.taskId), eq(callTasks.taskType, STAGE.notStarted), eq(callTasks.jobGroupId, jobGroupId)));
    await tx.update(launches).set({ status: 'done', finishedAt: at, updatedAt: at, errorCode: null, errorMessage: null }).where(eq(launches.id, row.id));
    return writeResult(moved).affectedRows === 1;
  });
}
