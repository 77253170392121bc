// The scheduler panel (on the overview, polled as GET /scheduler/panel) and its three actions:
// pause / resume the whole scheduler (the switch every running copy reads, scheduler-switch.ts) and
// "run a pass now" (this process's scheduler, in the background, so the request never waits for it).
import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../db/client.ts';
import { listProcesses, type ProcessView } from '../../scheduler/heartbeats.ts';
import type { SchedulerView } from '../../operations/index.ts';
import { readSchedulerPause, type SchedulerPause } from '../../scheduler/scheduler-switch.ts';
import { actorOf, type DashboardOptions } from '../dashboard.ts';
import { commandRoute } from '../route-roles.ts';
import { answerAction, messageOf } from './action-outcome.ts';

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

export async function loadSchedulerPanel(db: Db, scheduler: SchedulerView, owner: string): Promise<SchedulerPanel> {
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

export const schedulerPanelRoutes: FastifyPluginAsync<DashboardOptions> = async (app, { reads, scheduler, operations }) => {
  const panel = () => loadSchedulerPanel(reads.db, scheduler, reads.owner);

  app.get('/scheduler/panel', async (_request, reply) => {
    return reply.header('Cache-Control', 'no-store').view('partials/scheduler-panel', { panel: await panel(), message: null });
  });

  const commands = [
    { path: 'pause', command: 'pause-scheduler', run: operations.scheduler.pause },
    { path: 'resume', command: 'resume-scheduler', run: operations.scheduler.resume },
    { path: 'run-pass', command: 'run-pass', run: operations.scheduler.runPass },
  ] as const;
  for (const { path, command, run } of commands) {
    app.post(`/scheduler/${path}`, commandRoute(command), async (request, reply) => {
      const outcome = await run(actorOf(request));
      const message = messageOf(outcome, 'scheduler', reply.locals?.time ?? ((at: Date) => at.toISOString()));
      return answerAction(request, reply, message, { template: 'partials/scheduler-panel', data: { panel: await panel() } }, '/');
    });
  }
};
