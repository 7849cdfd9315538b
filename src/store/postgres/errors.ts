/**
 * PostgreSQL errors translated once into barge's error kinds: a unique violation is a conflict (a
 * name or id already taken); a lost or refused connection, or a server shutting down, is
 * "unavailable, try again". Anything else passes through unchanged.
 */
import { BargeError } from '../../core/errors.js';

const UNIQUE_VIOLATION = '23505';
/** 22P05 untranslatable_character (NUL in jsonb), 22021 character_not_in_repertoire (NUL in text). */
const UNSTORABLE_TEXT = new Set(['22P05', '22021']);
/** SQLSTATE class 08 (connection exception), 57P01-03 (shutdown, cannot connect now), socket errors. */
const UNAVAILABLE = /^(08|57P0[123]$|ECONNREFUSED$|ECONNRESET$|ETIMEDOUT$|EPIPE$|ENOTFOUND$)/u;

/** What node-postgres throws, without a SQLSTATE, when the connection is lost or cannot be had. */
const CONNECTION_LOST = /^(Connection terminated|Client was closed and is not queryable|Client has encountered a connection error|timeout exceeded when trying to connect)/u;

export function interpretPgError(error: unknown): unknown {
  const { code, detail } = (error ?? {}) as { code?: unknown; detail?: unknown };
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code !== 'string') {
    if (error instanceof Error && !(error instanceof BargeError) && CONNECTION_LOST.test(message)) {
      return new BargeError('BARGE_E_UNAVAILABLE', `the database is unavailable, try again (${message})`, { cause: error });
    }
    return error;
  }
  if (code === UNIQUE_VIOLATION) {
    return new BargeError('BARGE_E_CONFLICT', `already exists (${typeof detail === 'string' ? detail : message})`, { cause: error });
  }
  if (UNSTORABLE_TEXT.has(code)) {
    return new BargeError('BARGE_E_VALIDATION', `text that cannot be stored (a NUL character?): ${message}`, { cause: error });
  }
  if (UNAVAILABLE.test(code)) {
    return new BargeError('BARGE_E_UNAVAILABLE', `the database is unavailable, try again (${message})`, { cause: error });
  }
  return error;
}
