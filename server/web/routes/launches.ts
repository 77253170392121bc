// 开始外呼 and 重新外呼 from the dashboard (issue 10): POST /tasks/:id/launch with the form's script,
// calling numbers and calling window, POST /tasks/:id/recall with a cause or lead ids, and the
// task's launch progress (af_launches) as a polled region. The commands are the operations'
// (operations/launch-operations.ts); these routes map their outcomes to a sentence.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { readLead } from '../../dashboard/lead-list.ts';
import { readTaskRow, type TaskListRow } from '../../dashboard/task-list.ts';
import type { ScriptSummary } from '../../outboundbot/types.ts';
import { DEFAULT_MAX_ATTEMPTS_PER_DAY, DEFAULT_MIN_ATTEMPT_INTERVAL_MINUTES } from '../../pipeline/launch-input.ts';
import { readLaunches, type LaunchRow } from '../../pipeline/launches.ts';
import { STAGE } from '../../pipeline/task-stages.ts';
import { actorOf, type DashboardOptions } from '../dashboard.ts';
import { httpError, t, taskIdFrom } from '../http-errors.ts';
import { commandRoute } from '../route-roles.ts';
import { answerAction, messageOf } from './action-outcome.ts';
import { leadView } from './task-view.ts';

type FormRequest = FastifyRequest<{ Params: { id: string }; Body: Record<string, unknown> | undefined }>;

/** How many attempts the progress region lists, newest first. */
export const LAUNCHES_SHOWN = 5;

/** What the 开始外呼 form offers: Outbound Bot's scripts when it answered, and the settings' defaults. */
export interface LaunchFormView {
  scripts: ScriptSummary[] | null;
  scriptId: string;
  callingNumbers: string;
  workingHours: string;
  maxAttemptsPerDay: number;
  minAttemptInterval: number;
}

export interface LaunchView {
  id: number;
  kind: string;
  status: string;
  jobGroupId: string | null;
  scriptId: string | null;
  leadsToCall: number;
  leadsFound: number;
  batchesSent: number;
  jobsCreated: number;
  startedBy: string;
  startedAt: Date;
  finishedAt: Date | null;
  errorCode: string | null;
  errorMessage: string | null;
}

export function launchView(row: LaunchRow): LaunchView {
  return {
    id: row.id, kind: row.kind, status: row.status, jobGroupId: row.jobGroupId, scriptId: row.scriptId,
    leadsToCall: row.leadsToCall, leadsFound: row.leadsFound, batchesSent: row.batchesSent, jobsCreated: row.jobsCreated,
    startedBy: row.startedBy, startedAt: row.startedAt, finishedAt: row.finishedAt, errorCode: row.errorCode, errorMessage: row.errorMessage,
  };
}

/** The task's latest launch and re-call attempts, for the page and its polled fragment. */
export async function loadLaunches(options: DashboardOptions, taskId: number): Promise<LaunchView[]> {
  return (await readLaunches(options.reads.db, taskId, LAUNCHES_SHOWN)).map(launchView);
}

/** The form's choices: only for a stage-1 task (the only one a launch takes), else null. */
export async function loadLaunchForm(options: DashboardOptions, task: Pick<TaskListRow, 'stage'>, canLaunch: boolean): Promise<LaunchFormView | null> {
  if (task.stage !== STAGE.notStarted || !canLaunch) return null;
  const { config } = options;
  return {
    scripts: await options.operations.launches.scripts(),
    scriptId: config.outboundbotScriptId ?? '',
    callingNumbers: config.outboundbotCallingNumbers.join(','),
    workingHours: config.outboundbotWorkingHours.map((w) => `${w.beginTime.slice(0, 5)}-${w.endTime.slice(0, 5)}`).join(','),
    maxAttemptsPerDay: DEFAULT_MAX_ATTEMPTS_PER_DAY,
    minAttemptInterval: DEFAULT_MIN_ATTEMPT_INTERVAL_MINUTES,
  };
}

/** A form sends one value as a string and several as a list; an empty field is no value. */
function listOf(value: unknown): string[] | undefined {
  if (value === undefined || value === '') return undefined;
  return [value].flat().map(String).filter((v) => v !== '');
}

function timeOf(reply: FastifyReply): (at: Date) => string {
  return reply.locals?.time ?? ((at: Date) => at.toISOString());
}

export const launchRoutes: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  const { reads, operations, config } = options;

  app.post('/tasks/:id/launch', commandRoute('launch'), async (request: FormRequest, reply) => {
    const taskId = taskIdFrom(reply, request.params.id);
    const body = request.body ?? {};
    const input = {
      scriptId: body.scriptId, callingNumbers: listOf(body.callingNumbers), workingHours: body.workingHours,
      maxAttemptsPerDay: body.maxAttemptsPerDay, minAttemptInterval: body.minAttemptInterval,
    };
    const outcome = await operations.launches.launch(actorOf(request), taskId, input);
    const message = messageOf(outcome, 'launch', timeOf(reply));
    return answerAction(request, reply, message, { template: 'partials/action-message', data: {} }, `/tasks/${taskId}`);
  });

  app.post('/tasks/:id/recall', commandRoute('recall'), async (request: FormRequest, reply) => {
    const taskId = taskIdFrom(reply, request.params.id);
    const body = request.body ?? {};
    if (!(await readTaskRow(reads.db, taskId))) throw httpError(404, t(reply)('task.err.notFound', { id: taskId }));
    const leadIds = listOf(body.leadIds);
    const causes = listOf(body.cause);
    const outcome = await operations.launches.recall(actorOf(request), taskId, { ...(causes ? { causes } : {}), ...(leadIds ? { leadIds } : {}) });
    const message = messageOf(outcome, 'recall', timeOf(reply));
    if (body.view === 'row' && leadIds?.length === 1) {
      const lead = await readLead(reads.db, taskId, Number(leadIds[0]), config.timeZone);
      if (lead) {
        const text = t(reply)(message.key, message.vars);
        return answerAction(request, reply, message, { template: 'partials/lead-row', data: { taskId, lead: leadView(lead), message: { kind: message.outcome, text } } }, `/tasks/${taskId}`);
      }
    }
    return answerAction(request, reply, message, { template: 'partials/action-message', data: {} }, `/tasks/${taskId}`);
  });

  app.get<{ Params: { id: string } }>('/tasks/:id/launches', async (request, reply) => {
    const taskId = taskIdFrom(reply, request.params.id);
    const task = await readTaskRow(reads.db, taskId);
    if (!task) throw httpError(404, t(reply)('task.err.notFound', { id: taskId }));
    return reply.view('partials/launch-progress', { task, launches: await loadLaunches(options, taskId) });
  });
};
