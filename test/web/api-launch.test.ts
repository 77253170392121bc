// POST /api/tasks/:id/launch and /recall (issue 10): the operations' refusals as HTTP, audited.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { readAudit } from '../../server/audit-log.ts';
import { callTasks } from '../../server/db/schema/crm.ts';
import { useTestDatabase } from '../helpers/database.ts';
import { appOver } from '../helpers/web-app.ts';

const db = useTestDatabase();
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function givenTask(taskType: number): Promise<number> {
  const [task] = await db.db.insert(callTasks).values({ taskName: 'API 外呼', taskType, jobGroupId: taskType === 1 ? null : 'jg-1' }).$returningId();
  return task!.id;
}

describe('POST /api/tasks/:id/launch and /recall', () => {
  it('refuses to launch a task past stage 1 with 409 not-eligible, and audits it', async () => {
    const taskId = await givenTask(2);
    app = await appOver(db);
    const response = await app.inject({ method: 'POST', url: `/api/tasks/${taskId}/launch`, payload: {} });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({ taskId, status: 'refused', reason: 'not-eligible' });
    expect(response.json().error).toBe(`task ${taskId} is at a stage this command does not take (only a stage-1 task is launched)`);
    const audit = await readAudit(db.db, { taskId, limit: 10 });
    expect(audit.map((a) => [a.action, a.outcome])).toEqual([['launch', 'refused']]);
  });

  it('answers 400 with the field named for bad working hours, and sends nothing', async () => {
    const taskId = await givenTask(1);
    app = await appOver(db);
    const response = await app.inject({ method: 'POST', url: `/api/tasks/${taskId}/launch`, payload: { workingHours: '20:00-09:00' } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toContain('workingHours');
  });

  it('refuses a re-call of a stage-1 task and an unknown cause', async () => {
    const stageOne = await givenTask(1);
    app = await appOver(db);
    const early = await app.inject({ method: 'POST', url: `/api/tasks/${stageOne}/recall`, payload: {} });
    expect(early.statusCode).toBe(409);
    expect(early.json().error).toContain('only a task at stage 2, 3 or 4 with a job group is re-called');
    const calling = await givenTask(2);
    const bad = await app.inject({ method: 'POST', url: `/api/tasks/${calling}/recall`, payload: { causes: ['no-conversation'] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toContain('cause must be one of cancelled, not-in-group, failed');
  });
});
