// Trends on the task page (issue 11): calls finished and follow records per hour as server-rendered
// SVG, counted in the transactions of the writes themselves, and the interest split.
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { taskActivity } from '../../server/db/schema/app.ts';
import { writeFollowUps } from '../../server/pipeline/write-follow-ups.ts';
import { givenLeads, givenTask } from '../helpers/builders.ts';
import { useTestDatabase } from '../helpers/database.ts';
import { dashboardSession } from '../helpers/dashboard-session.ts';
import { appOver } from '../helpers/web-app.ts';

const db = useTestDatabase();
let app: FastifyInstance;
beforeEach(async () => {
  app = await appOver(db, { startTaskProcessing: () => true });
});
afterEach(async () => app?.close());

describe('task trends', () => {
  it('counts follow records in the hour they were written and draws them with the interest split', async () => {
    const taskId = await givenTask(db.db, { name: '趋势任务' });
    const ids = await givenLeads(db.db, taskId, [{ phone: '13800000001' }, { phone: '13800000002' }, { phone: '13800000003' }]);
    await writeFollowUps(db.db, ids.slice(0, 2).map((leadRowId, i) => ({
      leadRowId, taskId, leadsId: 70 + i, remark: '周六试驾', isInterested: i === 0 ? 1 : 2, nextFollowTime: null, analysis: { status: 'ok', error: null },
    })), '2031-05-01 10:00:00', new Date());
    expect(await db.db.select({ follows: taskActivity.followsWritten }).from(taskActivity)).toEqual([{ follows: 2 }]);

    const page = await dashboardSession(app).get(`/tasks/${taskId}`);
    expect(page.statusCode).toBe(200);
    const trends = /<section class="card" id="task-trends">[\s\S]*?<\/section>/.exec(page.body)?.[0] ?? '';
    expect(trends).toContain('跟进记录 2');
    expect(trends.match(/<rect class="bar follows"/g)).toHaveLength(1);
    expect(trends).toContain('class="interest i-1"');
    expect(trends).toContain('有意向 1');
    expect(trends).toContain('尚无结果 1');
    expect(trends).not.toMatch(/style=|<script/);
  });
});
