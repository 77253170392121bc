// Export (issue 11): the task's leads with their outcome as .xlsx and .csv, Chinese intact, cells
// that start a formula neutralised, masked phones unless an operator asks, every export audited.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOperator } from '../../server/access/operators.ts';
import { auditLog } from '../../server/db/schema/app.ts';
import { neutraliseCell } from '../../server/export/cell-safety.ts';
import { writeFollowUps } from '../../server/pipeline/write-follow-ups.ts';
import { givenLeads, givenTask } from '../helpers/builders.ts';
import { useTestDatabase } from '../helpers/database.ts';
import { loggedIn } from '../helpers/dashboard-session.ts';
import { runCli } from '../helpers/run-cli.ts';
import { appOver } from '../helpers/web-app.ts';

const PASSWORD = 'a long password';
const db = useTestDatabase();
let app: FastifyInstance;

beforeEach(async () => {
  app = await appOver(db, { env: { DASHBOARD_PASSWORD: 'bootstrap' }, startTaskProcessing: () => true });
  for (const role of ['viewer', 'operator'] as const) await createOperator(db.db, { login: role, displayName: role, role, password: PASSWORD });
});
afterEach(async () => app?.close());

const CONVERSATION = JSON.stringify([
  { Speaker: 'Robot', Script: '您好，这里是星辰汽车，请问周末方便来试驾吗？', Timestamp: Date.UTC(2031, 4, 1, 2, 0, 0) },
  { Speaker: 'Contact', Script: '周六上午可以，我想看看新款SUV。', Timestamp: Date.UTC(2031, 4, 1, 2, 0, 5) },
]);

async function givenExportableTask() {
  const taskId = await givenTask(db.db, { name: '五月试驾邀约' });
  const ids = await givenLeads(db.db, taskId, [
    { phone: '13812345678', name: '张伟', callStatus: 'Succeeded' },
    { phone: '13987654321', name: '=HYPERLINK("http://evil","点我")', callStatus: 'Failed' },
  ]);
  await db.pool.query('UPDATE leads_task_list SET call_conversation = ? WHERE id = ?', [CONVERSATION, ids[0]]);
  await writeFollowUps(db.db, [
    { leadRowId: ids[0]!, taskId, leadsId: 1, remark: '客户周六上午到店试驾新款SUV', isInterested: 1, nextFollowTime: '2031-05-03 10:00:00', analysis: { status: 'ok', error: null } },
    { leadRowId: ids[1]!, taskId, leadsId: 2, remark: '=1+1 客户未接电话', isInterested: 0, nextFollowTime: null, analysis: null },
  ], '2031-05-01 10:05:00', new Date());
  return taskId;
}

async function download(role: 'viewer' | 'operator', url: string) {
  const session = await loggedIn(app, PASSWORD, role);
  return app.inject({ method: 'GET', url, headers: { cookie: [...session.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
}

async function readXlsx(buffer: Buffer): Promise<string[][]> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(buffer as unknown as ArrayBuffer);
  const rows: string[][] = [];
  workbook.worksheets[0]!.eachRow((row) => rows.push((row.values as unknown[]).slice(1).map((v) => String(v ?? ''))));
  return rows;
}

describe('export', () => {
  it('neutralises cells that would start a formula', () => {
    expect(['=1+1', '+86', '-2', '@SUM(A1)', '\tx', '客户', '1=1'].map(neutraliseCell)).toEqual(["'=1+1", "'+86", "'-2", "'@SUM(A1)", "'\tx", '客户', '1=1']);
  });

  it('gives a viewer the .xlsx with masked phones, Chinese intact and formulas neutralised, and audits it', async () => {
    const taskId = await givenExportableTask();
    const response = await download('viewer', `/tasks/${taskId}/export?format=xlsx`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('spreadsheetml');
    expect(String(response.headers['content-disposition'])).toContain(encodeURIComponent('五月试驾邀约.xlsx'));
    const rows = await readXlsx(response.rawPayload);
    expect(rows[0]).toEqual(['客户姓名', '手机号', '外呼状态', '外呼时间', '意向', '跟进备注', '下次跟进时间', '跟进时间', '通话内容']);
    expect(rows[1]).toEqual(['张伟', '138****5678', 'Succeeded', '2031-05-01 10:00:00', '有意向', '客户周六上午到店试驾新款SUV', '2031-05-03 10:00:00', '2031-05-01 10:05:00',
      '机器人：您好，这里是星辰汽车，请问周末方便来试驾吗？\n客户：周六上午可以，我想看看新款SUV。']);
    expect(rows[2]!.slice(0, 2)).toEqual(["'=HYPERLINK(\"http://evil\",\"点我\")", '139****4321']);
    expect(rows[2]![5]).toBe("'=1+1 客户未接电话");
    const audit = (await db.db.select().from(auditLog)).filter((a) => a.action !== 'login');
    expect(audit).toMatchObject([{ actor: 'viewer', action: 'export', taskId, outcome: 'ok' }]);
    expect(audit[0]!.detail).toContain('format=xlsx');
  });

  it('gives the .csv in UTF-8 with a BOM, and full phones only to an operator', async () => {
    const taskId = await givenExportableTask();
    expect((await download('viewer', `/tasks/${taskId}/export?format=csv&phones=full`)).statusCode).toBe(403);
    const response = await download('operator', `/tasks/${taskId}/export?format=csv&phones=full`);
    expect(response.statusCode).toBe(200);
    const bytes = response.rawPayload;
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8');
    expect(text).toContain('张伟,13812345678,Succeeded');
    expect(text).toContain(`"'=HYPERLINK(""http://evil"",""点我"")",13987654321`);
    expect(text).toContain("'=1+1 客户未接电话");
    const audit = (await db.db.select().from(auditLog)).filter((a) => a.action !== 'login');
    expect(audit.map((a) => [a.actor, a.action, a.outcome])).toEqual([['viewer', 'export-full-phones', 'refused'], ['operator', 'export-full-phones', 'ok']]);
  });

  it('writes the file from the command line, masked by default', async () => {
    const taskId = await givenExportableTask();
    const dir = mkdtempSync(path.join(tmpdir(), 'af-export-'));
    const file = path.join(dir, 'out.xlsx');
    const result = await runCli(['export', String(taskId), '--format', 'xlsx', '-o', file], { DATABASE_URL: db.url });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('2 leads written');
    const rows = await readXlsx(readFileSync(file));
    expect(rows[1]!.slice(0, 2)).toEqual(['张伟', '138****5678']);
    expect((await runCli(['export', String(taskId), '--format', 'pdf', '-o', file], { DATABASE_URL: db.url })).code).toBe(2);
    expect((await runCli(['export', '99999', '--format', 'csv', '-o', file], { DATABASE_URL: db.url })).code).toBe(1);
  });
});
