// The operations layer (STYLE §1, issue 8): one function per operator command. The dashboard, /api
// and the CLI call these and only map the outcome to a status, a sentence or an exit code.
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { PipelineDeps } from '../pipeline/deps.ts';
import { accessOperations } from './access-operations.ts';
import { accountOperations } from './account-operations.ts';
import type { OperationsContext, ReadDeps } from './context.ts';
import { exportOperations } from './export-operations.ts';
import { launchOperations } from './launch-operations.ts';
import { leadOperations } from './lead-operations.ts';
import { notifyOperations } from './notify-operations.ts';
import { schedulerOperations } from './scheduler-operations.ts';
import { taskOperations } from './task-operations.ts';

export type { ReadDeps } from './context.ts';
export type { Actor, Outcome, RefusalReason, Facts } from './outcome.ts';

export interface Operations {
  tasks: ReturnType<typeof taskOperations>;
  leads: ReturnType<typeof leadOperations>;
  /** 开始外呼 / 重新外呼 (issue 10). */
  launches: ReturnType<typeof launchOperations>;
  scheduler: ReturnType<typeof schedulerOperations>;
  accounts: ReturnType<typeof accountOperations>;
  access: ReturnType<typeof accessOperations>;
  notify: ReturnType<typeof notifyOperations>;
  exports: ReturnType<typeof exportOperations>;
}

export function createOperations(context: OperationsContext): Operations {
  return {
    tasks: taskOperations(context),
    leads: leadOperations(context),
    launches: launchOperations(context),
    scheduler: schedulerOperations(context),
    accounts: accountOperations(context),
    access: accessOperations(context),
    notify: notifyOperations(context),
    exports: exportOperations(context),
  };
}

/** The part of PipelineDeps pages may read with: no Outbound Bot, no LLM. */
export function readDepsOf(pipeline: PipelineDeps): ReadDeps {
  return { db: pipeline.db, config: pipeline.config, clock: pipeline.clock, owner: pipeline.owner, log: pipeline.log };
}

/** What the scheduler panel shows of this process's scheduler: times only, no way to start work. */
export type SchedulerView = Pick<Scheduler, 'lastPass' | 'nextRun'>;
