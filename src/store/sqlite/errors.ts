/**
 * SQLite errors translated once into barge's error kinds: a unique or primary-key clash is a
 * conflict (a name or id already taken), a lock held too long is "unavailable, try again".
 * Anything else passes through unchanged.
 */
import { BargeError } from '../../core/errors.js';

const UNIQUE_CODES = new Set(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);

export function interpretSqliteError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code !== 'string') return error;
  if (UNIQUE_CODES.has(code)) return new BargeError('BARGE_E_CONFLICT', `already exists (${message})`, { cause: error });
  if (code.startsWith('SQLITE_BUSY')) {
    return new BargeError('BARGE_E_UNAVAILABLE', `the database is busy, try again (${message})`, { cause: error });
  }
  return error;
}

export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}
