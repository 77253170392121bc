// 人工跟进 (DESIGN §3.12): one command from the CLI, /api and the operation itself, writing each
// lead's one follow record through the exactly-once path, audited with the person's name.
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { readAudit } from '../../server/audit-log.ts';
import { leadStates } from '../../server/db/schema/app.ts';
import { findStuck } from '../../server/dashboard/stuck.ts';
import { closeLeadsOperation } from '../../server/operations/close-leads.ts';
import { diagnoseTask } from '../../server/pipeline/diagnose.ts';
import { writeFollowUps } from '../../server/pipeline/write-follow-ups.ts';
import { toCrmDateTime } from '../../server/crm-time.ts';
import { followsOf, givenLeads, givenTask, leadsOf } from '../helpers/builders.ts';
import { useTestDatabase } from '../helpers/database.ts';
import { runCli } from '../helpers/run-cli.ts';
import { appOver } from '../helpers/web-app.ts';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/log.ts';
import type { Actor } from '../../server/operations/outcome.ts';

const log = createLogger('silent', { pretty: false });

const database = useTestDatabase();
const config = loadConfig({ DATABASE_URL: 'mysql://root@127.0.0.1:3306/unused' });
const context = () => ({ pipeline: { db: database.db, clock: { now: () => Date.now() }, config, log } });
const person = (name: string): Actor => ({ name, role: 'operator', via: 'dashboard' });
const close = (taskId: number, raw: unknown, name: string) => closeLeadsOperation(context(), person(name), taskId, raw);

/** A stage-2 task: three leads whose jobs Outbound Bot cancelled, one still calling, one absent from its group. */
async function givenTaskWithCauses() {
  const taskId = await givenTask(database.db, { jobGroupId: 'jg-close' });
  const ids = await givenLeads(database.db, taskId, [
    { phone: '13900000001', callJobId: 'job-1' },
    { phone: '13900000002', callJobId: 'job-2' },
    { phone: '13900000003', callJobId: 'job-3' },
    { phone: '13900000004', callJobId: 'job-4' },
    { phone: '13900000005' },
  ]);
  await database.db.insert(leadStates).values([
    ...ids.slice(0, 3).map((id) => ({ leadRowId: id, taskId, lastJobStatus: 'Cancelled' })),
    { leadRowId: ids[3]!, taskId, lastJobStatus: 'Executing' },
    { leadRowId: ids[4]!, taskId, notInGroupSince: new Date() },
  ]);
  return { taskId, ids };
}

