// One UPDATE for a whole page of rows (DESIGN: writes are batched per page, not per row):
// SET col = CASE id WHEN ? THEN ? ... END, with every value bound as a parameter.
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';

export function caseById<V>(idColumn: AnyColumn, rows: ReadonlyArray<{ id: number; value: V }>): SQL {
  const branches = rows.map(({ id, value }) => sql`WHEN ${id} THEN ${value}`);
  return sql`CASE ${idColumn} ${sql.join(branches, sql` `)} END`;
}

/**
 * In INSERT ... ON DUPLICATE KEY UPDATE, the value the row would have been inserted with. MySQL 8
 * deprecates VALUES() here but still accepts it, and MariaDB has no other way (no "AS new" alias).
 */
export function valuesOf(column: AnyColumn): SQL {
  return sql`VALUES(${sql.identifier(column.name)})`;
}
