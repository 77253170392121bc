// Reads every job of a job group with ListJobsByGroup and says whether the listing is proven
// complete (DESIGN §3.6): the distinct jobs seen add up to the TotalCount the API reports, and that
// total did not change while we paged. Pages go by the page size the API answered with, never the
// size we asked for: a server that caps pages below our request would otherwise make us skip jobs.
// Once page 1 has told the page count, the other pages are asked for concurrently, up to
// OUTBOUNDBOT_MAX_IN_FLIGHT at once (the client's rate limiter keeps OUTBOUNDBOT_QPS), and each is
// taken in as it arrives; the completeness rule does not depend on the order they come back in.
// Each page goes to a sink as it arrives: the sync keeps them in the database (pairing-scratch.ts)
// so a task of any size is listed in bounded memory (issue 12); a launch keeps them in memory.
import { pipelined } from '../net/pipelined.ts';
import type { GroupJob, GroupJobPage } from '../outboundbot/types.ts';
import type { PipelineDeps } from './deps.ts';
import type { HeldLease } from './leases.ts';
import type { startStep } from './step-report.ts';

export const JOB_GROUP_PAGE_SIZE = 100; // spec 3.1

/** A group that grows while it is listed is listed again, at most this many times in all. */
export const LISTING_ATTEMPTS = 3;

export interface JobGroupListing {
  /** True only when the jobs seen add up to an unchanging TotalCount: only then may a lead be called absent. */
  complete: boolean;
  totalCount: number | null;
}

/** Where the pages of a listing go as they arrive. */
export interface ListingSink {
  /**
   * One page's jobs. Pages arrive in any order; `page` keeps the listing order, which matters:
   * "the newest job for a phone" is the later one in the listing (pairing).
   */
  addPage(page: number, jobs: GroupJob[]): Promise<void>;
  /** The listing starts over (the group grew while it was listed): every page added is forgotten. */
  clear(): Promise<void>;
  /** The distinct jobs among the pages added. */
  distinctJobs(): Promise<number>;
}

/** A sink in memory: every job once, in listing order. For a launch, whose groups are small. */
export function listingInMemory(): ListingSink & { jobs(): GroupJob[] } {
  let pages: GroupJob[][] = [];
  const inListingOrder = () => {
    const byId = new Map<string, GroupJob>();
    for (const jobs of pages) for (const job of jobs ?? []) if (!byId.has(job.jobId)) byId.set(job.jobId, job);
    return byId;
  };
  return {
    async addPage(page, jobs) {
      pages[page - 1] = jobs;
    },
    async clear() {
      pages = [];
    },
    async distinctJobs() {
      return inListingOrder().size;
    },
    jobs: () => [...inListingOrder().values()],
  };
}

type Step = ReturnType<typeof startStep>;

/**
 * `firstPage`: a page 1 the caller already has (the cheap "has the group changed?" check), so it is
 * not asked for twice.
 */
export async function listJobGroup(
  deps: Pick<PipelineDeps, 'outboundbot' | 'config'>,
  jobGroupId: string,
  lease: HeldLease,
  step: Step,
  sink: ListingSink,
  firstPage?: GroupJobPage,
): Promise<JobGroupListing> {
  let given = firstPage;
  let last: JobGroupListing = { complete: false, totalCount: null };
  for (let attempt = 1; attempt <= LISTING_ATTEMPTS; attempt++) {
    const { outcome, ...listing } = await listOnce(deps, jobGroupId, lease, step, sink, given);
    given = undefined;
    if (outcome !== 'changed') return listing;
    await sink.clear(); // what a changed listing showed proves nothing
    step.add('relisted');
    last = listing;
  }
  step.fail({ code: 'ListingChanged', message: `the job group kept growing during ${LISTING_ATTEMPTS} listings; its listing is incomplete` });
  return { ...last, complete: false };
}

async function listOnce(
  deps: Pick<PipelineDeps, 'outboundbot' | 'config'>,
  jobGroupId: string,
  lease: HeldLease,
  step: Step,
  sink: ListingSink,
  given: GroupJobPage | undefined,
): Promise<JobGroupListing & { outcome: 'done' | 'changed' }> {
  const first = given ?? (await fetchPage(deps, jobGroupId, 1, JOB_GROUP_PAGE_SIZE, lease, step));
  if (!first) return { complete: false, totalCount: null, outcome: 'done' };
  const total = first.totalCount;
  // Pages answer in any order when fetched side by side; the sink keeps them by page number.
  await sink.addPage(1, first.jobs);
  step.add('jobsListed', first.jobs.length);

  const pageSize = answeredPageSize(first);
  if (pageSize === null) {
    step.fail({ code: 'EmptyPage', message: `page 1 of the job group listed no job although its TotalCount is ${total}`, page: 1 });
    return { complete: false, totalCount: total, outcome: 'done' };
  }
  let failed = false;
  let changedTo: number | null = null;
  const pageCount = Math.max(1, Math.ceil(total / pageSize));
  let nextPage = 2;
  // No new page once the total is seen to change: the listing is redone from page 1 anyway.
  const next = async () => (changedTo === null && nextPage <= pageCount ? nextPage++ : undefined);
  await pipelined(next, async (page) => {
    const answer = await fetchPage(deps, jobGroupId, page, pageSize, lease, step);
    if (!answer) {
      failed = true; // recorded by fetchPage; the other pages go on (DESIGN §3.9)
      return;
    }
    step.add('jobsListed', answer.jobs.length);
    if (answer.totalCount !== total) changedTo ??= answer.totalCount;
    else await sink.addPage(page, answer.jobs);
  }, deps.config.outboundbotMaxInFlight);
  if (changedTo !== null) return { complete: false, totalCount: changedTo, outcome: 'changed' };
  const distinct = await sink.distinctJobs();
  const complete = !failed && distinct === total;
  if (!failed && distinct !== total) {
    // Jobs moved between pages (or the API pages differently than it says): not proof of absence.
    step.fail({ code: 'ListingShort', message: `the job group listing showed ${distinct} distinct jobs of its TotalCount ${total}` });
  }
  return { complete, totalCount: total, outcome: 'done' };
}

/**
 * The page size the API applied: the one it reports, but never more than the jobs it actually gave
 * on a page that is not the last (a server may echo the size asked for while answering fewer).
 * Null when page 1 is empty although the group is not: then no page size can be trusted.
 */
export function answeredPageSize(first: GroupJobPage): number | null {
  const given = first.jobs.length;
  if (given >= first.totalCount) return Math.max(1, first.pageSize || given); // everything is on page 1
  if (given === 0) return null;
  return first.pageSize > 0 ? Math.min(first.pageSize, given) : given;
}

/** One page, or null when it failed after the client's retries (recorded on the step). */
export async function fetchPage(
  deps: Pick<PipelineDeps, 'outboundbot'>,
  jobGroupId: string,
  page: number,
  pageSize: number,
  lease: HeldLease,
  step: Step,
): Promise<GroupJobPage | null> {
  lease.check();
  try {
    const answer = await deps.outboundbot.listJobsByGroup(jobGroupId, page, pageSize);
    step.add('pages');
    return answer;
  } catch (error) {
    step.failed(error, page);
    step.add('pagesFailed');
    return null;
  }
}
