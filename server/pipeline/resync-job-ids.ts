// The dashboard's "re-sync job ids": after an operator added missing leads to the task's job group
// in Outbound Bot, look for them again now. A run like processTask's (same lease, same stage check,
// same run history) whose only step is sync_call_job_ids, preceded by forgetting the task's "not in
// job group" marks (DESIGN §3.6): until a complete listing has been read again, those leads count as
// not synced, so the task cannot move to stage 4 on the strength of an old listing. A lead a person
// closed loses its mark too and is never marked again, but it waits for no job id (isAwaitingJobId).
import { and, eq, isNotNull } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { writeResult } from '../db/client.ts';
import { leadStates } from '../db/schema/app.ts';
import type { PipelineDeps } from './deps.ts';
import type { PendingTask } from './find-pending-tasks.ts';
import type { HeldLease } from './leases.ts';
import { processTask, type RunTrigger, type TaskRunResult } from './process-task.ts';
import type { StepReport } from './step-report.ts';
import { syncCallJobIds } from './sync-call-job-ids.ts';

/** Stages 2 and 3 only, like processTask; 'paused' and 'leased-elsewhere' refuse without a run. */
export async function resyncJobIds(deps: PipelineDeps, taskId: number, options: { trigger: RunTrigger }): Promise<TaskRunResult> {
  return processTask(deps, taskId, { trigger: options.trigger, steps: [resyncStep] });
}

async function resyncStep(deps: PipelineDeps, task: PendingTask, lease: HeldLease): Promise<StepReport> {
  const marksCleared = await clearNotInJobGroupMarks(deps.db, task.id);
  const report = await syncCallJobIds(deps, task, lease);
  return { ...report, counts: { marksCleared, ...report.counts } };
}

/** Only marked rows are written, so a task without marks is left untouched. */
async function clearNotInJobGroupMarks(db: Db, taskId: number): Promise<number> {
  const result = await db
    .update(leadStates)
    .set({ notInGroupSince: null })
    .where(and(eq(leadStates.taskId, taskId), isNotNull(leadStates.notInGroupSince)));
  return writeResult(result).affectedRows;
}
