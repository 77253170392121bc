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
import { runUnderLease, type RunRefusal, type RunTrigger } from './leased-run.ts';
import { findOrCreateJobGroup, type GroupSettings } from './launch-job-group.ts';
import { failLaunch, startOrResumeLaunch, type LaunchRow } from './launches.ts';
import { isUnfollowed, lacksJobId, leadOfTask } from './lead-conditions.ts';
import type { LeadToCall } from './match-launched-jobs.ts';
import { startStep } from './step-report.ts';
import { STAGE } from './task-stages.ts';

export interface LaunchRequest extends GroupSettings {
  actor: string;
  trigger: RunTrigger;
}

export type LaunchResult =
  | { status: 'launched'; launchId: number; jobGroupId: string; jobsCreated: number; leadsFound: number; stageMoved: boolean }
  | { status: 'no-leads' }
  | { status: 'failed'; launchId: number; code: string; message: string; business: boolean }
  | { status: RunRefusal };

export async function launchTask(deps: PipelineDeps, taskId: number, request: LaunchRequest): Promise<LaunchResult> {
  let result: LaunchResult = { status: 'no-leads' };
  const run = await runUnderLease(deps, taskId, {
    trigger: request.trigger,
    eligible: (task) => task.taskType === STAGE.notStarted,
    async work({ task, lease, record }) {
      const step = startStep('launch', deps.clock.now);
      const leads = await leadsToLaunch(deps, taskId);
      if (leads.length === 0) return task.taskType;
      const now = () => new Date(deps.clock.now());
      const row = await startOrResumeLaunch(deps.db, { taskId, kind: 'launch', startedBy: request.actor, scriptId: request.scriptId, callingNumbers: request.callingNumbers, now: now() });
      try {
        // A group the CRM (or an earlier attempt) wrote on the task is the task's one group.
        const jobGroupId = task.jobGroupId || (await findOrCreateJobGroup(deps, row, task.name, request, () => step.add('jobGroupCreated')));
        await writeJobGroupId(deps, taskId, jobGroupId);
        await assignMissingJobs(deps, lease, step, { launchId: row.id, taskId, jobGroupId, leads, callingNumbers: request.callingNumbers });
        const stageMoved = await finishLaunch(deps, row, jobGroupId);
        if (stageMoved) step.add('stageMoved');
        result = { status: 'launched', launchId: row.id, jobGroupId, jobsCreated: step.counts.jobsCreated ?? 0, leadsFound: step.counts.leadsFound ?? 0, stageMoved };
        return stageMoved ? STAGE.calling : task.taskType;
      } catch (error) {
        result = await failLaunch(deps.db, row.id, step, error, now());
        return task.taskType;
      } finally {
        record(step.finish());
      }
    },
  });
  return run.status === 'processed' ? result : { status: run.status };
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
