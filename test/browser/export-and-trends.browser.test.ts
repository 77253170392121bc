// Issue 11 in a browser (headless Debian chromium against the real app and database): an operator
// opens a task, sees its trend charts, downloads the .xlsx and the .csv from the task page and finds
// in them the Chinese intact, the phones masked and a remark that starts with "=" neutralised; the
// overview shows each task's 14-day sparkline. Screenshots, in Chinese, land in test/artifacts/:
// task-charts.png (the task page, full), task-trends.png (its trends card), overview-sparklines.png.
import { readFileSync } from 'node:fs';
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskActivity } from '../../server/db/schema/app.ts';
import { writeFollowUps } from '../../server/pipeline/write-follow-ups.ts';
import { artifactPath, launchChromium, submitLogin } from '../helpers/browser.ts';
import { givenLeads, givenTask } from '../helpers/builders.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { appOver } from '../helpers/web-app.ts';

const PASSWORD = 'export-password';
const HOUR = 3_600_000;
let db: TestDatabase;
let app: FastifyInstance;
let address: string;
let browser: Browser;
let page: Page;
let taskId: number;

const CONVERSATION = JSON.stringify([
  { Speaker: 'Robot', Script: '您好，这里是星辰汽车，请问周末方便来试驾吗？', Timestamp: Date.UTC(2031, 4, 1, 2, 0, 0) },
  { Speaker: 'Contact', Script: '周六上午可以，我想看看新款SUV。', Timestamp: Date.UTC(2031, 4, 1, 2, 0, 5) },
]);
const NAMES = ['张伟', '王芳', '李娜', '刘洋', '陈静', '杨磊', '赵敏', '黄强', '周杰', '吴婷'];
const REMARKS = ['客户周六上午到店试驾新款SUV', '客户表示已购车，无需跟进。', '客户无法判断意向，建议再次联系。'];

/** A task with 12 leads: 11 followed up (interest of each kind), one still without a result, one
 * hostile name and one hostile remark; and 48 hours and 14 days of activity for the charts. */
async function givenTaskWithHistory(): Promise<number> {
  const id = await givenTask(db.db, { name: '五月试驾邀约', taskType: 4, jobGroupId: 'jg-may' });
  const other = await givenTask(db.db, { name: '老客户回访', taskType: 3, jobGroupId: 'jg-back' });
  const leads = [
    ...NAMES.map((name, i) => ({ phone: `1381234${String(5670 + i).padStart(4, '0')}`, name, callStatus: i % 4 === 3 ? 'Failed' : 'Succeeded' })),
    { phone: '13987654321', name: '=HYPERLINK("http://evil","点我")', callStatus: 'Failed' },
    { phone: '13700001111', name: '孙悦' },
  ];
  const ids = await givenLeads(db.db, id, leads);
  await db.pool.query('UPDATE leads_task_list SET call_conversation = ? WHERE id = ?', [CONVERSATION, ids[0]]);
  await writeFollowUps(db.db, ids.slice(0, 11).map((leadRowId, i) => ({
    leadRowId, taskId: id, leadsId: 1000 + i,
    remark: i === 10 ? '=1+1 客户未接电话' : REMARKS[i % 3]!,
    isInterested: i === 10 ? 0 : ([1, 2, 0] as const)[i % 3]!,
    nextFollowTime: i % 3 === 0 ? '2031-05-03 10:00:00' : null,
    analysis: { status: 'ok', error: null },
  })), '2031-05-01 10:05:00', new Date());
  // Earlier hours and days, as the pipeline would have counted them (the current hour is the write's).
  const thisHour = Math.floor(Date.now() / HOUR) * HOUR;
  const rows = [];
  for (let h = 1; h < 14 * 24; h++) {
    const wave = Math.round(6 + 5 * Math.sin(h / 4));
    if (h % 5 === 2) continue;
    rows.push({ taskId: id, hour: new Date(thisHour - h * HOUR), callsFinished: h < 48 ? wave + 3 : 0, followsWritten: h < 48 ? wave : (h % 24) % 3 });
    if (h % 3 === 0) rows.push({ taskId: other, hour: new Date(thisHour - h * HOUR), callsFinished: 2, followsWritten: 1 + (h % 4) });
  }
  await db.db.insert(taskActivity).values(rows);
  return id;
}

