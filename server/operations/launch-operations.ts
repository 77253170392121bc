// 开始外呼 and 重新外呼 (issue 10), one place for the CLI, /api and the dashboard: check the role
// (runCommand), the input and the task, then launch or re-call. With a scheduler (serve, demo) the
// work runs in the background, audited at its start, and the task is processed at once after it
// (spec 4.1); without one (the CLI) it runs here and the task is processed before the answer.
import type { ScriptSummary } from '../outboundbot/types.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { PipelineDeps } from '../pipeline/deps.ts';
import { loadTask } from '../pipeline/find-pending-tasks.ts';
import { launchTask, type LaunchResult } from '../pipeline/launch-calls.ts';
import { parseLaunchInput, parseRecallInput } from '../pipeline/launch-input.ts';
import { readLease } from '../pipeline/leases.ts';
import { processTask, type RunTrigger } from '../pipeline/process-task.ts';
import { recallLeads, type RecallResult } from '../pipeline/recall-leads.ts';
import { readTaskPause } from '../pipeline/task-pauses.ts';
import { STAGE } from '../pipeline/task-stages.ts';
import { runCommand } from './context.ts';
import { done, failed, refused, started, type Actor, type Outcome } from './outcome.ts';

export interface LaunchContext {
  pipeline: PipelineDeps;
  /** Absent (the CLI): the work runs before the answer. */
  scheduler?: Pick<Scheduler, 'runInBackground' | 'processInBackground'>;
}

/** How long the task page waits for ListScripts before it offers a text field instead. */
const SCRIPTS_TIMEOUT_MS = 3000;

const triggerOf = (actor: Actor): RunTrigger => (actor.via === 'api' ? 'api' : actor.via === 'cli' ? 'cli' : 'dashboard');

export function launchOperations(context: LaunchContext) {
  const { pipeline, scheduler } = context;

  /** Why the task cannot be started now, or null. */
  async function blocker(taskId: number, stageOk: (stage: number, hasGroup: boolean) => boolean): Promise<Outcome<never> | null> {
    const task = await loadTask(pipeline.db, taskId);
    if (!task) return refused('not-found', { id: taskId });
    if (!stageOk(task.taskType, !!task.jobGroupId)) return refused('not-eligible', { id: taskId, stage: task.taskType });
    const pause = await readTaskPause(pipeline.db, taskId);
    if (pause) return refused('paused', { id: taskId, by: pause.pausedBy, since: pause.pausedAt });
    const lease = await readLease(pipeline.db, taskId);
    if (lease && !lease.expired) return refused('busy', { id: taskId, owner: lease.owner, since: lease.acquiredAt });
    return null;
  }

  /** Runs the work in the background when there is a scheduler, else here; then processes the task. */
  async function run<R extends LaunchResult | RecallResult>(actor: Actor, taskId: number, label: string, work: () => Promise<R>): Promise<Outcome> {
    if (scheduler) {
      const ok = scheduler.runInBackground(label, async () => {
        const result = await work();
        pipeline.log.info({ taskId, status: result.status }, `${label} by ${actor.name}: ${result.status}`);
        if (result.status === 'launched' || result.status === 'recalled') scheduler.processInBackground(taskId, triggerOf(actor));
      });
      return ok ? started(label.startsWith('launch') ? 'launch-started' : 'recall-started', { id: taskId }) : refused('shutting-down');
    }
    const result = await work();
    if (result.status === 'launched' || result.status === 'recalled') await processTask(pipeline, taskId, { trigger: triggerOf(actor) });
    return outcomeOf(taskId, result);
  }

  return {
    /**
     * The instance's scripts for the 开始外呼 form (ListScripts), or null when Outbound Bot does not
     * answer in time: the form then asks for the id as text. A read: no role, no audit.
     */
    async scripts(timeoutMs = SCRIPTS_TIMEOUT_MS): Promise<ScriptSummary[] | null> {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), timeoutMs);
      });
      try {
        return await Promise.race([pipeline.outboundbot.listScripts(), late]);
      } catch (error) {
        pipeline.log.warn({ err: error }, `ListScripts failed: ${(error as Error).message}`);
        return null;
      } finally {
        clearTimeout(timer);
      }
    },
    launch(actor: Actor, taskId: number, raw: unknown): Promise<Outcome> {
      return runCommand(context, actor, 'launch', { taskId }, async () => {
        const input = parseLaunchInput(raw, pipeline.config);
        if (!input.ok) return refused('bad-input', { problem: input.error });
        const no = await blocker(taskId, (stage) => stage === STAGE.notStarted);
        if (no) return no;
        return run(actor, taskId, `launch of task ${taskId}`, () => launchTask(pipeline, taskId, { ...input.value, actor: actor.name, trigger: triggerOf(actor) }));
      });
    },
    recall(actor: Actor, taskId: number, raw: unknown): Promise<Outcome> {
      const single = singleLeadId(raw);
      return runCommand(context, actor, 'recall', { taskId, leadRowId: single }, async () => {
        const input = parseRecallInput(raw, pipeline.config);
        if (!input.ok) return refused('bad-input', { problem: input.error });
        const no = await blocker(taskId, (stage, hasGroup) => stage >= STAGE.calling && stage <= STAGE.followedUp && hasGroup);
        if (no) return no;
        return run(actor, taskId, `re-call of task ${taskId}`, () => recallLeads(pipeline, taskId, { ...input.value, actor: actor.name, trigger: triggerOf(actor) }));
      });
    },
  };
}

function outcomeOf(taskId: number, result: LaunchResult | RecallResult): Outcome {
  switch (result.status) {
    case 'launched':
      return done('launched', { id: taskId, jobGroupId: result.jobGroupId, jobsCreated: result.jobsCreated, leadsFound: result.leadsFound });
    case 'recalled':
      return done('recalled', { id: taskId, jobGroupId: result.jobGroupId, leads: result.leads, jobsCreated: result.jobsCreated, stage: result.stageAfter });
    case 'no-leads':
      return refused('nothing-to-launch', { id: taskId });
    case 'nothing-to-recall':
      return refused('nothing-to-recall', { id: taskId });
    case 'failed':
      return failed(result.message, { id: taskId, code: result.code });
    case 'leased-elsewhere':
      return refused('busy', { id: taskId });
    default:
      return refused(result.status, { id: taskId });
  }
}

function singleLeadId(raw: unknown): number | null {
  const ids = (raw as { leadIds?: unknown } | null)?.leadIds;
  const list = Array.isArray(ids) ? ids : ids === undefined ? [] : [ids];
  if (list.length !== 1) return null;
  const id = Number(list[0]);
  return Number.isInteger(id) && id > 0 ? id : null;
}