describe('closeLeadsOperation', () => {
  it('closes every lead of the cause with the remark and interest, skips the rest, and audits the person', async () => {
    const { taskId, ids } = await givenTaskWithCauses();
    const next = toCrmDateTime(Date.now() + 86_400_000, 'Asia/Shanghai');
    const result = await close(taskId, { cause: 'cancelled', remark: '已电话联系，客户下周到店', interest: '1', nextFollowTime: next }, 'alice');
    expect(result).toMatchObject({ status: 'done', facts: { cause: 'cancelled', closed: 3, skipped: 0 }, data: { closedIds: ids.slice(0, 3) } });
    const leads = await leadsOf(database.db, taskId);
    const follows = await followsOf(database.db);
    expect(follows.map((f) => [f.leadsRemark, f.nextFollowTime])).toEqual(Array(3).fill(['已电话联系，客户下周到店', next]));
    expect(leads.map((l) => l.isInterested)).toEqual([1, 1, 1, null, null]);
    expect(leads.slice(0, 3).map((l) => l.leadsFollowId)).toEqual(follows.map((f) => f.id));
    expect(leads.slice(0, 3).map((l) => l.callJobId)).toEqual(['job-1', 'job-2', 'job-3']); // the job id stays
    const [audit] = await readAudit(database.db, { taskId, limit: 10 });
    expect(audit).toMatchObject({ actor: 'alice', action: 'close-leads', outcome: 'ok' });
    expect(audit!.detail).toContain('closed=3');

    const again = await close(taskId, { cause: 'cancelled', remark: '再来一次', interest: 0 }, 'bob');
    expect(again).toMatchObject({ status: 'done', facts: { closed: 0, skipped: 0 } });
    expect(await followsOf(database.db)).toHaveLength(3);
  });

  it('closes only the named leads, counting those not of the cause (or already closed) as skipped', async () => {
    const { taskId, ids } = await givenTaskWithCauses();
    const result = await close(taskId, { cause: 'cancelled', remark: '客户已购车', interest: 2, leadIds: [ids[1], ids[3]] }, 'alice');
    expect(result).toMatchObject({ status: 'done', facts: { closed: 1, skipped: 1 }, data: { closedIds: [ids[1]] } });
    const notInGroup = await close(taskId, { cause: 'not-in-group', remark: '号码有误', interest: 0 }, 'alice');
    expect(notInGroup).toMatchObject({ facts: { closed: 1 }, data: { closedIds: [ids[4]] } });
  });

  it('writes one record per lead when two people close the same leads at the same moment', async () => {
    const { taskId } = await givenTaskWithCauses();
    const [a, b] = await Promise.all([
      close(taskId, { cause: 'cancelled', remark: 'A', interest: 0 }, 'alice'),
      close(taskId, { cause: 'cancelled', remark: 'B', interest: 0 }, 'bob'),
    ]);
    expect(Number(a.facts.closed) + Number(b.facts.closed)).toBe(3);
    expect(await followsOf(database.db)).toHaveLength(3);
  });

  it('writes a person\'s record only while the lead still has the cause it was decided for', async () => {
    // What the write sees when a pass moved a cancelled lead to a live re-issued job between the
    // operator's read and the write: its call's result, not the person's record, must finish it.
    const { taskId, ids } = await givenTaskWithCauses();
    await database.db.update(leadStates).set({ lastJobStatus: 'Executing' }).where(eq(leadStates.leadRowId, ids[0]!));
    const decision = (leadRowId: number) => ({
      leadRowId, taskId, leadsId: leadRowId, remark: '人工', isInterested: 0 as const, nextFollowTime: null, analysis: null,
      closed: { by: 'alice', cause: 'cancelled' as const },
    });
    const outcome = await writeFollowUps(database.db, [decision(ids[0]!), decision(ids[1]!)], toCrmDateTime(Date.now(), 'Asia/Shanghai'), new Date());
    expect(outcome).toMatchObject({ created: 1, alreadyDone: 1, createdIds: [ids[1]] });
    expect((await leadsOf(database.db, taskId)).map((l) => l.leadsFollowId !== null)).toEqual([false, true, false, false, false]);
  });

  it("agrees with diagnose and /stuck on which leads are not in their job group: never one a person decided about", async () => {
    // Four leads absent from a complete listing: one no one decided about, one whose interest a person
    // set outside autofollow, one closed here, and one closed then its mark cleared by a re-sync.
    const taskId = await givenTask(database.db, { jobGroupId: 'jg-absent' });
    const ids = await givenLeads(database.db, taskId, [
      { phone: '13900000011' }, { phone: '13900000012', isInterested: 1 }, { phone: '13900000013' }, { phone: '13900000014' },
      { phone: '13900000015', callJobId: 'job-15' },
    ]);
    await database.db.insert(leadStates).values(ids.slice(0, 4).map((id) => ({ leadRowId: id, taskId, notInGroupSince: new Date() })));
    expect(await close(taskId, { cause: 'not-in-group', remark: '空号', interest: 0, leadIds: [ids[2], ids[3]] }, 'alice'))
      .toMatchObject({ data: { closedIds: [ids[2], ids[3]] } });
    await database.db.update(leadStates).set({ notInGroupSince: null }).where(eq(leadStates.leadRowId, ids[3]!));

    const diagnosis = (await diagnoseTask({ db: database.db, config, clock: { now: () => Date.now() } }, taskId))!;
    expect(diagnosis.reasonCodes.find((r) => r.code === 'not-in-job-group')).toMatchObject({ count: 1, leadIds: [ids[0]] });
    expect(diagnosis.blockedLeads.find((l) => l.leadRowId === ids[1])?.reason).toBe('handled-outside');
    expect(diagnosis.leadReasons['not-synced']).toBe(0);
    expect(diagnosis.progress).toMatchObject({ notInJobGroup: 1, notSynced: 0 });
    const stuck = await findStuck(database.db, { stuckAfterSeconds: 7200, leaseSeconds: 300, limit: 50, timeZone: config.timeZone });
    expect(stuck.find((t) => t.id === taskId)?.causes.find((c) => c.kind === 'not-in-group')).toMatchObject({ count: 1 });
    expect(await close(taskId, { cause: 'not-in-group', remark: '号码有误', interest: 0 }, 'bob')).toMatchObject({ data: { closedIds: [ids[0]] } });
  });

  it.each([
    [{ cause: 'lost', remark: 'x', interest: 0 }, /^cause must be one of cancelled, not-in-group, no-conversation/],
    [{ cause: 'cancelled', remark: '   ', interest: 0 }, /^remark must not be empty/],
    [{ cause: 'cancelled', interest: 0 }, /^remark is required/],
    [{ cause: 'cancelled', remark: 'x', interest: 3 }, /^interest must be 0, 1 or 2, got "3"/],
    [{ cause: 'cancelled', remark: 'x' }, /^interest is required/],
    [{ cause: 'cancelled', remark: 'x', interest: 0, nextFollowTime: '下周' }, /^nextFollowTime must be "YYYY-MM-DD HH:mm:ss"/],
    [{ cause: 'cancelled', remark: 'x', interest: 0, nextFollowTime: '2020-01-01 10:00:00' }, /^nextFollowTime must be in the future/],
    [{ cause: 'cancelled', remark: 'x', interest: 0, leadIds: ['abc'] }, /^leadIds\.0: lead id must be a positive whole number/],
  ])('refuses bad input %j with a sentence and writes nothing', async (input, message) => {
    const { taskId } = await givenTaskWithCauses();
    const result = await close(taskId, input, 'alice');
    expect(result).toMatchObject({ status: 'refused', reason: 'bad-input' });
    expect(String(result.facts.problem)).toMatch(message);
    expect(await followsOf(database.db)).toHaveLength(0);
  });
});

