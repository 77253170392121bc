// Follow-up decisions are written in batches as they arrive (issue 12); decisions that arrive while a
// batch is being written go together in the next one. Closing must write every decision added,
// however many queued up behind the writes.
import { describe, expect, it } from 'vitest';
import { createFollowUpBatches, FOLLOW_UP_BATCH_MAX, FOLLOW_UP_WAITING_MAX } from '../../server/pipeline/follow-up-batches.ts';
import type { FollowUpDecision } from '../../server/pipeline/write-follow-ups.ts';
import { givenLeads, givenTask } from '../helpers/builders.ts';
import { useTestDatabase } from '../helpers/database.ts';

const database = useTestDatabase();

describe('follow-up batches', () => {
  it('writes every decision once, also when more than a batch queued up behind a write', async () => {
    const taskId = await givenTask(database.db);
    const count = 3 * FOLLOW_UP_BATCH_MAX + 7;
    const ids = await givenLeads(database.db, taskId, Array.from({ length: count }, (_, i) => ({ phone: `1390000${String(i).padStart(4, '0')}`, callStatus: 'Failed' })));
    const [rows] = (await database.pool.query('SELECT id, leads_id FROM leads_task_list WHERE task_id = ? ORDER BY id', [taskId])) as unknown as [Array<{ id: number; leads_id: number }>];
    const decision = (row: { id: number; leads_id: number }): FollowUpDecision => ({
      leadRowId: row.id, taskId, leadsId: row.leads_id, remark: '未接通', isInterested: 0, nextFollowTime: null, analysis: null,
    });
    const batches = createFollowUpBatches(database.db, () => ({ crmNow: '2026-11-29 10:00:00', at: new Date() }));
    // All arrive before the first write starts: three batches' worth and more wait behind it.
    for (const row of rows) void batches.add([decision(row)]);
    const outcome = await batches.close();

    expect(outcome.created).toBe(count);
    const [[written]] = (await database.pool.query('SELECT COUNT(*) AS n, COUNT(DISTINCT leads_follow_id) AS records FROM leads_task_list WHERE task_id = ? AND leads_follow_id IS NOT NULL', [taskId])) as unknown as [[{ n: number; records: number }]];
    expect({ n: Number(written.n), records: Number(written.records) }).toEqual({ n: ids.length, records: ids.length });
  });

  it('makes the caller wait for the writes once too many decisions wait, so answers never pile up with the task', async () => {
    const taskId = await givenTask(database.db);
    const count = FOLLOW_UP_WAITING_MAX + 20;
    await givenLeads(database.db, taskId, Array.from({ length: count }, (_, i) => ({ phone: `1390001${String(i).padStart(4, '0')}`, callStatus: 'Failed' })));
    const [rows] = (await database.pool.query('SELECT id, leads_id FROM leads_task_list WHERE task_id = ? ORDER BY id', [taskId])) as unknown as [Array<{ id: number; leads_id: number }>];
    const decisions = rows.map((row): FollowUpDecision => ({
      leadRowId: row.id, taskId, leadsId: row.leads_id, remark: '未接通', isInterested: 0, nextFollowTime: null, analysis: null,
    }));
    const batches = createFollowUpBatches(database.db, () => ({ crmNow: '2026-11-29 10:00:00', at: new Date() }));
    const settled = (promise: Promise<void>) => Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))]);
    expect(await settled(batches.add(decisions.slice(0, 10)))).toBe(true); // a few: no wait
    const full = batches.add(decisions.slice(10));
    expect(await settled(full)).toBe(false); // past the bound: waits for the writes
    await full;
    const [[written]] = (await database.pool.query('SELECT COUNT(*) AS n FROM leads_task_list WHERE task_id = ? AND leads_follow_id IS NOT NULL', [taskId])) as unknown as [[{ n: number }]];
    expect(Number(written.n)).toBeGreaterThanOrEqual(FOLLOW_UP_BATCH_MAX);
    expect((await batches.close()).created).toBe(count);
  });
});
