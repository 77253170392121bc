// Turns "the database is not there" into one sentence an operator can act on, instead of a mysql2
// stack trace. Only host, port, user and database name are ever printed: never the password.
import type mysql from 'mysql2/promise';

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'PROTOCOL_CONNECTION_LOST']);
const REFUSED_LOGIN = new Set(['ER_ACCESS_DENIED_ERROR', 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR', 'ER_DBACCESS_DENIED_ERROR']);

/** Thrown by checkDatabase; its message is the whole story, ready for one stderr line. */
export class DatabaseUnavailableError extends Error {
  constructor(message: string, readonly code: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

/** Runs SELECT 1; throws DatabaseUnavailableError with the one-line explanation when it fails. */
export async function checkDatabase(pool: mysql.Pool, databaseUrl: string): Promise<void> {
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    const message = describeDatabaseError(error, databaseUrl);
    if (message) throw new DatabaseUnavailableError(message, driverCodeOf(error) ?? 'UNKNOWN', error);
    throw error;
  }
}

/**
 * The sentence for a connection-level database error (unreachable, login refused, no such database
 * or table), or null when the error is something else. Looks through drizzle's wrapper (`cause`).
 */
export function describeDatabaseError(error: unknown, databaseUrl: string): string | null {
  const code = driverCodeOf(error);
  if (!code) return null;
  const { where, user, database } = describeUrl(databaseUrl);
  if (UNREACHABLE.has(code)) return `cannot reach the database at ${where} (${code}). Is MySQL running? Check DATABASE_URL.`;
  if (REFUSED_LOGIN.has(code)) return `the database at ${where} refused user "${user}" (${code}). Check the user and password in DATABASE_URL.`;
  if (code === 'ER_BAD_DB_ERROR') return `database "${database}" does not exist at ${where}. Run \`npx autofollow migrate\` to create it.`;
  if (code === 'ER_NO_SUCH_TABLE') {
    return `a table autofollow needs is missing in database "${database}" at ${where} (ER_NO_SUCH_TABLE). Run \`npx autofollow migrate\` to create it.`;
  }
  return null;
}

function driverCodeOf(error: unknown): string | null {
  for (let current = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (UNREACHABLE.has(code) || REFUSED_LOGIN.has(code) || code.startsWith('ER_'))) return code;
  }
  return null;
}

function describeUrl(databaseUrl: string): { where: string; user: string; database: string } {
  try {
    const url = new URL(databaseUrl);
    return {
      where: `${url.hostname}:${url.port || '3306'}`,
      user: decodeURIComponent(url.username) || '(none)',
      database: decodeURIComponent(url.pathname.replace(/^\//, '')),
    };
  } catch {
    return { where: 'DATABASE_URL', user: '(unknown)', database: '(unknown)' };
  }
}
