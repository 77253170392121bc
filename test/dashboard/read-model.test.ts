// The read model answers from indexes by splitting its counts over several narrow statements
// (server/read-model/*.ts). Each split must add up to what one plain statement over every lead says:
// a random mix of leads in every combination of columns and states, counted both ways.
import { and, asc, eq, isNotNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leadStates } from '../../server/db/schema/app.ts';
import { leadsTaskList as lead } from '../../server/db/schema/crm.ts';
import {
  countIf, hasConversation, hasFinalStatus, hasJobId, isAwaitingJobId, isHandledOutside, isJobCancelled, isNotInJobGroup, isOpen,
  isUnfollowed, lacksFinalStatus, leadOfTask, waitsForConversation,
} from '../../server/pipeline/lead-conditions.ts';
import { countLeadReasons, LEAD_REASONS, leadReasonColumn, listLeadsWithReasons } from '../../server/read-model/lead-reasons.ts';
import { LEAD_FILTER_CONDITIONS, leadStatesJoin } from '../../server/read-model/lead-states.ts';
import { readProgressByTask } from '../../server/read-model/task-progress.ts';
import { givenTask } from '../helpers/builders.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { arrangeLeads, CONVERSATION, crmAgo, type LeadArrangement } from './fixtures.ts';

const SEED = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);
const seeded = `TEST_SEED=${SEED}`;

