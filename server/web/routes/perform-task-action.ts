// The six task actions of the dashboard (issue 3 §4). Work runs in the background through the
// scheduler, so shutdown waits for it and the request never waits for Outbound Bot or the LLM: the
// answer says "started" and polling shows the progress.
//
// The refusals here ("already being processed", "paused", "not at a stage that is processed") are
// read from the task row just loaded and give the operator the reason at once; the pipeline's own
// checks (the lease claim, the pause check before it) stay the real guard against a race between
// this check and the background run.
import type { TaskListRow } from '../../dashboard/task-list.ts';
import type { PipelineDeps } from '../../pipeline/deps.ts';
import { breakLease } from '../../pipeline/leases.ts';
import { isProcessable } from '../../pipeline/process-task.ts';
import { resyncJobIds } from '../../pipeline/resync-job-ids.ts';
import { retryFailedAnalyses } from '../../pipeline/retry-analysis.ts';
import { pauseTask, readTaskPause, resumeTask } from '../../pipeline/task-pauses.ts';
import { stageName } from '../../pipeline/task-stages.ts';
import type { Scheduler } from '../../scheduler.ts';
import { ok, refused, type ActionMessage } from './action-outcome.ts';

export const TASK_ACTIONS = ['process', 'resync', 'retry-analysis', 'break-lease', 'pause', 'resume'] as const;
export type TaskAction = (typeof TASK_ACTIONS)[number];

export function isTaskAction(value: unknown): value is TaskAction {
  return typeof value === 'string' && (TASK_ACTIONS as readonly string[]).includes(value);
}

export interface ActionContext {
  pipeline: PipelineDeps;
  scheduler: Scheduler;
  task: TaskListRow;
  /** request.operator: who pauses (af_task_pauses.paused_by) */
  operator: string;
  /** A UTC Date as the operator reads it (CRM zone). */
  time: (at: Date) => string;
  /** break-lease: the lease owner the operator's page showed; only that lease is broken. */
  leaseOwnerSeen?: string;
}

export async function performTaskAction(action: TaskAction, context: ActionContext): Promise<ActionMessage> {
  switch (action) {
    case 'process':
      return startRun(context, 'msg.started.process', (id) => context.scheduler.processInBackground(id, 'dashboard'));
    case 'resync':
      return startRun(context, 'msg.started.resync', (id) =>
        context.scheduler.runInBackground(`re-sync of task ${id}`, async () => {
          const result = await resyncJobIds(context.pipeline, id, { trigger: 'dashboard' });
          context.pipeline.log.info({ taskId: id, status: result.status, outcome: result.outcome }, `dashboard re-sync of task ${id}: ${result.outcome ?? result.status}`);
        }),
      );
    case 'retry-analysis':
      return retryAnalyses(context);
    case 'break-lease':
      return breakTaskLease(context);
    case 'pause':
      return pause(context);
    case 'resume':
      return (await resumeTask(context.pipeline.db, context.task.id)) ? ok('msg.resumed', { id: context.task.id }) : refused('msg.notPaused', { id: context.task.id });
  }
}

/** Why a run must not start now, or null: a live lease (anyone's, ours included), a pause. */
function refusal({ task, time }: ActionContext): ActionMessage | null {
  if (task.lease && !task.lease.expired) return refused('msg.busy', { id: task.id, owner: task.lease.owner, since: time(task.lease.acquiredAt) });
  if (task.paused) return refused('msg.pausedRefused', { id: task.id, by: task.paused.pausedBy, since: time(task.paused.pausedAt) });
  return null;
}

async function startRun(context: ActionContext, startedKey: string, start: (taskId: number) => boolean): Promise<ActionMessage> {
  const { task } = context;
  const refusedNow = refusal(context);
  if (refusedNow) return refusedNow;
  if (!isProcessable({ id: task.id, name: task.name, taskType: task.stage, jobGroupId: task.jobGroupId })) {
    if (task.stage === 2 || task.stage === 3) return refused('msg.noJobGroup', { id: task.id });
    return refused('msg.notEligible', { id: task.id, stage: stageName(task.stage) });
  }
  if (!start(task.id)) return refused('msg.shuttingDown', {}, 503);
  return ok(startedKey, { id: task.id });
}

async function retryAnalyses(context: ActionContext): Promise<ActionMessage> {
  const { task, pipeline } = context;
  const refusedNow = refusal(context);
  if (refusedNow) return refusedNow;
  const n = task.progress.analysisFailed;
  if (n === 0) return refused('msg.nothingToRetry', { id: task.id });
  const started = context.scheduler.runInBackground(`retry of the failed analyses of task ${task.id}`, async () => {
    const result = await retryFailedAnalyses(pipeline, task.id, { trigger: 'dashboard' });
    pipeline.log.info(
      { taskId: task.id, status: result.status, retried: result.retried, succeeded: result.succeeded, stillFailed: result.stillFailed, leftAlone: result.leftAlone },
      `dashboard retry of the failed analyses of task ${task.id}: ${result.status}, ${result.succeeded} of ${result.retried} analysed`,
    );
  });
  if (!started) return refused('msg.shuttingDown', {}, 503);
  return ok('msg.started.retry', { id: task.id, n });
}

async function breakTaskLease({ pipeline, task, leaseOwnerSeen }: ActionContext): Promise<ActionMessage> {
  const owner = task.lease?.owner;
  if (!owner) return refused('msg.noLease', { id: task.id });
  // A page showed an expired lease of a dead process; another copy may have taken it over and be
  // working since. Breaking that live lease would let a second run start beside it.
  if (leaseOwnerSeen !== undefined && leaseOwnerSeen !== owner) return refused('msg.leaseChanged', { id: task.id, seen: leaseOwnerSeen, owner });
  if (await breakLease(pipeline.db, task.id, owner)) return ok('msg.leaseBroken', { id: task.id, owner });
  return refused('msg.noLease', { id: task.id });
}

async function pause({ pipeline, task, operator, time }: ActionContext): Promise<ActionMessage> {
  if (await pauseTask(pipeline.db, task.id, operator)) {
    // A run under way finishes its steps (task-pauses.ts): say so rather than let it look ignored.
    if (task.lease && !task.lease.expired) return ok('msg.pausedWhileRunning', { id: task.id, owner: task.lease.owner });
    return ok('msg.paused', { id: task.id });
  }
  const pause = await readTaskPause(pipeline.db, task.id);
  return refused('msg.alreadyPaused', { id: task.id, by: pause?.pausedBy ?? '?', since: pause ? time(pause.pausedAt) : '?' });
}
