// The task commands: process now, re-sync job ids, retry failed analyses, break a lease, pause,
// resume. The same rules answer the dashboard's buttons, POST /api/tasks/:id/process and any CLI
// caller. Work runs in the background through the scheduler, so shutdown waits for it and a request
// never waits for Outbound Bot or the LLM.
//
// The refusals ("busy", "paused", "not eligible") come from the task row just read and give the
// reason at once; the pipeline's own checks (the lease claim, the pause check before it) stay the
// real guard against a race between this check and the background run.
import { readTaskRow, type TaskListRow } from '../dashboard/task-list.ts';
import { breakLease } from '../pipeline/leases.ts';
import { isProcessable } from '../pipeline/process-task.ts';
import { resyncJobIds } from '../pipeline/resync-job-ids.ts';
import { retryFailedAnalyses } from '../pipeline/retry-analysis.ts';
import { pauseTask, readTaskPause, resumeTask } from '../pipeline/task-pauses.ts';
import type { Command } from './command-roles.ts';
import { runCommand, type OperationsContext } from './context.ts';
import { done, refused, started, type Actor, type Outcome } from './outcome.ts';

export const TASK_COMMANDS = ['process', 'resync', 'retry-analysis', 'break-lease', 'pause', 'resume'] as const satisfies readonly Command[];
export type TaskCommand = (typeof TASK_COMMANDS)[number];

export function isTaskCommand(value: unknown): value is TaskCommand {
  return typeof value === 'string' && (TASK_COMMANDS as readonly string[]).includes(value);
}

export interface TaskCommandOptions {
  /** break-lease: the lease owner the operator's page showed; only that lease is broken. */
  leaseOwnerSeen?: string;
}

export type TaskOperations = ReturnType<typeof taskOperations>;

export function taskOperations(context: OperationsContext) {
  const { pipeline, scheduler } = context;
  const trigger = (actor: Actor) => (actor.via === 'api' ? 'api' : 'dashboard');

  /** Why a run must not start now, or null: a live lease (anyone's, ours included), a pause. */
  function blocker(task: TaskListRow): Outcome<never> | null {
    if (task.lease && !task.lease.expired) return refused('busy', { id: task.id, owner: task.lease.owner, since: task.lease.acquiredAt });
    if (task.paused) return refused('paused', { id: task.id, by: task.paused.pausedBy, since: task.paused.pausedAt });
    return null;
  }

  function eligibility(task: TaskListRow): Outcome<never> | null {
    if (isProcessable({ id: task.id, name: task.name, taskType: task.stage, jobGroupId: task.jobGroupId })) return null;
    if (task.stage === 2 || task.stage === 3) return refused('no-job-group', { id: task.id });
    return refused('not-eligible', { id: task.id, stage: task.stage });
  }

  const commands: Record<TaskCommand, (actor: Actor, task: TaskListRow, options: TaskCommandOptions) => Promise<Outcome>> = {
    async process(actor, task) {
      const no = blocker(task) ?? eligibility(task);
      if (no) return no;
      return scheduler.processInBackground(task.id, trigger(actor)) ? started('process-started', { id: task.id }) : refused('shutting-down');
    },
    async resync(actor, task) {
      const no = blocker(task) ?? eligibility(task);
      if (no) return no;
      const ok = scheduler.runInBackground(`re-sync of task ${task.id}`, async () => {
        const result = await resyncJobIds(pipeline, task.id, { trigger: trigger(actor) });
        pipeline.log.info({ taskId: task.id, status: result.status, outcome: result.outcome }, `re-sync of task ${task.id} by ${actor.name}: ${result.outcome ?? result.status}`);
      });
      return ok ? started('resync-started', { id: task.id }) : refused('shutting-down');
    },
    async 'retry-analysis'(actor, task) {
      const no = blocker(task);
      if (no) return no;
      const n = task.progress.analysisFailed;
      if (n === 0) return refused('nothing-to-retry', { id: task.id });
      const ok = scheduler.runInBackground(`retry of the failed analyses of task ${task.id}`, async () => {
        const result = await retryFailedAnalyses(pipeline, task.id, { trigger: trigger(actor) });
        pipeline.log.info(
          { taskId: task.id, status: result.status, retried: result.retried, succeeded: result.succeeded, stillFailed: result.stillFailed, leftAlone: result.leftAlone },
          `retry of the failed analyses of task ${task.id} by ${actor.name}: ${result.status}, ${result.succeeded} of ${result.retried} analysed`,
        );
      });
      return ok ? started('retry-started', { id: task.id, n }) : refused('shutting-down');
    },
    async 'break-lease'(_actor, task, { leaseOwnerSeen }) {
      const owner = task.lease?.owner;
      if (!owner) return refused('no-lease', { id: task.id });
      // A page showed an expired lease of a dead process; another copy may have taken it over and be
      // working since. Breaking that live lease would let a second run start beside it.
      if (leaseOwnerSeen !== undefined && leaseOwnerSeen !== owner) return refused('lease-changed', { id: task.id, seen: leaseOwnerSeen, owner });
      return (await breakLease(pipeline.db, task.id, owner)) ? done('lease-broken', { id: task.id, owner }) : refused('no-lease', { id: task.id });
    },
    async pause(actor, task) {
      if (await pauseTask(pipeline.db, task.id, actor.name)) {
        // A run under way finishes its steps (task-pauses.ts): say so rather than let it look ignored.
        if (task.lease && !task.lease.expired) return done('paused-while-running', { id: task.id, owner: task.lease.owner });
        return done('paused', { id: task.id });
      }
      const pause = await readTaskPause(pipeline.db, task.id);
      return refused('already-paused', { id: task.id, by: pause?.pausedBy ?? '?', since: pause?.pausedAt ?? null });
    },
    async resume(_actor, task) {
      return (await resumeTask(pipeline.db, task.id)) ? done('resumed', { id: task.id }) : refused('not-paused', { id: task.id });
    },
  };

  return {
    /** One task command for one task; a task that does not exist is refused as not-found (and audited). */
    run(actor: Actor, command: TaskCommand, taskId: number, options: TaskCommandOptions = {}): Promise<Outcome> {
      return runCommand(context, actor, command, { taskId }, async () => {
        const task = await readTaskRow(pipeline.db, taskId);
        if (!task) return refused('not-found', { id: taskId });
        return commands[command](actor, task, options);
      });
    },
  };
}
