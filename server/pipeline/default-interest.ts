// Spec 3.2 step 6: a lead with a follow record but no is_interested gets 0, since interest cannot be
// inferred from someone else's record. Only NULLs are touched: an existing value is never overwritten.
import { and, isNotNull, isNull } from 'drizzle-orm';
import { writeResult } from '../db/client.ts';
import { leadsTaskList as lead } from '../db/schema/crm.ts';
import type { PipelineDeps } from './deps.ts';
import type { PendingTask } from './find-pending-tasks.ts';
import { leadOfTask } from './lead-conditions.ts';
import { startStep, type StepReport } from './step-report.ts';

export async function applyDefaultInterest(deps: PipelineDeps, task: PendingTask): Promise<StepReport> {
  const step = startStep('default_is_interested', deps.clock.now);
  const result = await deps.db
    .update(lead)
    .set({ isInterested: 0 })
    .where(and(leadOfTask(task.id), isNotNull(lead.leadsFollowId), isNull(lead.isInterested)));
  const changed = writeResult(result).affectedRows;
  if (changed > 0) step.add('defaulted', changed);
  return step.finish();
}
