// The task page /tasks/:id (issue 3, part 2): the header card, the diagnosis with its funnel, the
// leads table (filtered, searched and paged through the URL), the run history and the audit log.
// Each region is a partial with its own fragment URL for polling; one loader feeds page and fragment.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { readAudit, type AuditEntry } from '../../audit-log.ts';
import { isLeadFilter, listLeads, type LeadFilterState } from '../../dashboard/lead-list.ts';
import { readTaskRow, type TaskListRow } from '../../dashboard/task-list.ts';
import { readTaskLlmUsage } from '../../dashboard/llm-usage.ts';
import { readTaskTrends } from '../../dashboard/task-trends.ts';
import { toCrmDateTime } from '../../crm-time.ts';
import { pricesOf } from '../../metrics.ts';
import { diagnoseTask } from '../../pipeline/diagnose.ts';
import { EMPTY_PROGRESS, type TaskProgress } from '../../read-model/task-progress.ts';
import { loadTask } from '../../pipeline/find-pending-tasks.ts';
import { lastRuns } from '../../pipeline/task-runs.ts';
import type { DashboardOptions } from '../dashboard.ts';
import { isHtmx } from '../dashboard.ts';
import { httpError, t, taskIdFrom } from '../http-errors.ts';
import { loadLaunchForm, loadLaunches } from './launches.ts';
import { usageView } from './llm-usage.ts';
import { diagnosisView, leadView, runView, type DiagnosisView, type LeadView, type RunView } from './task-view.ts';

export const LEADS_PAGE_SIZE = 50;
export const RUNS_SHOWN = 20;
export const AUDIT_SHOWN = 50;
/** Deeper pages are refused: OFFSET beyond this many leads is slow, and search finds a lead faster. */
export const MAX_LEADS_PAGE = 2000;
const MAX_QUERY_CHARS = 100;

export interface LeadQuery {
  state: LeadFilterState | undefined;
  q: string | undefined;
  page: number;
}

export interface LeadsRegion extends LeadQuery {
  taskId: number;
  rows: LeadView[];
  hasNext: boolean;
  pageSize: number;
}

/** state, q and page from the URL; anything malformed is a 400, never a guess. */
export function parseLeadQuery(reply: FastifyReply, query: Record<string, unknown>): LeadQuery {
  const tr = t(reply);
  const { state, q, page } = query;
  for (const [name, value] of Object.entries({ state, q, page })) {
    if (value !== undefined && typeof value !== 'string') throw httpError(400, tr('task.err.repeated', { name }));
  }
  if (state !== undefined && state !== '' && !isLeadFilter(state)) throw httpError(400, tr('task.err.badState', { state: String(state) }));
  const text = typeof q === 'string' ? q.trim() : '';
  if (text.length > MAX_QUERY_CHARS) throw httpError(400, tr('task.err.longQuery', { n: MAX_QUERY_CHARS }));
  let pageNumber = 1;
  if (page !== undefined && page !== '') {
    if (typeof page !== 'string' || !/^[1-9]\d{0,5}$/.test(page) || Number(page) > MAX_LEADS_PAGE) {
      throw httpError(400, tr('task.err.badPage', { page: String(page), max: MAX_LEADS_PAGE }));
    }
    pageNumber = Number(page);
  }
  return { state: isLeadFilter(state) ? state : undefined, q: text || undefined, page: pageNumber };
}

export async function loadLeads(options: DashboardOptions, taskId: number, query: LeadQuery): Promise<LeadsRegion> {
  const { rows, hasNext } = await listLeads(options.reads.db, taskId, {
    ...query, pageSize: LEADS_PAGE_SIZE, timeZone: options.config.timeZone,
  });
  return { taskId, ...query, rows: rows.map((row) => leadView(row)), hasNext, pageSize: LEADS_PAGE_SIZE };
}

/** The value, or a 404 naming the task. */
function found<T>(reply: FastifyReply, taskId: number, value: T | null): T {
  if (value === null) throw httpError(404, t(reply)('task.err.notFound', { id: taskId }));
  return value;
}

/**
 * The task row and its diagnosis. The progress over the task's leads (what costs on a task of tens
 * of thousands of leads) is read once, by diagnose; the row takes it from there.
 */
