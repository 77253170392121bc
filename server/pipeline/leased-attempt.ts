// What launch and re-call share (issue 10): under the task's lease, read the leads to call; with
// none, nothing is started; otherwise start one af_launches attempt (or resume the one an
// interrupted process left), run the kind's own work, record a failure on the attempt instead of
// letting it escape, and the step on the run either way.
import type { PipelineDeps } from './deps.ts';
import type { PendingTask } from './find-pending-tasks.ts';
import type { GroupSettings } from './launch-job-group.ts';
import { failLaunch, startOrResumeLaunch, type FailedAttempt, type LaunchKind, type LaunchRow } from './launches.ts';
import { runUnderLease, type RunContext, type RunRefusal, type RunTrigger } from './leased-run.ts';
import type { LeadToCall } from './match-launched-jobs.ts';
import { startStep } from './step-report.ts';

export interface AttemptRequest extends GroupSettings {
  actor: string;
  trigger: RunTrigger;
}

export interface AttemptContext {
  task: PendingTask;
  lease: RunContext['lease'];
  step: ReturnType<typeof startStep>;
  row: LaunchRow;
  leads: LeadToCall[];
}

export async function runLeasedAttempt<Done, Nothing>(
  deps: PipelineDeps,
  taskId: number,
  kind: LaunchKind,
  request: AttemptRequest,
  spec: {
    eligible(task: PendingTask): boolean;
    leads(): Promise<LeadToCall[]>;
    /** The answer when there is no lead to call. */
    nothing: Nothing;
    /** The kind's work; returns the task's stage after it and the answer. */
    attempt(context: AttemptContext): Promise<{ stage: number; done: Done }>;
  },
): Promise<Done | Nothing | FailedAttempt | { status: RunRefusal }> {
  let result: Done | Nothing | FailedAttempt = spec.nothing;
  const run = await runUnderLease(deps, taskId, {
    trigger: request.trigger,
    eligible: spec.eligible,
    async work({ task, lease, record }) {
      const step = startStep(kind, deps.clock.now);
      const leads = await spec.leads();
      if (leads.length === 0) return task.taskType;
      const now = () => new Date(deps.clock.now());
      const row = await startOrResumeLaunch(deps.db, { taskId, kind, startedBy: request.actor, scriptId: request.scriptId, callingNumbers: request.callingNumbers, now: now() });
      try {
        const { stage, done } = await spec.attempt({ task, lease, step, row, leads });
        result = done;
        return stage;
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
