// One UPDATE for a whole page of rows (DESIGN: writes are batched per page, not per row):
// SET col = CASE id WHEN ? THEN ? ... END, with every value bound as a parameter.
import { SQL, sql, StringChunk, type AnyColumn } from 'drizzle-orm';

const WHEN = new StringChunk(' WHEN ');
const THEN = new StringChunk(' THEN ');

/**
 * Built as one flat list of chunks rather than a template per row: a page of 99 rows and five
 * columns made about 500 nested SQL objects, one of the larger CPU costs per lead (issue 12).
 */
export function caseById<V>(idColumn: AnyColumn, rows: ReadonlyArray<{ id: number; value: V }>): SQL {
  const chunks: unknown[] = [new StringChunk('CASE '), idColumn];
  for (const { id, value } of rows) chunks.push(WHEN, id, THEN, value);
  chunks.push(new StringChunk(' END'));
  return new SQL(chunks as ConstructorParameters<typeof SQL>[0]);
}

/**
 * In INSERT ... ON DUPLICATE KEY UPDATE, the value the row would have been inserted with. MySQL 8
 * deprecates VALUES() here but still accepts it, and MariaDB has no other way (no "AS new" alias).
 */
export function valuesOf(column: AnyColumn): SQL {
  return sql`VALUES(${sql.identifier(column.name)})`;
}
