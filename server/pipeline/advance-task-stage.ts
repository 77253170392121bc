// Spec 2.1.3 check_and_update_task_status, as fixed by DESIGN §3.7. Both moves are conditional
// updates (WHERE task_type = <from>), so several processes may run the check at once safely.
import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { writeResult } from '../db/client.ts';
import { callTasks } from '../db/schema/crm.ts';
import { readTaskProgress, type TaskProgress } from '../read-model/task-progress.ts';
import { STAGE } from './task-stages.ts';

/**
 * 2 -> 3: at least one lead was called and every called lead has a final status. A lead whose job
 * Outbound Bot cancelled counts as not called (DESIGN §3.1): it holds neither move, and a task whose
 * every call was cancelled stays at 2 (without being polled) until a person closes or re-calls them.
 */
export function callsAreDone(p: TaskProgress): boolean {
  return p.called - p.cancelled > 0 && p.calledNotFinal - p.cancelled === 0;
}

/**
 * 3 -> 4: every lead with a final status has its follow record or was handled by a person, and no
 * lead can still come in: none is calling, none waits for a job id that its group may yet list.
 * Leads a complete listing showed absent from the group do not hold the task (diagnose names them),
 * nor does a lead a person closed, with or without its mark (notSynced counts open leads only).
 */
export function followUpsAreDone(p: TaskProgress): boolean {
  return callsAreDone(p) && p.finalUnfollowed === 0 && p.notSynced === 0;
}

export interface StageChange {
  from: number;
  to: number;
}

/**
 * Moves the task on as far as its leads allow. `allowMove: false` after a pass in which a sync or
 * status page failed: the leads that page missed would otherwise be lost (DESIGN §3.7).
 */
export async function advanceTaskStage(db: Db, taskId: number, options: { allowMove: boolean }): Promise<{ stage: number; changes: StageChange[]; progress: TaskProgress }> {
  const progress = await readTaskProgress(db, taskId);
  const [row] = await db.select({ taskType: callTasks.taskType }).from(callTasks).where(eq(callTasks.id, taskId));
  let stage = row?.taskType ?? 0;
  const changes: StageChange[] = [];
  if (!options.allowMove) return { stage, changes, progress };
  if (stage === STAGE.calling && callsAreDone(progress) && (await moveStage(db, taskId, STAGE.calling, STAGE.callsDone))) {
    changes.push({ from: STAGE.calling, to: STAGE.callsDone });
    stage = STAGE.callsDone;
  }
  if (stage === STAGE.callsDone && followUpsAreDone(progress) && (await moveStage(db, taskId, STAGE.callsDone, STAGE.followedUp))) {
    changes.push({ from: STAGE.callsDone, to: STAGE.followedUp });
    stage = STAGE.followedUp;
  }
  return { stage, changes, progress };
}

async function moveStage(db: Db, taskId: number, from: number, to: number): Promise<boolean> {
  const result = await db.update(callTasks).set({ taskType: to }).where(and(eq(callTasks.id, taskId), eq(callTasks.taskType, from)));
  return writeResult(result).affectedRows === 1; // false: another process moved it first
}
