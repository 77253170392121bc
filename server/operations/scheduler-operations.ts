// The scheduler commands: pause / resume every running copy (the shared switch,
// scheduler-switch.ts) and run a pass now in this process, in the background.
import { pauseScheduler, readSchedulerPause, resumeScheduler } from '../scheduler/scheduler-switch.ts';
import { runCommand, type OperationsContext } from './context.ts';
import { done, refused, started, type Actor, type Outcome } from './outcome.ts';

export type SchedulerOperations = ReturnType<typeof schedulerOperations>;

export function schedulerOperations(context: OperationsContext) {
  const { pipeline: { db }, scheduler } = context;
  return {
    pause(actor: Actor): Promise<Outcome> {
      return runCommand(context, actor, 'pause-scheduler', {}, async () => {
        if (await pauseScheduler(db, actor.name)) return done('scheduler-paused');
        const pause = await readSchedulerPause(db);
        return refused('already-paused', { by: pause?.pausedBy ?? '?', since: pause?.pausedAt ?? null });
      });
    },
    resume(actor: Actor): Promise<Outcome> {
      return runCommand(context, actor, 'resume-scheduler', {}, async () =>
        (await resumeScheduler(db, actor.name)) ? done('scheduler-resumed') : refused('not-paused'),
      );
    },
    /**
     * runNow joins a pass already running in this process; a paused scheduler still runs it (an
     * operator's explicit request, scheduler.ts). Tracked by the scheduler, so shutdown waits for it.
     */
    runPass(actor: Actor): Promise<Outcome> {
      return runCommand(context, actor, 'run-pass', {}, async () =>
        scheduler.runInBackground(`monitor pass asked by ${actor.name}`, () => scheduler.runNow('dashboard')) ? started('pass-started') : refused('shutting-down'),
      );
    },
  };
}
