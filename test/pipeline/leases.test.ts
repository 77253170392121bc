// Leases (DESIGN §3.8): decided by the database, so two processes can never both hold one.
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { taskLeases } from '../../server/db/schema/app.ts';
import { breakLease, claimLease, keepLease, LeaseLostError, readLease, releaseLease, renewLease } from '../../server/pipeline/leases.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.drop());
beforeEach(async () => database.reset());

async function expireLease(taskId: number) {
  await database.db.update(taskLeases).set({ expiresAt: sql`UTC_TIMESTAMP(3) - INTERVAL 1 SECOND` }).where(eq(taskLeases.taskId, taskId));
}

describe('task leases', () => {
  it('lets exactly one of many concurrent claimers win', async () => {
    const owners = Array.from({ length: 8 }, (_, i) => `process-${i}`);
    const wins = await Promise.all(owners.map((owner) => claimLease(database.db, 1, owner, 60)));
    expect(wins.filter(Boolean)).toHaveLength(1);
    const winner = owners[wins.indexOf(true)]!;
    expect((await readLease(database.db, 1))?.owner).toBe(winner);
  });

  it('is not taken while live, and is taken over once expired', async () => {
    expect(await claimLease(database.db, 1, 'a', 60)).toBe(true);
    expect(await claimLease(database.db, 1, 'b', 60)).toBe(false);
    await expireLease(1);
    expect((await readLease(database.db, 1))?.expired).toBe(true);
    expect(await claimLease(database.db, 1, 'b', 60)).toBe(true);
    // The crashed owner can no longer renew or release what is now b's.
    expect(await renewLease(database.db, 1, 'a', 60)).toBe(false);
    await releaseLease(database.db, 1, 'a');
    expect((await readLease(database.db, 1))?.owner).toBe('b');
  });

  it('is free again after release, and an operator can break a held one', async () => {
    await claimLease(database.db, 1, 'a', 60);
    await releaseLease(database.db, 1, 'a');
    expect(await readLease(database.db, 1)).toBeNull();
    await claimLease(database.db, 1, 'b', 60);
    expect(await breakLease(database.db, 1)).toBe(true);
    expect(await breakLease(database.db, 1)).toBe(false);
    expect(await claimLease(database.db, 1, 'c', 60)).toBe(true);
  });

  it('keeps a 5-second lease alive while work goes on, and notices when it is broken', async () => {
    await claimLease(database.db, 1, 'a', 5);
    const held = keepLease(database.db, 1, 'a', 5, () => undefined);
    try {
      const first = (await readLease(database.db, 1))!.expiresAt.getTime();
      await held.renew();
      expect((await readLease(database.db, 1))!.expiresAt.getTime()).toBeGreaterThanOrEqual(first);
      held.check(); // still ours
      await breakLease(database.db, 1);
      await expect(held.renew()).rejects.toBeInstanceOf(LeaseLostError);
      expect(() => held.check()).toThrow(LeaseLostError);
    } finally {
      held.stop();
    }
  });
});
