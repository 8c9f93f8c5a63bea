/**
 * @module server/db/errors — what a database error means, whichever driver (postgres.js, PGlite)
 * threw it and however drizzle wrapped it (DrizzleQueryError keeps the driver's error as `cause`).
 */

/** The SQLSTATE (or postgres.js connection code) and constraint found first in the cause chain. */
export function sqlState(error: unknown): { code?: string; constraint?: string } {
  for (let e: unknown = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, constraint, constraint_name } = e as { code?: unknown; constraint?: unknown; constraint_name?: unknown };
    if (typeof code === 'string' && code !== '') return { code, constraint: String(constraint ?? constraint_name ?? '') };
  }
  return {};
}

/** The trigger of migrations/0003_spam.sql: an upload was to be made for a source marked spam. */
export const isSpamSourceRefusal = (error: unknown): boolean => sqlState(error).code === 'SDSPM';

export const isForeignKeyViolation = (error: unknown): boolean => sqlState(error).code === '23503';

export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const state = sqlState(error);
  return state.code === '23505' && state.constraint === constraint;
}

// postgres.js's own codes for a connection that failed or went away, and Node's socket errors
const CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

const PGLITE_OR_PG_UNAVAILABLE =
  /^(Connection terminated|Client has encountered a connection error|Client was closed|timeout exceeded when trying to connect|Cannot use a pool after calling end)|PGlite is closed/i;

/**
 * The database cannot answer now but may soon: it is unreachable, restarting, shutting down, out
 * of connections, or it cancelled the statement (statement_timeout, a shutdown). Such a request
 * changed nothing it acknowledged, so the answer is 503 and the client tries again.
 * SQLSTATE classes (PostgreSQL, Appendix A): 08 connection exception, 57P01-57P03 operator
 * intervention (admin/crash shutdown, cannot connect now), 57014 query_canceled, 53300
 * too_many_connections, 40001/40P01 serialization failure / deadlock (retryable by definition).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (CONNECTION_CODES.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code)) return true;
      if (code === '57014' || code === '53300' || code === '40001' || code === '40P01') return true;
    }
    // node-postgres's connection errors carry no code, only these messages (pg/lib/client.js,
    // pg-pool/index.js); PGlite after close() (a shutdown racing a request)
    if (e instanceof Error && PGLITE_OR_PG_UNAVAILABLE.test(e.message)) return true;
  }
  return false;
}
