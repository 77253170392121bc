// The overview "/": every task with its stage, progress, counts, lease and last run, filtered by
// stage and name and paged, all state in the URL (/?stage=2&q=name&page=3). With HX-Request and
// ?fragment=tasks it answers the table alone, which is how the page polls it. The page and the
// fragment are fed by the same loader, so they cannot drift.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { countTasksByStage, listTasks, STAGES, type Stage } from '../../dashboard/task-list.ts';
import { readSparklines } from '../../dashboard/task-sparklines.ts';
import type { ReadDeps } from '../../operations/index.ts';
import { isHtmx, type DashboardOptions } from '../dashboard.ts';
import { httpError } from '../http-errors.ts';
import { loadSchedulerPanel, schedulerPanelRoutes } from './scheduler-panel.ts';
import { taskActionRoutes } from './task-actions.ts';

export const OVERVIEW_PAGE_SIZE = 50;
export const MAX_SEARCH_CHARS = 100;
/** Far beyond any real list (1,000 tasks are 20 pages), and it keeps OFFSET bounded. */
export const MAX_PAGE = 10_000;

export interface OverviewQuery {
  stage?: Stage;
  /** Task name substring; '' for none. */
  q: string;
  page: number;
  /** 'tasks': the table fragment (with HX-Request). */
  fragment: 'tasks' | null;
}

/** The query string, or a 400 with a sentence naming the bad parameter: never a 500, nothing read. */
export function parseOverviewQuery(query: Record<string, unknown>): OverviewQuery {
  const stage = single(query, 'stage');
  const q = single(query, 'q')?.trim() ?? '';
  const page = single(query, 'page');
  const fragment = single(query, 'fragment');
  if (stage !== undefined && stage !== '' && !/^[1-4]$/.test(stage)) throw httpError(400, `stage must be 1, 2, 3 or 4, got "${stage.slice(0, 20)}"`);
  if (q.length > MAX_SEARCH_CHARS) throw httpError(400, `the search text is longer than ${MAX_SEARCH_CHARS} characters`);
  if (page !== undefined && page !== '' && !(/^[1-9]\d{0,4}$/.test(page) && Number(page) <= MAX_PAGE)) {
    throw httpError(400, `page must be a whole number from 1 to ${MAX_PAGE}, got "${page.slice(0, 20)}"`);
  }
  if (fragment !== undefined && fragment !== '' && fragment !== 'tasks') throw httpError(400, `fragment must be "tasks", got "${fragment.slice(0, 20)}"`);
  return {
    ...(stage ? { stage: Number(stage) as Stage } : {}),
    q,
    page: page ? Number(page) : 1,
    fragment: fragment ? 'tasks' : null,
  };
}

/** One value or none: a repeated parameter (?stage=1&stage=2) is ambiguous, so bad input. */
function single(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined || typeof value === 'string') return value;
  throw httpError(400, `give the parameter "${name}" once`);
}

export async function loadTasksTable(reads: ReadDeps, timeZone: string, query: OverviewQuery) {
  const [list, byStage] = await Promise.all([
    listTasks(reads.db, {
      ...(query.stage !== undefined ? { stage: query.stage } : {}),
      ...(query.q ? { q: query.q } : {}),
      page: query.page,
      pageSize: OVERVIEW_PAGE_SIZE,
    }),
    // The stage tabs sit in the polled table: a task that moves on moves its count with its row.
    countTasksByStage(reads.db),
  ]);
  // Refreshed with the rows: the table's poll reads them again, one statement for the page.
  const sparklines = await readSparklines(reads.db, list.rows.map((r) => r.id), reads.clock.now(), timeZone);
  const total = STAGES.reduce((sum, stage) => sum + byStage[stage], 0);
  return { list, query, sparklines, byStage, total };
}

export const overviewRoutes: FastifyPluginAsync<DashboardOptions> = async (app, { reads, scheduler, config }) => {
  app.get('/', async (request: FastifyRequest<{ Querystring: Record<string, unknown> }>, reply) => {
    const query = parseOverviewQuery(request.query ?? {});
    reply.header('Vary', 'HX-Request').header('Cache-Control', 'no-store');
    if (isHtmx(request) && query.fragment === 'tasks') return reply.view('partials/tasks-table', await loadTasksTable(reads, config.timeZone, query));
    const [table, panel] = await Promise.all([
      loadTasksTable(reads, config.timeZone, query),
      loadSchedulerPanel(reads.db, scheduler, reads.owner),
    ]);
    return reply.view('pages/overview', { ...table, panel });
  });
};

/** The overview's area as one plugin for dashboard-routes.ts: the page, the scheduler panel, the task card and actions. */
export const overviewArea: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  await app.register(overviewRoutes, options);
  await app.register(schedulerPanelRoutes, options);
  await app.register(taskActionRoutes, options);
};