beforeAll(async () => {
  [db, browser] = await Promise.all([createTestDatabase(), launchChromium()]);
  taskId = await givenTaskWithHistory();
  app = await appOver(db, { env: { DASHBOARD_PASSWORD: PASSWORD, TZ: 'Asia/Shanghai' }, startTaskProcessing: () => true });
  await app.listen({ host: '127.0.0.1', port: 0 });
  address = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  page = await browser.newPage({ viewport: { width: 1366, height: 900 }, acceptDownloads: true });
  await page.goto(`${address}/login`);
  await submitLogin(page, '王经理', PASSWORD, `${address}/`);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await db?.drop();
});

async function downloadFrom(selector: string): Promise<{ name: string; bytes: Buffer }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const file = artifactPath(`export-${download.suggestedFilename()}`);
  await download.saveAs(file);
  return { name: download.suggestedFilename(), bytes: readFileSync(file) };
}

describe('issue 11 in a browser', () => {
  it('shows the 14-day sparkline of each task on the overview', async () => {
    const spark = page.locator(`#task-row-${taskId} svg.spark`);
    await spark.waitFor();
    expect(await spark.getAttribute('aria-label')).toMatch(/^最近 14 天每天的跟进记录：共 \d+ 条$/);
    expect((await spark.locator('polyline').getAttribute('points'))!.split(' ')).toHaveLength(14);
    await page.screenshot({ path: artifactPath('overview-sparklines.png'), fullPage: true });
  });

  it('draws the task page trends in Chinese, with no inline style or script', async () => {
    await page.goto(`${address}/tasks/${taskId}`);
    const trends = page.locator('#task-trends');
    await trends.locator('rect.bar.follows').first().waitFor();
    expect(await trends.locator('h2').innerText()).toBe('趋势');
    expect(await trends.locator('rect.bar.calls').count()).toBeGreaterThan(30);
    expect(await trends.innerText()).toContain('有意向 4');
    expect(await trends.locator('rect.interest').count()).toBe(4);
    expect(await trends.locator('[style]').count()).toBe(0);
    expect(await page.locator('script:not([src])').count()).toBe(0);
    await page.screenshot({ path: artifactPath('task-charts.png'), fullPage: true });
    await trends.screenshot({ path: artifactPath('task-trends.png') });
  });

  it('downloads the .xlsx from the task page: Chinese intact, phones masked, formulas neutralised', async () => {
    const { name, bytes } = await downloadFrom('#task-export a[data-export="xlsx"]');
    expect(name).toBe('五月试驾邀约.xlsx');
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
    const rows: string[][] = [];
    workbook.worksheets[0]!.eachRow((row) => rows.push((row.values as unknown[]).slice(1).map((v) => String(v ?? ''))));
    expect(rows[0]).toEqual(['客户姓名', '手机号', '外呼状态', '外呼时间', '意向', '跟进备注', '下次跟进时间', '跟进时间', '通话内容']);
    expect(rows).toHaveLength(13);
    const zhang = rows.find((r) => r[0] === '张伟')!;
    expect(zhang.slice(0, 2)).toEqual(['张伟', '138****5670']);
    expect(zhang[5]).toBe('客户周六上午到店试驾新款SUV');
    expect(zhang[8]).toBe('机器人：您好，这里是星辰汽车，请问周末方便来试驾吗？\n客户：周六上午可以，我想看看新款SUV。');
    const hostile = rows.find((r) => r[1] === '139****4321')!;
    expect(hostile[0]).toBe("'=HYPERLINK(\"http://evil\",\"点我\")");
    expect(hostile[5]).toBe("'=1+1 客户未接电话");
    expect(rows.flat().join('\n')).not.toMatch(/1[3-9]\d{9}/); // no full phone anywhere
  });

  it('downloads the .csv from the task page: UTF-8 with a BOM, Chinese intact, phones masked, formulas neutralised', async () => {
    const { name, bytes } = await downloadFrom('#task-export a[data-export="csv"]');
    expect(name).toBe('五月试驾邀约.csv');
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.subarray(3).toString('utf8');
    expect(text.split(/\r?\n/)[0]).toBe('客户姓名,手机号,外呼状态,外呼时间,意向,跟进备注,下次跟进时间,跟进时间,通话内容');
    expect(text).toContain('张伟,138****5670,Succeeded');
    expect(text).toContain('孙悦,137****1111');
    expect(text).toContain(`"'=HYPERLINK(""http://evil"",""点我"")",139****4321`);
    expect(text).toContain("'=1+1 客户未接电话");
    expect(text).not.toMatch(/1[3-9]\d{9}/);
  });
});
