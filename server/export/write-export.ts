// Writes an export as CSV (UTF-8 with BOM, so Excel on Chinese Windows reads it as UTF-8) or as
// .xlsx through exceljs's streaming writer (rows are committed and flushed as they come, no shared
// strings table), honouring the output's back-pressure: memory stays flat whatever the task's size.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import { neutraliseCell } from './cell-safety.ts';
import { EXPORT_COLUMNS, type ExportRow } from './export-rows.ts';

export type ExportFormat = 'csv' | 'xlsx';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['csv', 'xlsx'];

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

const cells = (row: ExportRow) => EXPORT_COLUMNS.map((c) => neutraliseCell(row[c.key]));

/** Resolves with the number of rows written once `out` has everything (it is ended). */
export async function writeExport(format: ExportFormat, rows: AsyncIterable<ExportRow>, out: Writable, sheetName: string): Promise<number> {
  return format === 'csv' ? writeCsv(rows, out) : writeXlsx(rows, out, sheetName);
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

async function writeCsv(rows: AsyncIterable<ExportRow>, out: Writable): Promise<number> {
  const write = async (line: string) => {
    if (!out.write(line)) await once(out, 'drain');
  };
  await write(`\uFEFF${EXPORT_COLUMNS.map((c) => csvField(c.header)).join(',')}\r\n`);
  let n = 0;
  for await (const row of rows) {
    await write(`${cells(row).map(csvField).join(',')}\r\n`);
    n++;
  }
  out.end();
  await once(out, 'finish');
  return n;
}

async function writeXlsx(rows: AsyncIterable<ExportRow>, out: Writable, sheetName: string): Promise<number> {
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useSharedStrings: false, useStyles: true });
  const sheet = workbook.addWorksheet(sheetName.replace(/[\\/?*[\]:]/g, ' ').slice(0, 31) || 'leads');
  sheet.columns = EXPORT_COLUMNS.map((c) => ({ header: c.header, key: c.key, width: c.width }));
  sheet.getRow(1).font = { bold: true };
  sheet.getRow(1).commit();
  let n = 0;
  for await (const row of rows) {
    // Strings only: a neutralised "'=1+1" stays text, and no value is ever read as a formula.
    sheet.addRow(cells(row)).commit();
    n++;
    if (out.writableNeedDrain) await once(out, 'drain');
  }
  sheet.commit();
  await workbook.commit();
  return n;
}
