// The scheduler panel (on the overview, polled as GET /scheduler/panel) and its three actions:
// pause / resume the whole scheduler (the switch every running copy reads, scheduler-switch.ts) and
// "run a pass now" (this process's scheduler, in the background, so the request never waits for it).
import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../db/client.ts';
import { listProcesses, type ProcessView } from '../../heartbeats.ts';
import type { Scheduler } from '../../scheduler.ts';
import { pauseScheduler, readSchedulerPause, resumeScheduler, type SchedulerPause } from '../../scheduler-switch.ts';
import type { DashboardOptions } from '../dashboard.ts';
import { answerAction, attempt, auditAction, ok, refused, type ActionMessage } from './action-outcome.ts';

export interface PassView {
  /** The process that ran it; null when nobody recorded it (this process's scheduler, not started). */
  owner: string | null;
  startedAt: Date;
  /** null while it runs */
  finishedAt: Date | null;
  durationMs: number | null;
  processed: number | null;
  error: string | null;
}

export interface SchedulerPanel {
  pause: SchedulerPause | null;
  processes: Array<ProcessView & { self: boolean }>;
  /** The latest pass of any process (af_processes), or this process's own when it is newer. */
  lastPass: PassView | null;
  /** The earliest next pass any live process has scheduled, else this process's. */
  nextPassAt: Date | null;
}

export async function loadSchedulerPanel(db: Db, scheduler: Scheduler, owner: string): Promise<SchedulerPanel> {
  const [pause, processes] = await Promise.all([readSchedulerPause(db), listProcesses(db)]);
  const recorded = processes
    .filter((p) => p.lastPassStartedAt !== null)
    .map((p): PassView => ({
      owner: p.owner,
      startedAt: p.lastPassStartedAt!,
      finishedAt: p.lastPassFinishedAt,
      durationMs: p.lastPassFinishedAt ? p.lastPassMs : null,
      processed: p.lastPassFinishedAt ? p.lastPassProcessed : null,
      error: p.lastPassError,
    }));
  const local = scheduler.lastPass();
  if (local) {
    recorded.push({
      owner,
      startedAt: local.startedAt,
      finishedAt: local.finishedAt,
      durationMs: local.finishedAt.getTime() - local.startedAt.getTime(),
      processed: local.summary?.processed ?? null,
      error: local.error,
    });
  }
  const lastPass = recorded.reduce<PassView | null>((latest, pass) => (!latest || pass.startedAt > latest.startedAt ? pass : latest), null);
  const planned = processes.filter((p) => p.alive && p.nextPassAt).map((p) => p.nextPassAt!);
  const localNext = scheduler.nextRun();
  if (localNext) planned.push(localNext);
  const nextPassAt = planned.reduce<Date | null>((earliest, at) => (!earliest || at < earliest ? at : earliest), null);
  return { pause, processes: processes.map((p) => ({ ...p, self: p.owner === owner })), lastPass, nextPassAt };
}

export const schedulerPanelRoutes: FastifyPluginAsync<DashboardOptions> = async (app, { pipeline, scheduler }) => {
  const { db } = pipeline;
  const panel = () => loadSchedulerPanel(db, scheduler, pipeline.owner);

  app.get('/scheduler/panel', async (_request, reply) => {
    return reply.header('Cache-Control', 'no-store').view('partials/scheduler-panel', { panel: await panel(), message: null });
  });

  const actions: Record<string, (operator: string, time: (at: Date) => string) => Promise<ActionMessage>> = {
    'pause-scheduler': async (operator, time) => {
      if (await pauseScheduler(db, operator)) return ok('msg.schedPaused', {});
      const pause = await readSchedulerPause(db);
      return refused('msg.schedAlreadyPaused', { by: pause?.pausedBy ?? '?', since: pause ? time(pause.pausedAt) : '?' });
    },
    'resume-scheduler': async (operator) => ((await resumeScheduler(db, operator)) ? ok('msg.schedResumed', {}) : refused('msg.schedNotPaused', {})),
    // runNow joins a pass already running in this process; a paused scheduler still runs it (an
    // operator's explicit request, scheduler.ts). Tracked by the scheduler, so shutdown waits for it.
    'run-pass': async () =>
      scheduler.runInBackground('dashboard monitor pass', () => scheduler.runNow('dashboard')) ? ok('msg.passStarted', {}) : refused('msg.shuttingDown', {}, 503),
  };

  for (const [action, path] of [['pause-scheduler', 'pause'], ['resume-scheduler', 'resume'], ['run-pass', 'run-pass']] as const) {
    app.post(`/scheduler/${path}`, async (request, reply) => {
      const operator = request.operator ?? 'unknown';
      const time = reply.locals?.time ?? ((at: Date) => at.toISOString());
      const message = await attempt(request, action, () => actions[action]!(operator, time));
      await auditAction(db, { actor: operator, action, taskId: null }, message);
      return answerAction(request, reply, message, { template: 'partials/scheduler-panel', data: { panel: await panel() } }, '/');
    });
  }
};
