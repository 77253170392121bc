// The sync pairs a task one range of phones at a time through the scratch tables (issue 12: memory
// bounded by the range, not the task). Whatever the ranges, the pairing must be exactly the one the
// pure rules give for the whole task at once: same moves, same absent leads, same distinct count.
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/client.ts';
import { within } from '../../server/net/within.ts';
import type { GroupJob } from '../../server/outboundbot/types.ts';
import { listingInMemory } from '../../server/pipeline/job-group-listing.ts';
import { pairJobsToLeads, type JobMove, type LeadForPairing, type Pairing } from '../../server/pipeline/pair-jobs-to-leads.ts';
import { openPairingScratch } from '../../server/pipeline/pairing-scratch.ts';
import { useTestDatabase } from '../helpers/database.ts';

const database = useTestDatabase();

/** Deterministic "random" so a failure can be replayed from its seed. */
function seeded(seed: number) {
  let state = seed;
  return () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

/** One number written the ways the CRM and the API write it (phone.ts normalises them alike). */
const spellings = (digits: string) => [digits, `+86 ${digits.slice(0, 3)}-${digits.slice(3, 7)}-${digits.slice(7)}`, `86${digits}`, `0086${digits}`];

function scenario(seed: number) {
  const random = seeded(seed);
  const pick = <T,>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const numbers = Array.from({ length: 12 }, (_, i) => `1380013${String(8000 + i)}`);
  const jobIds = Array.from({ length: 40 }, (_, i) => `job-${seed}-${i}`);
  // Number 0 has more leads than a range holds: its range must be taken whole.
  const leads: LeadForPairing[] = Array.from({ length: 60 }, (_, i) => ({
    id: i + 1,
    phone: pick(spellings(i < 12 ? numbers[0]! : pick(numbers.slice(0, 9)))),
    jobId: random() < 0.4 ? pick(jobIds) : null,
    done: random() < 0.25,
    followed: random() < 0.15,
    final: random() < 0.2,
  }));
  // Numbers 9-11 have jobs and no lead; some jobs carry two numbers, some are listed twice.
  const jobs: GroupJob[] = jobIds.map((jobId) => ({
    jobId,
    phoneNumbers: random() < 0.2 ? [pick(spellings(pick(numbers))), pick(spellings(pick(numbers)))] : [pick(spellings(pick(numbers)))],
    referenceIds: [],
    status: 'Succeeded',
    failureReason: null,
  }));
  const listed = [...jobs, ...jobs.filter(() => random() < 0.1)];
  const pages: GroupJob[][] = [];
  for (let i = 0; i < listed.length; i += 7) pages.push(listed.slice(i, i + 7));
  const arrival = pages.map((_, i) => i).sort(() => random() - 0.5);
  return { leads, pages, arrival };
}

const byLead = (moves: JobMove[]) => [...moves].sort((a, b) => a.leadRowId - b.leadRowId);

async function pairedInRanges(leads: LeadForPairing[], pages: GroupJob[][], arrival: number[], complete: boolean, chunk: number) {
  const scratch = await openPairingScratch(database.db, { chunk });
  try {
    for (let i = 0; i < leads.length; i += 25) await scratch.addLeads(leads.slice(i, i + 25));
    for (const page of arrival) await scratch.addPage(page + 1, pages[page]!);
    const all: Pairing = { moves: [], absent: [] };
    for await (const range of scratch.ranges({ withHeld: !complete })) {
      const { moves, absent } = pairJobsToLeads(range.leads, range.jobs, complete, range.held);
      all.moves.push(...moves);
      all.absent.push(...absent);
    }
    return { ...all, distinct: await scratch.distinctJobs() };
  } finally {
    await scratch.close();
  }
}

describe('pairing a task one range of phones at a time', () => {
  for (const complete of [true, false]) {
    it(`gives exactly the whole-task pairing, ${complete ? 'complete' : 'incomplete'} listing, pages in any order`, async () => {
      for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
        const { leads, pages, arrival } = scenario(seed);
        const whole = listingInMemory();
        for (const [i, page] of pages.entries()) await whole.addPage(i + 1, page);
        const expected = pairJobsToLeads(leads, whole.jobs(), complete);
        for (const chunk of [5, 13, 1000]) {
          const actual = await pairedInRanges(leads, pages, arrival, complete, chunk);
          const label = `seed ${seed}, chunk ${chunk}`;
          expect(byLead(actual.moves), label).toEqual(byLead(expected.moves));
          expect([...actual.absent].sort((a, b) => a - b), label).toEqual([...expected.absent].sort((a, b) => a - b));
          expect(actual.distinct, label).toBe(await whole.distinctJobs());
        }
      }
    });
  }

  it('forgets the pages of a listing that starts over', async () => {
    const { leads, pages } = scenario(9);
    const scratch = await openPairingScratch(database.db);
    try {
      await scratch.addLeads(leads);
      await scratch.addPage(1, pages[0]!);
      await scratch.clear();
      expect(await scratch.distinctJobs()).toBe(0);
    } finally {
      await scratch.close();
    }
  });
});

describe('the scratch session', () => {
  it('never takes a connection from the pool, so syncs holding one cannot starve the rest of the process', async () => {
    const small = openDatabase(database.url, { connectionLimit: 1 });
    const scratches = await Promise.all([openPairingScratch(small.db), openPairingScratch(small.db)]);
    try {
      // With sessions from the pool, this query would wait for ever behind the held scratches.
      const answered = await within(small.pool.query('SELECT 1 AS one'), 3000);
      expect(answered).toBeDefined();
    } finally {
      await Promise.all(scratches.map((s) => s.close()));
      await small.close();
    }
  });
});
