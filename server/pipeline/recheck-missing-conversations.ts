// DESIGN §3.4: a Succeeded call whose conversation ListJobs still has not brought after STUCK_AFTER
// is asked for once more, with DescribeJob (one job, every task, the full conversation). If that
// has none either, the lead is marked (conversation_checked_at) and listed as waiting for a person
// (cause no-conversation, lead-causes.ts); ListJobs goes on looking for it on later passes.
import { and, asc, eq, isNull, lt } from 'drizzle-orm';
import { leadStates } from '../db/schema/app.ts';
import { pipelined } from '../net/pipelined.ts';
import { leadsTaskList as lead } from '../db/schema/crm.ts';
import { toCrmDateTime } from '../crm-time.ts';
import type { PipelineDeps } from './deps.ts';
import type { PendingTask } from './find-pending-tasks.ts';
import { isUnfollowed, leadOfTask, waitsForConversation } from './lead-conditions.ts';
import type { HeldLease } from './leases.ts';
import type { startStep } from './step-report.ts';
import { callResultOf, writeCallResults } from './sync-call-results.ts';

/** DescribeJob calls per task and pass at most; the rest wait for the next pass. */
export const RECHECKS_PER_PASS = 100;

export async function recheckMissingConversations(deps: PipelineDeps, task: PendingTask, lease: HeldLease, step: ReturnType<typeof startStep>): Promise<void> {
  const succeededBefore = toCrmDateTime(deps.clock.now() - deps.config.stuckAfterSeconds * 1000, deps.config.timeZone);
  const due = await deps.db
    .select({ id: lead.id, jobId: lead.callJobId })
    .from(lead)
    .leftJoin(leadStates, eq(leadStates.leadRowId, lead.id))
    .where(and(leadOfTask(task.id), waitsForConversation, isUnfollowed, isNull(leadStates.conversationCheckedAt), lt(lead.updatedTime, succeededBefore)))
    .orderBy(asc(lead.id))
    .limit(RECHECKS_PER_PASS);
  const missing: number[] = [];
  const queue = [...due];
  // Concurrent like the pages of the step (issue 12): each DescribeJob is one row's own business.
  await pipelined(async () => queue.shift(), async (row) => {
    lease.check();
    try {
      const job = await deps.outboundbot.describeJob(row.jobId!);
      step.add('describedJobs');
      const result = callResultOf(deps, row.id, job);
      if (result?.conversation) step.add('conversationsRecovered', await writeCallResults(deps.db, deps, task.id, [result]));
      else missing.push(row.id);
    } catch (error) {
      // Recorded like a failed page: the lead is asked again next pass.
      step.failed(error);
    }
  }, deps.config.outboundbotMaxInFlight);
  if (missing.length === 0) return;
  const at = new Date(deps.clock.now());
  await deps.db
    .insert(leadStates)
    .values(missing.map((id) => ({ leadRowId: id, taskId: task.id, conversationCheckedAt: at })))
    .onDuplicateKeyUpdate({ set: { conversationCheckedAt: at } });
  step.add('conversationsMissing', missing.length);
}