async function loadTaskAndDiagnosis(options: DashboardOptions, reply: FastifyReply, taskId: number): Promise<{ task: TaskListRow; diagnosis: DiagnosisView; progress: TaskProgress }> {
  const diagnosing = diagnoseTask(options.reads, taskId, { listLeads: false });
  // The row's other facts are read while diagnose reads the progress it then shares.
  const progress = diagnosing.then((d) => d?.progress ?? { ...EMPTY_PROGRESS });
  // Its failure is diagnose's, which the Promise.all below reports; readTaskRow takes this promise up
  // only after its own first read, and a rejection nobody holds yet would be an unhandled one.
  progress.catch(() => undefined);
  const [diagnosed, row] = await Promise.all([diagnosing, readTaskRow(options.reads.db, taskId, { progress })]);
  const diagnosis = found(reply, taskId, diagnosed);
  const task = found(reply, taskId, row);
  const words = { t: t(reply), time: (iso: string) => toCrmDateTime(Date.parse(iso), options.config.timeZone) };
  return { task, diagnosis: diagnosisView(diagnosis, words), progress: diagnosis.progress };
}

async function loadRuns(options: DashboardOptions, taskId: number): Promise<RunView[]> {
  return (await lastRuns(options.reads.db, taskId, RUNS_SHOWN)).map(runView);
}

async function loadAudit(options: DashboardOptions, taskId: number): Promise<AuditEntry[]> {
  return readAudit(options.reads.db, { taskId, limit: AUDIT_SHOWN });
}

/** Run history and audit fragments need only the task's id and existence: a primary-key read, no aggregate. */
async function taskHead(options: DashboardOptions, reply: FastifyReply, taskId: number): Promise<{ id: number }> {
  const task = found(reply, taskId, await loadTask(options.reads.db, taskId));
  return { id: task.id };
}

type IdParams = { Params: { id: string }; Querystring: Record<string, unknown> };

export const taskPageRoutes: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  app.get<IdParams>('/tasks/:id', async (request, reply) => {
    const taskId = taskIdFrom(reply, request.params.id);
    const { fragment } = request.query;
    if (fragment !== undefined && fragment !== 'leads') throw httpError(400, t(reply)('task.err.badFragment', { fragment: String(fragment) }));
    const query = parseLeadQuery(reply, request.query);
    reply.header('Vary', 'HX-Request');
    if (fragment === 'leads' && isHtmx(request)) {
      // The filter tabs poll with the rows, so their counts come along (index-only, see read-model/task-progress.ts).
      const [task, leads] = await Promise.all([readTaskRow(options.reads.db, taskId), loadLeads(options, taskId, query)]);
      return reply.view('partials/leads-table', { task: found(reply, taskId, task), leads });
    }
    const taskAndDiagnosis = loadTaskAndDiagnosis(options, reply, taskId);
    const [{ task, diagnosis }, leads, runs, audit, trends, launches, usage] = await Promise.all([
      taskAndDiagnosis, loadLeads(options, taskId, query), loadRuns(options, taskId), loadAudit(options, taskId),
      // The interest split is diagnose's progress: no second pass over the task's leads.
      taskAndDiagnosis.then(({ progress }) => readTaskTrends(options.reads.db, taskId, options.reads.clock.now(), options.config.timeZone, progress)),
      loadLaunches(options, taskId),
      readTaskLlmUsage(options.reads.db, taskId, pricesOf(options.config)).then(usageView),
    ]);
    // Only a stage-1 task, for someone who may launch it, asks Outbound Bot for its scripts.
    const launchForm = await loadLaunchForm(options, task, reply.locals?.can?.('launch') === true);
    return reply.view('pages/task', { task, diagnosis, leads, runs, audit, trends, launches, launchForm, usage });
  });

  app.get<IdParams>('/tasks/:id/diagnosis', async (request, reply) => {
    return reply.view('partials/diagnosis', await loadTaskAndDiagnosis(options, reply, taskIdFrom(reply, request.params.id)));
  });

  app.get<IdParams>('/tasks/:id/runs', async (request, reply) => {
    const task = await taskHead(options, reply, taskIdFrom(reply, request.params.id));
    return reply.view('partials/runs', { task, runs: await loadRuns(options, task.id) });
  });

  app.get<IdParams>('/tasks/:id/audit', async (request, reply) => {
    const task = await taskHead(options, reply, taskIdFrom(reply, request.params.id));
    return reply.view('partials/audit', { task, audit: await loadAudit(options, task.id) });
  });
};