describe('autofollow close-leads', () => {
  it('closes from the terminal, exits 0 (also with nothing left, saying so), 2 on bad arguments, 1 for an unknown task', async () => {
    const { taskId, ids } = await givenTaskWithCauses();
    const env = { DATABASE_URL: database.url };
    const closed = await runCli(['close-leads', String(taskId), '--cause', 'cancelled', '--remark', '客户已到店', '--interest', '1', '--lead', String(ids[0]), '--lead', String(ids[2]), '--by', 'carol'], env);
    expect(closed.stderr).toBe('');
    expect(closed.code).toBe(0);
    expect(closed.stdout).toBe(`task ${taskId}: closed 2 cancelled leads with a follow record; skipped 0 (already followed, or no longer cancelled)\n`);
    expect((await readAudit(database.db, { taskId, limit: 10 }))[0]).toMatchObject({ actor: 'carol', action: 'close-leads' });

    const nothing = await runCli(['close-leads', String(taskId), '--cause', 'cancelled', '--remark', '再来', '--interest', '0', '--lead', String(ids[0])], env);
    expect(nothing.code).toBe(0);
    expect(nothing.stdout).toContain('closed 0 cancelled leads with a follow record; skipped 1');

    const bad = await runCli(['close-leads', String(taskId), '--cause', 'cancelled', '--remark', 'x', '--interest', '5'], env);
    expect(bad.code).toBe(2);
    expect(bad.errorLines).toEqual([expect.stringMatching(/^autofollow: close-leads: interest must be 0, 1 or 2, got "5"/)]);
    const unknownFlag = await runCli(['close-leads', String(taskId), '--why', 'x'], env);
    expect(unknownFlag.code).toBe(2);
    const missing = await runCli(['close-leads', '999999', '--cause', 'cancelled', '--remark', 'x', '--interest', '0'], env);
    expect(missing.code).toBe(1);
    expect(missing.errorLines).toEqual(['autofollow: task 999999 does not exist']);
    expect(await followsOf(database.db)).toHaveLength(2);
  }, 90_000); // five processes, each starting Node
});

describe('POST /api/tasks/:id/close-leads', () => {
  it('takes the same fields as JSON: 200 with the counts, 400 for bad input, 404 for an unknown task', async () => {
    const { taskId, ids } = await givenTaskWithCauses();
    const app = await appOver(database, { env: { API_TOKEN: 'crm-token' } });
    try {
      const headers = { authorization: 'Bearer crm-token' };
      const ok = await app.inject({ method: 'POST', url: `/api/tasks/${taskId}/close-leads`, headers, payload: { cause: 'cancelled', remark: '人工回访完成', interest: 0 } });
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toEqual({ taskId, cause: 'cancelled', closed: 3, skipped: 0, closedIds: ids.slice(0, 3) });
      const bad = await app.inject({ method: 'POST', url: `/api/tasks/${taskId}/close-leads`, headers, payload: { cause: 'cancelled', remark: '', interest: 0 } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ reason: 'bad-input', error: 'remark must not be empty' });
      const missing = await app.inject({ method: 'POST', url: '/api/tasks/424242/close-leads', headers, payload: { cause: 'cancelled', remark: 'x', interest: 0 } });
      expect(missing.statusCode).toBe(404);
      const unauthorised = await app.inject({ method: 'POST', url: `/api/tasks/${taskId}/close-leads`, payload: { cause: 'cancelled', remark: 'x', interest: 0 } });
      expect(unauthorised.statusCode).toBe(401);
      const [state] = await database.db.select().from(leadStates).where(eq(leadStates.leadRowId, ids[0]!));
      expect(state).toMatchObject({ closedCause: 'cancelled', closedBy: expect.stringMatching(/^api:/) });
    } finally {
      await app.close();
    }
  });
});

