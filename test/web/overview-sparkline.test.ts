// The overview's sparkline (issue 11): per task, follow records per day over the last 14 days in the
// CRM's zone, as server-rendered SVG (no script, no style attribute), read for the whole page in one
// statement and redrawn with the rows when the table polls.
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { taskActivity } from '../../server/db/schema/app.ts';
import { readSparklines, SPARK, SPARK_DAYS } from '../../server/dashboard/task-sparklines.ts';
import { toCrmDateTime } from '../../server/crm-time.ts';
import { givenTask } from '../helpers/builders.ts';
import { dashboardSession, HTMX } from '../helpers/dashboard-session.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { appOver } from '../helpers/web-app.ts';

const TZ = 'Asia/Shanghai';
const HOUR = 3_600_000;
const statements: string[] = [];
let db: TestDatabase;
let app: FastifyInstance | undefined;
beforeAll(async () => {
  db = await createTestDatabase({ onQuery: (sql) => statements.push(sql) });
});
afterAll(async () => db?.drop());
beforeEach(async () => db.reset());
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** UTC epoch ms of today's midnight in the CRM zone (Shanghai: 16:00 UTC the day before). */
function crmMidnight(nowMs: number): number {
  return Date.parse(`${toCrmDateTime(nowMs, TZ).slice(0, 10)}T00:00:00Z`) - 8 * HOUR;
}

function sparkOf(html: string, taskId: number): string {
  return new RegExp(`<svg class="spark" data-spark="${taskId}"[\\s\\S]*?</svg>`).exec(html)?.[0] ?? '';
}

describe('the overview sparkline', () => {
  it('counts follow records per CRM day over 14 days, draws them as SVG, and refreshes with the table', async () => {
    const busy = await givenTask(db.db, { name: '试驾邀约' });
    const quiet = await givenTask(db.db, { name: '老客户回访' });
    const midnight = crmMidnight(Date.now());
    await db.db.insert(taskActivity).values([
      { taskId: busy, hour: new Date(midnight), followsWritten: 5 }, // 00:00 today in Shanghai: today
      { taskId: busy, hour: new Date(midnight - HOUR), followsWritten: 3 }, // 23:00 yesterday
      { taskId: busy, hour: new Date(midnight - 2 * HOUR), followsWritten: 4, callsFinished: 9 }, // also yesterday
      { taskId: busy, hour: new Date(midnight - 13 * 24 * HOUR), followsWritten: 2 }, // the oldest day shown
      { taskId: busy, hour: new Date(midnight - 13 * 24 * HOUR - HOUR), followsWritten: 100 }, // 15 days ago: not shown
    ]);

    const spark = (await readSparklines(db.db, [busy, quiet], Date.now(), TZ)).get(busy)!;
    expect(spark.days).toHaveLength(SPARK_DAYS);
    expect(spark.days[0]).toBe(2);
    expect(spark.days.slice(-2)).toEqual([7, 5]);
    expect(spark.total).toBe(14);
    const points = spark.points.split(' ').map((p) => p.split(',').map(Number));
    expect(points).toHaveLength(SPARK_DAYS);
    expect(points[SPARK_DAYS - 2]![1]).toBe(1); // the busiest day at the top
    expect(points.every(([x, y]) => x! >= 0 && x! <= SPARK.width && y! >= 0 && y! <= SPARK.height)).toBe(true);

    app = await appOver(db, { env: { TZ } });
    const session = dashboardSession(app);
    statements.length = 0;
    const page = await session.get('/');
    expect(page.statusCode).toBe(200);
    expect(statements.filter((s) => s.includes('af_task_activity'))).toHaveLength(1); // one statement for the page
    const busySvg = sparkOf(page.body, busy);
    expect(busySvg).toContain('最近 14 天每天的跟进记录：共 14 条');
    expect(busySvg).toContain(`<polyline points="${spark.points}">`);
    expect(busySvg).not.toMatch(/style=|<script/);
    expect(sparkOf(page.body, quiet)).toContain('共 0 条');

    // The table's poll brings the day's new records.
    await db.db.insert(taskActivity).values({ taskId: busy, hour: new Date(midnight + HOUR), followsWritten: 6 });
    const fragment = await session.get('/?fragment=tasks', HTMX);
    expect(sparkOf(fragment.body, busy)).toContain('共 20 条');

    // An action that redraws the row keeps its sparkline.
    const row = await session.post(`/tasks/${busy}/actions/pause`, { view: 'row' }, { headers: HTMX });
    expect(row.statusCode).toBe(200);
    expect(row.body).toContain(`<tr id="task-row-${busy}" class="paused">`);
    expect(sparkOf(row.body, busy)).toContain('共 20 条');
  });

  it('reads one statement for a page of many tasks', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 30; i++) ids.push(await givenTask(db.db, { name: `任务${i}` }));
    await db.db.insert(taskActivity).values(ids.map((taskId, i) => ({ taskId, hour: new Date(crmMidnight(Date.now()) - i * HOUR), followsWritten: 1 + i })));
    statements.length = 0;
    const lines = await readSparklines(db.db, ids, Date.now(), TZ);
    expect(statements).toHaveLength(1);
    expect(lines.get(ids[3]!)!.total).toBe(4);
  });
});
