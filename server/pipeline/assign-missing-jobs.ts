// Assigns a job to every lead that has none in the job group, never twice (issue 10, reference
// §5.4): the group is listed and matched first (match-launched-jobs.ts), batches of at most 99 go
// out one after the other, and when a batch's answer is lost (timeout, reset, unreadable answer)
// nothing more is sent until the group has been listed again. A business error stops at once: the
// service refused, so nothing of that batch was created.
import { and, eq, isNotNull } from 'drizzle-orm';
import { supersededJobs } from '../db/schema/app.ts';
import { leadsTaskList as lead } from '../db/schema/crm.ts';
import { BusinessError } from '../outboundbot/errors.ts';
import { ASSIGN_JOBS_MAX } from '../outboundbot/types.ts';
import type { PipelineDeps } from './deps.ts';
import { listJobGroup, listingInMemory } from './job-group-listing.ts';
import { countBatch, updateLaunch } from './launches.ts';
import type { HeldLease } from './leases.ts';
import { hasJobId, leadOfTask } from './lead-conditions.ts';
import { matchLaunchedJobs, type LeadToCall } from './match-launched-jobs.ts';
import type { startStep } from './step-report.ts';

/** Listings (each followed by what is still missing) before an attempt gives up on lost answers. */
export const ASSIGN_ROUNDS = 3;

/** The listing could not be proven complete: absence is unproven, so nothing is sent (DESIGN §3.6). */
export class ListingIncompleteError extends Error {
  readonly code = 'ListingIncomplete';
}

export interface AssignPlan {
  launchId: number;
  taskId: number;
  jobGroupId: string;
  leads: LeadToCall[];
  callingNumbers: string[];
}

export async function assignMissingJobs(deps: PipelineDeps, lease: HeldLease, step: ReturnType<typeof startStep>, plan: AssignPlan): Promise<void> {
  const oldJobIds = await knownJobIds(deps, plan.taskId);
  let lost: unknown = null;
  for (let round = 1; round <= ASSIGN_ROUNDS; round++) {
    const jobs = listingInMemory();
    const listing = await listJobGroup(deps, plan.jobGroupId, lease, step, jobs);
    if (!listing.complete) throw new ListingIncompleteError('the job group could not be listed completely, so no job was sent (a lead already called would be called twice); try again');
    const { found, missing } = matchLaunchedJobs(plan.leads, jobs.jobs(), oldJobIds);
    if (round === 1) {
      step.add('leadsFound', found.size);
      await updateLaunch(deps.db, plan.launchId, { leadsFound: found.size, leadsToCall: missing.length, updatedAt: new Date(deps.clock.now()) });
    }
    if (missing.length === 0) return;
    lost = null;
    for (let i = 0; i < missing.length && lost === null; i += ASSIGN_JOBS_MAX) {
      lease.check();
      const batch = missing.slice(i, i + ASSIGN_JOBS_MAX);
      try {
        const ids = await deps.outboundbot.assignJobs(plan.jobGroupId, batch.map((l) => ({ phoneNumber: l.phone, name: l.name, referenceId: String(l.id) })), plan.callingNumbers);
        step.add('jobsCreated', ids.length);
        await countBatch(deps.db, plan.launchId, ids.length, new Date(deps.clock.now()));
      } catch (error) {
        if (error instanceof BusinessError) throw error;
        step.failed(error);
        step.add('answersLost');
        await countBatch(deps.db, plan.launchId, 0, new Date(deps.clock.now()));
        lost = error;
      }
    }
    if (lost === null) return;
  }
  throw lost;
}

/** Jobs the task's leads hold or held: a re-call's old calls, which never count as the new one. */
async function knownJobIds(deps: PipelineDeps, taskId: number): Promise<Set<string>> {
  const held = await deps.db.select({ jobId: lead.callJobId }).from(lead).where(and(leadOfTask(taskId), hasJobId));
  const before = await deps.db.select({ jobId: supersededJobs.jobId }).from(supersededJobs).where(and(eq(supersededJobs.taskId, taskId), isNotNull(supersededJobs.jobId)));
  return new Set([...held, ...before].map((r) => r.jobId!).filter(Boolean));
}

