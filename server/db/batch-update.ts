// One statement for a whole page of rows (DESIGN: writes are batched per page, not per row):
// SET col = CASE id WHEN ? THEN ? ... END, multi-row INSERTs and id lists. Their values are bound by
// mysql2's own escaping (the same it applies to drizzle's parameters, with the pool's UTC zone) into
// ONE chunk: drizzle builds a statement value by value, about 3 µs each, and a sync's write-behind
// batch holds thousands of rows of 13 values (issue 12: the largest CPU cost per lead after the LLM).
import mysql from 'mysql2';
import { SQL, sql, type AnyColumn } from 'drizzle-orm';
import type { MySqlTable } from 'drizzle-orm/mysql-core';

/** A plain value as the database stores it (no SQL, no objects but dates). */
export type BoundValue = string | number | boolean | Date | null;

/** `text` with its ? bound to `values` and ?? to identifiers, as one SQL chunk. */
export function bound(text: string, values: readonly unknown[]): SQL {
  return sql.raw(mysql.format(text, values as Parameters<typeof mysql.format>[1], false, 'Z'));
}

export function caseById<V extends BoundValue>(idColumn: AnyColumn, rows: ReadonlyArray<{ id: number; value: V }>): SQL {
  const values: unknown[] = [];
  for (const { id, value } of rows) values.push(id, value);
  return sql`CASE ${idColumn}${bound(' WHEN ? THEN ?'.repeat(rows.length), values)} END`;
}

/** `column IN (ids)`; never empty (an empty page has nothing to write). */
export function inIds(column: AnyColumn, ids: readonly number[]): SQL {
  if (ids.length === 0) throw new Error('inIds: no ids');
  return sql`${column} IN ${bound('(?)', [ids])}`;
}

/**
 * INSERT of `rows` (one value per column, in order) that updates, on a duplicate key, `update`'s
 * columns to the inserted values and sets `clear`'s to NULL.
 */
export function upsertRows(table: MySqlTable, columns: AnyColumn[], rows: BoundValue[][], update: AnyColumn[], clear: AnyColumn[] = []): SQL {
  const assignments = [...update.map((c) => mysql.format('?? = VALUES(??)', [c.name, c.name])), ...clear.map((c) => mysql.format('?? = NULL', [c.name]))];
  return sql`${insertRows(table, columns, rows)} ON DUPLICATE KEY UPDATE ${sql.raw(assignments.join(', '))}`;
}

/** INSERT of `rows`, one value per column in order. */
export function insertRows(table: MySqlTable, columns: AnyColumn[], rows: BoundValue[][]): SQL {
  if (rows.length === 0) throw new Error('insertRows: no rows');
  return sql`INSERT INTO ${table} ${bound('(??) VALUES ?', [columns.map((c) => c.name), rows])}`;
}

/**
 * In INSERT ... ON DUPLICATE KEY UPDATE, the value the row would have been inserted with. MySQL 8
 * deprecates VALUES() here but still accepts it, and MariaDB has no other way (no "AS new" alias).
 */
export function valuesOf(column: AnyColumn): SQL {
  return sql`VALUES(${sql.identifier(column.name)})`;
}
