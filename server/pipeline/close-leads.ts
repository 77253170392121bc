// 人工跟进, a person's decision as the last resort (DESIGN §3.12): for leads the pipeline cannot
// finish (lead-causes.ts), the operator's remark and interest become each lead's one follow record,
// written through the same exactly-once path as the pipeline's (write-follow-ups.ts). A lead that got
// its record meanwhile, or no longer has the cause, is skipped and counted, never written twice.
// No lease is needed: the write locks the lead rows and re-checks them, as a second pipeline would.
import { and, asc, eq, inArray } from 'drizzle-orm';
import { leadStates } from '../db/schema/app.ts';
import { leadsTaskList as lead } from '../db/schema/crm.ts';
import type { CloseLeadsInput } from './close-leads-input.ts';
import { toCrmDateTime } from '../crm-time.ts';
import type { PipelineDeps } from './deps.ts';
import { loadTask } from './find-pending-tasks.ts';
import { CLOSE_CAUSE_CONDITIONS } from './lead-causes.ts';
import { leadOfTask } from './lead-conditions.ts';
import { writeFollowUps, type FollowUpDecision } from './write-follow-ups.ts';

export interface CloseLeadsResult {
  status: 'closed' | 'not-found';
  /** Leads that got their follow record now. */
  closed: number;
  /** Leads asked for (by id, or of the cause when read) that had a record by the time of the write, or not this cause. */
  skipped: number;
  closedIds: number[];
}

/** Leads written per transaction. */
const CLOSE_PAGE = 200;

export async function closeLeads(deps: Pick<PipelineDeps, 'db' | 'clock' | 'config'>, taskId: number, input: CloseLeadsInput, actor: string): Promise<CloseLeadsResult> {
  if (!(await loadTask(deps.db, taskId))) return { status: 'not-found', closed: 0, skipped: 0, closedIds: [] };
  const candidates = await deps.db
    .select({ id: lead.id, leadsId: lead.leadsId })
    .from(lead)
    .leftJoin(leadStates, eq(leadStates.leadRowId, lead.id))
    .where(and(leadOfTask(taskId), CLOSE_CAUSE_CONDITIONS[input.cause], input.leadIds ? inArray(lead.id, input.leadIds) : undefined))
    .orderBy(asc(lead.id));
  let skipped = input.leadIds ? input.leadIds.length - candidates.length : 0;
  const closedIds: number[] = [];
  const now = deps.clock.now();
  const crmNow = toCrmDateTime(now, deps.config.timeZone);
  for (let i = 0; i < candidates.length; i += CLOSE_PAGE) {
    const decisions: FollowUpDecision[] = candidates.slice(i, i + CLOSE_PAGE).map((c) => ({
      leadRowId: c.id, taskId, leadsId: c.leadsId, remark: input.remark, isInterested: input.interest,
      nextFollowTime: input.nextFollowTime, analysis: null, closed: { by: actor, cause: input.cause },
    }));
    const outcome = await writeFollowUps(deps.db, decisions, crmNow, new Date(now));
    skipped += outcome.alreadyDone;
    closedIds.push(...(outcome.createdIds ?? []));
  }
  return { status: 'closed', closed: closedIds.length, skipped, closedIds };
}
