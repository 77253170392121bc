// The overview's task list: newest first, exact filters, progress equal to the pipeline's own counts
// and read in one statement per page, lease / last run / pause per task.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countTasksByStage, listTasks, readTaskRow } from '../../server/dashboard/task-list.ts';
import { readTaskProgress } from '../../server/read-model/task-progress.ts';
import { givenTask } from '../helpers/builders.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { arrangeLeads, CONVERSATION, givenLease, givenPause, givenRun } from './fixtures.ts';

let database: TestDatabase;
const statements: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase({ onQuery: (sql) => statements.push(sql) });
});
beforeEach(async () => database.reset());
afterAll(async () => database?.drop());

async function givenTasks(specs: Array<{ name: string; taskType: number }>): Promise<number[]> {
  const ids: number[] = [];
  for (const spec of specs) ids.push(await givenTask(database.db, { ...spec, jobGroupId: `g-${spec.name}` }));
  return ids;
}

describe('listTasks', () => {
  it('lists newest first, pages with hasNext, and counts every task matching the filter', async () => {
    const ids = await givenTasks(Array.from({ length: 7 }, (_, i) => ({ name: `task ${i}`, taskType: (i % 4) + 1 })));
    const page1 = await listTasks(database.db, { page: 1, pageSize: 3 });
    const page3 = await listTasks(database.db, { page: 3, pageSize: 3 });
    expect(page1.rows.map((r) => r.id)).toEqual([ids[6], ids[5], ids[4]]);
    expect([page1.hasNext, page1.matching]).toEqual([true, 7]);
    expect(page3.rows.map((r) => r.id)).toEqual([ids[0]]);
    expect([page3.hasNext, page3.matching]).toEqual([false, 7]);
    const stage2 = await listTasks(database.db, { stage: 2, page: 1, pageSize: 10 });
    expect(stage2.rows.map((r) => r.id)).toEqual([ids[5], ids[1]]);
    expect(stage2.matching).toBe(2);
    expect(await countTasksByStage(database.db)).toEqual({ 1: 2, 2: 2, 3: 2, 4: 1 });
  });

  it('searches names by substring, wildcards taken literally', async () => {
    const [a, , c] = await givenTasks([
      { name: '杭州门店 试驾回访', taskType: 2 }, { name: '上海门店 保养', taskType: 2 }, { name: '100% 到店 杭州', taskType: 4 },
    ]);
    expect((await listTasks(database.db, { q: '杭州', page: 1, pageSize: 10 })).rows.map((r) => r.id)).toEqual([c, a]);
    expect((await listTasks(database.db, { q: '%', page: 1, pageSize: 10 })).rows.map((r) => r.id)).toEqual([c]);
    expect((await listTasks(database.db, { q: '杭州', stage: 2, page: 1, pageSize: 10 })).matching).toBe(1);
    expect((await listTasks(database.db, { q: '广州', page: 1, pageSize: 10 })).rows).toEqual([]);
  });

  it("reads the page's progress in three statements on the leads whatever the page size, equal to readTaskProgress for each task", async () => {
    const [a, b, empty] = await givenTasks([{ name: 'a', taskType: 2 }, { name: 'b', taskType: 3 }, { name: 'empty', taskType: 1 }]);
    await arrangeLeads(database.db, a!, [
      { phone: '13800000001' }, { phone: '13800000002', callJobId: 'j1' }, { phone: '13800000003', callJobId: 'j2', callStatus: 'Succeeded' },
      { phone: '13800000004', state: { notInGroupSince: new Date() } },
    ]);
    await arrangeLeads(database.db, b!, [
      { phone: '13800000005', callJobId: 'j3', callStatus: 'Failed', isInterested: 0, follow: { remark: '未接通' } },
      { phone: '13800000006', callJobId: 'j4', callStatus: 'Succeeded', conversation: CONVERSATION, isInterested: 1, follow: { remark: '有意向' }, state: { analysisStatus: 'failed' } },
      { phone: '13800000007', callJobId: 'j5', callStatus: 'Succeeded', conversation: CONVERSATION, isInterested: 2 },
    ]);
    statements.length = 0;
    const { rows } = await listTasks(database.db, { page: 1, pageSize: 10 });
    // Index-only counts, our states with cancelled jobs (one union), the conversation check: never one statement per task.
    expect(statements.filter((s) => /`leads_task_list`/.test(s))).toHaveLength(3);
    for (const id of [a!, b!]) {
      const p = await readTaskProgress(database.db, id);
      expect(rows.find((r) => r.id === id)!.progress).toEqual(p);
    }
    expect(rows.find((r) => r.id === b)!.progress).toMatchObject({ total: 3, interested: 1, analysisFailed: 1, handledOutside: 1, withFollow: 2 });
    expect(rows.find((r) => r.id === empty)!.progress.total).toBe(0);
  });

  it('shows held leases (expired flagged), the latest run and pauses of each task, and nothing for others', async () => {
    const [live, expired, quiet] = await givenTasks([{ name: 'live', taskType: 2 }, { name: 'expired', taskType: 2 }, { name: 'quiet', taskType: 4 }]);
    await givenLease(database.db, live!, { owner: 'host-a:1', acquiredAgo: 10, expiresIn: 290 });
    await givenLease(database.db, expired!, { owner: 'host-b:2', acquiredAgo: 600, expiresIn: -300 });
    await givenRun(database.db, live!, { outcome: 'ok', agoSeconds: 900 });
    const latest = await givenRun(database.db, live!, { outcome: 'partial', agoSeconds: 300, errorCode: 'Throttling' });
    await givenRun(database.db, expired!, { outcome: 'ok', agoSeconds: 60 });
    await givenPause(database.db, expired!);

    const rows = new Map((await listTasks(database.db, { page: 1, pageSize: 10 })).rows.map((r) => [r.id, r]));
    expect(rows.get(live!)!.lease).toMatchObject({ owner: 'host-a:1', expired: false });
    expect(rows.get(expired!)!.lease).toMatchObject({ owner: 'host-b:2', expired: true });
    expect(rows.get(quiet!)!.lease).toBeNull();
    const run = rows.get(live!)!.lastRun!;
    expect(run).toMatchObject({ id: latest, outcome: 'partial', errorCode: 'Throttling', trigger: 'schedule', durationMs: 2000 });
    expect(run.startedAt).toBeInstanceOf(Date);
    expect(Math.abs(Date.now() - run.startedAt.getTime() - 300_000)).toBeLessThan(60_000);
    expect(rows.get(quiet!)!.lastRun).toBeNull();
    expect(rows.get(expired!)!.paused).toMatchObject({ pausedBy: 'ops-li' });
    expect(rows.get(live!)!.paused).toBeNull();
    expect(await readTaskRow(database.db, live!)).toEqual(rows.get(live!));
  });

  it('returns null for a task that does not exist, and clamps silly page numbers', async () => {
    const [only] = await givenTasks([{ name: 'only', taskType: 2 }]);
    expect(await readTaskRow(database.db, only! + 1000)).toBeNull();
    expect((await listTasks(database.db, { page: 0, pageSize: 0 })).rows.map((r) => r.id)).toEqual([only]);
    expect((await listTasks(database.db, { page: -3, pageSize: 1_000_000 })).rows).toHaveLength(1);
  });
});
