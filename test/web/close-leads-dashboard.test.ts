// 人工跟进 on the dashboard: /stuck and the task page offer it for the leads the pipeline cannot
// finish, for all of a cause at once or one lead; the answer names what was written; the audit row
// names the logged-in person; a viewer sees no form and a forged POST is refused.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readAudit } from '../../server/audit-log.ts';
import { leadStates } from '../../server/db/schema/app.ts';
import { followsOf, givenLeads, givenTask, leadsOf } from '../helpers/builders.ts';
import { HTMX, loggedIn, type DashboardSession } from '../helpers/dashboard-session.ts';
import { useTestDatabase } from '../helpers/database.ts';
import { appOver } from '../helpers/web-app.ts';

const database = useTestDatabase();
let app: FastifyInstance;
let session: DashboardSession;

beforeAll(async () => {
  app = await appOver(database, { env: { DASHBOARD_PASSWORD: 'secret-pass-1' } });
});
// Sessions live in the database, which is emptied before each test.
beforeEach(async () => {
  session = await loggedIn(app, 'secret-pass-1', '李主管');
});
afterAll(async () => app?.close());

/** A calling task with two cancelled jobs and one lead still calling. */
async function givenCancelledLeads() {
  const taskId = await givenTask(database.db, { name: '取消测试', jobGroupId: 'jg-cancel' });
  const ids = await givenLeads(database.db, taskId, [
    { phone: '13911110001', callJobId: 'job-c1' },
    { phone: '13911110002', callJobId: 'job-c2' },
    { phone: '13911110003', callJobId: 'job-c3' },
  ]);
  await database.db.insert(leadStates).values([
    { leadRowId: ids[0]!, taskId, lastJobStatus: 'Cancelled' },
    { leadRowId: ids[1]!, taskId, lastJobStatus: 'Cancelled' },
    { leadRowId: ids[2]!, taskId, lastJobStatus: 'Executing' },
  ]);
  return { taskId, ids };
}

describe('人工跟进 on the dashboard', () => {
  it('is offered on /stuck for the cancelled leads of a task, and closes them all with one remark', async () => {
    const { taskId, ids } = await givenCancelledLeads();
    const page = await session.get('/stuck');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`id="close-${taskId}-cancelled-all"`);
    expect(page.body).toContain('人工跟进 (2)');

    const answer = await session.post(`/tasks/${taskId}/close-leads`, { cause: 'cancelled', remark: '已电话联系，客户暂不需要', interest: '2', nextFollowTime: '', view: 'message' }, { headers: HTMX });
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toContain('已人工跟进 2 条线索（外呼被取消）；跳过 0 条');
    const leads = await leadsOf(database.db, taskId);
    expect(leads.map((l) => l.isInterested)).toEqual([2, 2, null]);
    expect((await followsOf(database.db)).map((f) => f.leadsRemark)).toEqual(['已电话联系，客户暂不需要', '已电话联系，客户暂不需要']);
    const [audit] = await readAudit(database.db, { taskId, limit: 1 });
    expect(audit).toMatchObject({ actor: '李主管', action: 'close-leads', outcome: 'ok' });

    const after = await session.get('/stuck');
    expect(after.body).not.toContain(`id="close-${taskId}-cancelled-all"`);
    expect(ids).toHaveLength(3);
  });

  it('is offered on a cancelled lead’s row, answers with the row, which then says who followed it up', async () => {
    const { taskId, ids } = await givenCancelledLeads();
    const page = await session.get(`/tasks/${taskId}`);
    expect(page.body).toContain(`id="close-${taskId}-cancelled-${ids[0]}"`);
    expect(page.body).not.toContain(`id="close-${taskId}-cancelled-${ids[2]}"`); // still calling: not for a person yet
    const next = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 16); // as <input type="datetime-local"> sends it
    const answer = await session.post(`/tasks/${taskId}/close-leads`, { cause: 'cancelled', remark: '客户周六到店', interest: '1', nextFollowTime: next, leadIds: String(ids[0]), view: 'row' }, { headers: HTMX });
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toContain(`<tbody id="lead-${ids[0]}"`);
    expect(answer.body).toContain('由 李主管 人工跟进');
    expect(answer.body).not.toContain(`id="close-${taskId}-cancelled-${ids[0]}"`);
    const [follow] = await followsOf(database.db);
    expect(follow!.nextFollowTime).not.toBeNull();
  });

  it('keeps offering it for cancelled leads of a task that reached stage 4 (they no longer hold the stage)', async () => {
    const { taskId } = await givenCancelledLeads();
    await database.pool.query('UPDATE call_tasks SET task_type = 4 WHERE id = ?', [taskId]);
    const page = await session.get('/stuck');
    expect(page.body).toContain(`id="close-${taskId}-cancelled-all"`);
  });

  it('refuses bad input with the reason and writes nothing', async () => {
    const { taskId } = await givenCancelledLeads();
    const answer = await session.post(`/tasks/${taskId}/close-leads`, { cause: 'cancelled', remark: '', interest: '1', view: 'message' }, { headers: HTMX });
    expect(answer.statusCode).toBe(400);
    expect(answer.body).toContain('没有写入任何记录');
    expect(await followsOf(database.db)).toHaveLength(0);
  });
});
