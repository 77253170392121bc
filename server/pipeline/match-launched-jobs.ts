// Which leads already have their job in a job group (issue 10, "never twice"): AssignJobs is not
// idempotent (reference §5.4), so before any batch is sent again the group is listed and each lead
// matched to a job there. Pure: no SQL, no HTTP.
//
// A job counts for a lead when its ReferenceId is the lead's row id (what autofollow sends), or,
// for a job without any ReferenceId (assigned by someone else), when its phone is the lead's. Jobs
// a lead of the task already holds, or held before (af_superseded_jobs), are the old calls a
// re-call replaces: they never count. Each job counts for one lead only.
import { normalizePhone } from '../phone.ts';
import type { GroupJob } from '../outboundbot/types.ts';

export interface LeadToCall {
  id: number;
  phone: string;
  name: string | null;
}

export interface LaunchMatch {
  /** Lead row id -> the job of the group that is its call. */
  found: Map<number, string>;
  /** Leads with no job in the group yet: these need AssignJobs. */
  missing: LeadToCall[];
}

export function matchLaunchedJobs(leads: LeadToCall[], jobs: GroupJob[], oldJobIds: ReadonlySet<string>): LaunchMatch {
  const fresh = jobs.filter((job) => !oldJobIds.has(job.jobId));
  const byReference = new Map<string, string[]>();
  const byPhone = new Map<string, string[]>();
  for (const job of fresh) {
    if (job.referenceIds.length > 0) for (const ref of job.referenceIds) push(byReference, ref, job.jobId);
    else for (const phone of new Set(job.phoneNumbers.map(normalizePhone))) push(byPhone, phone, job.jobId);
  }
  const taken = new Set<string>();
  const take = (ids: string[] | undefined) => {
    const id = ids?.find((candidate) => !taken.has(candidate));
    if (id !== undefined) taken.add(id);
    return id;
  };
  const found = new Map<number, string>();
  const unmatched: LeadToCall[] = [];
  for (const lead of leads) {
    const job = take(byReference.get(String(lead.id)));
    if (job !== undefined) found.set(lead.id, job);
    else unmatched.push(lead);
  }
  const missing: LeadToCall[] = [];
  for (const lead of unmatched) {
    const job = take(byPhone.get(normalizePhone(lead.phone)));
    if (job !== undefined) found.set(lead.id, job);
    else missing.push(lead);
  }
  return { found, missing };
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
