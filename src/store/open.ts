/**
 * Opening a store from a database URL, migrated and ready:
 * - `sqlite:PATH`, `sqlite://PATH` (`sqlite:///abs/path` for an absolute path), or a plain path
 *   ending in `.db`, `.sqlite` or `.sqlite3`: the embedded SQLite store (the folder is created);
 * - `postgres://…` or `postgresql://…`: the PostgreSQL store; `?schema=NAME` picks the schema
 *   (default `public`).
 */
import type { Store } from './store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { redactPassword } from './shared/redact.js';

export { redactPassword };

export type StoreLocation = { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string };

const SQLITE_FILE = /\.(db|sqlite|sqlite3)$/iu;

export async function openStore(url: string): Promise<Store> {
  const location = parseStoreUrl(url);
  if (location.dialect === 'sqlite') return SqliteStore.open(location.path);
  return PostgresStore.open(location.url);
}

/** Which store a URL names; throws an error that says what was expected. */
export function parseStoreUrl(url: string): StoreLocation {
  const trimmed = url.trim();
  if (/^postgres(ql)?:\/\//iu.test(trimmed)) return { dialect: 'postgres', url: trimmed };
  if (/^sqlite:/iu.test(trimmed)) {
    const path = trimmed.replace(/^sqlite:(\/\/)?/iu, '');
    if (!path) throw new Error(`database URL ${JSON.stringify(url)} names no SQLite file: write sqlite:PATH`);
    return { dialect: 'sqlite', path };
  }
  if (SQLITE_FILE.test(trimmed) && !trimmed.includes('://')) return { dialect: 'sqlite', path: trimmed };
  throw new Error(
    `unsupported database URL ${JSON.stringify(redactPassword(url))}: use sqlite:PATH, a path ending in .db, ` +
      'or postgres://USER@HOST/DATABASE',
  );
}