/** mulberry32: the same seed gives the same leads, so a failure can be replayed. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return <T>(choices: readonly T[]): T => choices[Math.floor(next() * choices.length)]!;
}

let database: TestDatabase;
const tasks: number[] = [];
const interleaved: number[] = [];
const STUCK_BEFORE = crmAgo(3600);

beforeAll(async () => {
  database = await createTestDatabase();
  const pick = generator(SEED);
  const mixed = (t: number, i: number): LeadArrangement => {
    const state = pick([
      undefined, undefined,
      { notInGroupSince: new Date() },
      { apiErrorCode: 'Throttling', apiErrorMessage: 'slow down', apiErrorAt: new Date() },
      { lastJobStatus: pick(['Cancelled', 'Executing', 'Succeeded']) },
      { conversationCheckedAt: new Date() },
      { analysisStatus: 'failed', analysisError: 'timeout', analysedAt: new Date() },
    ] as const);
    return {
      phone: `1380000${String(t * 1000 + i).padStart(4, '0')}`,
      callJobId: pick([null, '', `job-${t}-${i}`, `job-${t}-${i}`]),
      callStatus: pick([null, 'Executing', 'Succeeded', 'Succeeded', 'Failed']),
      isInterested: pick([null, null, 0, 1, 2]),
      leadsFollowId: pick([null, null, 5000 + t * 1000 + i]),
      conversation: pick([null, '', CONVERSATION]),
      updatedTime: pick([crmAgo(60), crmAgo(7200)]),
      ...(state ? { state: { ...state } } : {}),
    };
  };
  for (let t = 0; t < 2; t++) {
    const taskId = await givenTask(database.db, { taskType: 3, jobGroupId: `jg-${t}` });
    tasks.push(taskId);
    const leads = Array.from({ length: 120 }, (_, i) => mixed(t, i));
    // One lead of each rare reason besides the random ones, so every reason is counted both ways.
    const sure: LeadArrangement[] = [
      { phone: `1390000${t}001`, callJobId: `sure-${t}-1`, callStatus: 'Succeeded', state: { conversationCheckedAt: new Date() } },
      { phone: `1390000${t}002`, callJobId: `sure-${t}-2`, callStatus: 'Succeeded', updatedTime: crmAgo(7200) },
      { phone: `1390000${t}003`, callJobId: `sure-${t}-3`, state: { lastJobStatus: 'Cancelled' } },
      { phone: `1390000${t}004`, state: { notInGroupSince: new Date() } },
    ];
    await arrangeLeads(database.db, taskId, [...leads, ...sure]);
  }
  // Two tasks whose leads were inserted in turns (one, then two of the other): no count may take
  // in the other task's rows that lie between its own.
  const [sparse, dense] = [await givenTask(database.db, { taskType: 3, jobGroupId: 'jg-sparse' }), await givenTask(database.db, { taskType: 3, jobGroupId: 'jg-dense' })];
  interleaved.push(sparse, dense);
  for (let i = 0; i < 30; i++) {
    await arrangeLeads(database.db, sparse, [mixed(2, i)]);
    await arrangeLeads(database.db, dense, [mixed(3, 2 * i), mixed(3, 2 * i + 1)]);
  }
});
afterAll(async () => database?.drop());

describe('the read model adds up', () => {
  it('counts each diagnose reason as one GROUP BY of the reason over every lead does', async () => {
    const seen = new Set<string>();
    for (const taskId of tasks) {
      const plain = await database.db
        .select({ reason: leadReasonColumn, n: sql<number>`CAST(COUNT(*) AS SIGNED)` })
        .from(lead)
        .leftJoin(leadStates, leadStatesJoin)
        .where(leadOfTask(taskId))
        .groupBy(leadReasonColumn);
      const [stuck] = await database.db
        .select({ n: countIf(and(waitsForConversation, isUnfollowed, sql`${lead.updatedTime} < ${STUCK_BEFORE}`)) })
        .from(lead)
        .where(leadOfTask(taskId));
      const expected = Object.fromEntries([...LEAD_REASONS.map((r) => [r, 0]), ['stuck', Number(stuck!.n)]]);
      for (const row of plain) if (row.reason) expected[row.reason] = Number(row.n);
      expect(await countLeadReasons(database.db, taskId, STUCK_BEFORE), seeded).toEqual(expected);
      for (const [reason, n] of Object.entries(expected)) if (Number(n) > 0) seen.add(reason);
    }
    // The mix reaches every reason, or the comparison proves less than it says.
    expect([...LEAD_REASONS, 'stuck'].filter((r) => !seen.has(r)), seeded).toEqual([]);
  });

  it('lists the first leads with a reason, by id, as one plain statement over every lead does', async () => {
    for (const taskId of tasks) {
      for (const limit of [1, 9, 40, 500]) {
        const plain = await database.db
          .select({ id: lead.id, reason: leadReasonColumn })
          .from(lead)
          .leftJoin(leadStates, leadStatesJoin)
          .where(and(leadOfTask(taskId), sql`${leadReasonColumn} IS NOT NULL`))
          .orderBy(asc(lead.id))
          .limit(limit);
        const listed = await listLeadsWithReasons(database.db, taskId, limit);
        expect(listed.map((l) => [l.id, l.reason]), `${seeded} limit ${limit}`).toEqual(plain.map((l) => [l.id, l.reason]));
      }
    }
  });

  it("counts a page of tasks' progress (over lead shapes, split by index) as plain statements over every lead and its state do", async () => {
    const progress = await readProgressByTask(database.db, [...tasks, ...interleaved], { withConversation: true });
    for (const taskId of [...tasks, ...interleaved]) {
      const [plain] = await database.db
        .select({
          total: sql<number>`COUNT(*)`,
          called: countIf(hasJobId),
          withStatus: countIf(hasFinalStatus),
          succeeded: countIf(eq(lead.callStatus, 'Succeeded')),
          failed: countIf(eq(lead.callStatus, 'Failed')),
          withFollow: countIf(isNotNull(lead.leadsFollowId)),
          withInterest: countIf(isNotNull(lead.isInterested)),
          interested: countIf(eq(lead.isInterested, 1)),
          notInterested: countIf(eq(lead.isInterested, 2)),
          interestUnclear: countIf(eq(lead.isInterested, 0)),
          calling: countIf(and(hasJobId, lacksFinalStatus)),
          calledNotFinal: countIf(and(hasJobId, isOpen)),
          finalUnfollowed: countIf(and(hasFinalStatus, isUnfollowed)),
          handledOutside: countIf(isHandledOutside),
          withConversation: countIf(hasConversation),
          notSynced: countIf(isAwaitingJobId),
          notInJobGroup: countIf(isNotInJobGroup),
          cancelled: countIf(and(hasJobId, isOpen, isJobCancelled)),
          analysisFailed: countIf(eq(leadStates.analysisStatus, 'failed')),
          waitingForConversation: countIf(and(waitsForConversation, isUnfollowed)),
        })
        .from(lead)
        .leftJoin(leadStates, leadStatesJoin)
        .where(leadOfTask(taskId));
      const p = progress.get(taskId)!;
      expect({
        total: p.total, called: p.called, withStatus: p.withStatus, succeeded: p.succeeded, failed: p.failed, withFollow: p.withFollow,
        withInterest: p.withInterest, interested: p.interested, notInterested: p.notInterested, interestUnclear: p.interestUnclear, calling: p.calling, calledNotFinal: p.calledNotFinal,
        finalUnfollowed: p.finalUnfollowed, handledOutside: p.handledOutside, withConversation: p.withConversation,
        notSynced: p.notSynced, notInJobGroup: p.notInJobGroup, cancelled: p.cancelled,
        analysisFailed: p.analysisFailed, waitingForConversation: p.waitingForConversation,
      }, seeded).toEqual(Object.fromEntries(Object.entries(plain!).map(([k, v]) => [k, Number(v)])));
      expect(p.total, seeded).toBe(tasks.includes(taskId) ? 124 : taskId === interleaved[0] ? 30 : 60);
      expect(p.withConversation, seeded).toBeGreaterThan(0);
    }
  });

  it("gives diagnose's not-synced and not-in-job-group leads the counts the progress and the lead filters show", async () => {
    const progress = await readProgressByTask(database.db, tasks);
    for (const taskId of tasks) {
      const reasons = await countLeadReasons(database.db, taskId, STUCK_BEFORE);
      const p = progress.get(taskId)!;
      const [filters] = await database.db
        .select({ notSynced: countIf(LEAD_FILTER_CONDITIONS['not-synced']), notInGroup: countIf(LEAD_FILTER_CONDITIONS['not-in-group']) })
        .from(lead)
        .leftJoin(leadStates, leadStatesJoin)
        .where(leadOfTask(taskId));
      expect([p.notSynced, Number(filters!.notSynced)], seeded).toEqual([reasons['not-synced'], reasons['not-synced']]);
      expect([p.notInJobGroup, Number(filters!.notInGroup)], seeded).toEqual([reasons['not-in-job-group'], reasons['not-in-job-group']]);
    }
  });
});
