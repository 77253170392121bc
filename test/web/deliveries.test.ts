// The deliveries page (issue 11): each channel's latest deliveries with their state, and an audited
// "resend" for dead ones that only an operator may press.
import type { FastifyInstance } from 'fastify';
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOperator } from '../../server/access/operators.ts';
import { auditLog, deliveries, hotLeadEvents } from '../../server/db/schema/app.ts';
import { writeResult } from '../../server/db/client.ts';
import { givenLeads, givenTask } from '../helpers/builders.ts';
import { useTestDatabase } from '../helpers/database.ts';
import { HTMX, loggedIn } from '../helpers/dashboard-session.ts';
import { appOver } from '../helpers/web-app.ts';

const PASSWORD = 'a long password';
const db = useTestDatabase();
let app: FastifyInstance;

beforeEach(async () => {
  app = await appOver(db, { env: { DASHBOARD_PASSWORD: 'bootstrap', NOTIFY_WECOM_WEBHOOK: 'http://127.0.0.1:9/wecom' }, startTaskProcessing: () => true });
  for (const role of ['viewer', 'operator'] as const) await createOperator(db.db, { login: role, displayName: role, role, password: PASSWORD });
});
afterEach(async () => app?.close());

async function givenDeadDelivery(): Promise<number> {
  const taskId = await givenTask(db.db, { name: '五月试驾' });
  const [leadRowId] = await givenLeads(db.db, taskId, [{ phone: '13800001111' }]);
  const event = writeResult(await db.db.insert(hotLeadEvents).values({ eventId: 'evt-1', taskId, leadRowId: leadRowId!, followId: 1, createdAt: sql`UTC_TIMESTAMP(3)`, fannedOut: 1 }));
  const delivery = writeResult(await db.db.insert(deliveries).values({ hotLeadId: event.insertId, channel: 'wecom', state: 'dead', attempts: 8, nextAttemptAt: sql`UTC_TIMESTAMP(3)`, lastError: 'wecom: HTTP 500', createdAt: sql`UTC_TIMESTAMP(3)` }));
  return delivery.insertId;
}

describe('/deliveries', () => {
  it('shows each channel with its deliveries and states, and which channels are not configured', async () => {
    const id = await givenDeadDelivery();
    const page = await (await loggedIn(app, PASSWORD, 'viewer')).get('/deliveries');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('企业微信机器人');
    expect(page.body).toContain(`id="delivery-${id}" data-state="dead"`);
    expect(page.body).toContain('wecom: HTTP 500');
    expect(page.body).toContain('未配置（设置 NOTIFY_DINGTALK_WEBHOOK）');
    expect(page.body).not.toContain('data-action="resend"'); // a viewer has no button
  });

  it('lets an operator resend a dead delivery, audited, and refuses a viewer', async () => {
    const id = await givenDeadDelivery();
    const viewer = await loggedIn(app, PASSWORD, 'viewer');
    expect((await viewer.post(`/deliveries/${id}/resend`, {}, { headers: HTMX })).statusCode).toBe(403);

    const operator = await loggedIn(app, PASSWORD, 'operator');
    const page = await operator.get('/deliveries');
    expect(page.body).toContain('data-action="resend"');
    const answer = await operator.post(`/deliveries/${id}/resend`, {}, { headers: HTMX });
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toContain('id="deliveries"');
    expect(answer.body).toContain(`已重新排队，稍后发送（推送 #${id}）`);
    expect(answer.body).toContain(`id="delivery-${id}" data-state="pending"`);
    const again = await operator.post(`/deliveries/${id}/resend`, {}, { headers: HTMX });
    expect(again.statusCode).toBe(409);
    const audit = await db.db.select().from(auditLog);
    expect(audit.map((a) => [a.actor, a.action, a.outcome])).toEqual(expect.arrayContaining([['operator', 'resend-delivery', 'ok'], ['operator', 'resend-delivery', 'refused']]));
  });
});
