// The dashboard's audit log (af_audit_log): what was written comes back newest first, filtered by
// task, cut to the limit, and both reads are served by their indexes.
import mysql from 'mysql2/promise';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readAudit, writeAudit, type AuditEntry } from '../server/audit-log.ts';
import { auditLog } from '../server/db/schema/app.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

let database: TestDatabase;
const statements: Array<{ sql: string; params: unknown[] }> = [];

beforeAll(async () => {
  database = await createTestDatabase({ onQuery: (text, params) => statements.push({ sql: text, params }) });
});
afterAll(async () => database?.drop());
beforeEach(async () => {
  await database.reset();
  statements.length = 0;
});

type NewEntry = Omit<AuditEntry, 'id' | 'at'>;
const entry = (overrides: Partial<NewEntry>): NewEntry => ({ actor: 'alice', action: 'process', taskId: null, leadRowId: null, outcome: 'ok', detail: null, ...overrides });

describe('audit log', () => {
  it('reads back what was written, newest first, with the time of the database clock', async () => {
    const before = Date.now();
    await writeAudit(database.db, entry({ action: 'pause-scheduler' }));
    await writeAudit(database.db, entry({ action: 'process', taskId: 12, outcome: 'refused', detail: 'task 12 is paused' }));
    await writeAudit(database.db, entry({ actor: 'bob', action: 'retry-analysis', taskId: 12, leadRowId: 345, outcome: 'failed', detail: 'LLM timeout' }));

    const all = await readAudit(database.db, { limit: 10 });
    expect(all.map((e) => e.action)).toEqual(['retry-analysis', 'process', 'pause-scheduler']);
    expect(all[0]).toMatchObject({ actor: 'bob', taskId: 12, leadRowId: 345, outcome: 'failed', detail: 'LLM timeout' });
    expect(all[2]).toMatchObject({ taskId: null, leadRowId: null, detail: null });
    expect(all[0]!.at).toBeInstanceOf(Date);
    expect(Math.abs(all[0]!.at.getTime() - before)).toBeLessThan(5000);
  });

  it('filters by task and cuts to the limit', async () => {
    for (const taskId of [1, 2, 1, 3, 1]) await writeAudit(database.db, entry({ taskId, detail: `for ${taskId}` }));
    const forTask1 = await readAudit(database.db, { taskId: 1, limit: 10 });
    expect(forTask1).toHaveLength(3);
    expect(forTask1.every((e) => e.taskId === 1)).toBe(true);
    expect(forTask1.map((e) => e.id)).toEqual([...forTask1.map((e) => e.id)].sort((a, b) => b - a));
    expect(await readAudit(database.db, { taskId: 1, limit: 2 })).toHaveLength(2);
    expect(await readAudit(database.db, { taskId: 4, limit: 10 })).toEqual([]);
    expect(await readAudit(database.db, { limit: 4 })).toHaveLength(4);
  });

  it('orders entries of the same millisecond by id, and older times below newer ones whatever their id', async () => {
    await database.db.insert(auditLog).values([
      { at: sql`UTC_TIMESTAMP(3) + INTERVAL 1 HOUR`, actor: 'a', action: 'later', outcome: 'ok' },
      { at: sql`UTC_TIMESTAMP(3) - INTERVAL 1 HOUR`, actor: 'a', action: 'earlier', outcome: 'ok' },
    ]);
    await writeAudit(database.db, entry({ action: 'now' }));
    expect((await readAudit(database.db, { limit: 10 })).map((e) => e.action)).toEqual(['later', 'now', 'earlier']);
  });

  it('keeps an entry whose actor or detail is longer than its column', async () => {
    await writeAudit(database.db, entry({ actor: 'x'.repeat(300), detail: 'y'.repeat(10_000) }));
    const [saved] = await readAudit(database.db, { limit: 1 });
    expect(saved!.actor).toHaveLength(128);
    expect(saved!.detail!.length).toBeLessThanOrEqual(2000);
  });

  it('reads through idx_af_audit_task and idx_af_audit_at, without sorting', async () => {
    // A log of some size: on a few thousand rows the optimiser rightly prefers a scan and a sort.
    const now = Date.now();
    for (let batch = 0; batch < 10; batch++) {
      const rows = Array.from({ length: 5000 }, (_, i) => [new Date(now - (batch * 5000 + i) * 1000), `operator-${i % 7}`, 'process', (i % 300) + 1, 'ok']);
      await database.pool.query('INSERT INTO af_audit_log (at, actor, action, task_id, outcome) VALUES ?', [rows]);
    }
    await database.pool.query('ANALYZE TABLE af_audit_log');
    statements.length = 0;
    await readAudit(database.db, { taskId: 17, limit: 50 });
    await readAudit(database.db, { limit: 50 });

    const reads = statements.filter((s) => /^select/i.test(s.sql) && s.sql.includes('`af_audit_log`'));
    expect(reads).toHaveLength(2);
    const plans: Array<{ key: string | null; extra: string }> = [];
    for (const { sql: text, params } of reads) {
      const [plan] = await database.pool.query<mysql.RowDataPacket[]>(`EXPLAIN ${text}`, params);
      plans.push({ key: plan[0]!.key as string | null, extra: String(plan[0]!.Extra ?? '') });
    }
    expect(plans.map((p) => p.key)).toEqual(['idx_af_audit_task', 'idx_af_audit_at']);
    expect(plans.filter((p) => /filesort/i.test(p.extra))).toEqual([]);
  });
});
