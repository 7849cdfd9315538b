/**
 * Brings a SQLite file up to the newest schema. Each migration runs in its own BEGIN IMMEDIATE
 * transaction that first records its row in barge_migrations: two processes opening a new file at
 * once take turns on the write lock, and the second finds the row already there and skips.
 */
import { checkMigrationOrder, checkNotNewer } from '../shared/migration.js';
import type { SqliteConnection } from './connection.js';
import { SQLITE_MIGRATIONS } from './migrations.js';

const CREATE_MIGRATIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS barge_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`;
const MIGRATION_MAX_VERSION = `SELECT coalesce(max(version), 0) FROM barge_migrations`;
const MIGRATION_CLAIM = `INSERT OR IGNORE INTO barge_migrations (version, name, applied_at) VALUES (?, ?, ?)`;

export async function migrateSqlite(conn: SqliteConnection, migrations = SQLITE_MIGRATIONS): Promise<void> {
  checkMigrationOrder(migrations);
  conn.db.exec(CREATE_MIGRATIONS_TABLE);
  checkNotNewer(conn.number(MIGRATION_MAX_VERSION), migrations);
  for (const migration of migrations) {
    await conn.begin();
    try {
      const claimed = conn.run(MIGRATION_CLAIM, [migration.version, migration.name, new Date().toISOString()]) > 0;
      if (claimed) conn.db.exec(migration.sql);
      conn.commit();
    } catch (error) {
      conn.rollback();
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`SQLite migration ${migration.version} (${migration.name}) failed: ${reason}`, { cause: error });
    }
  }
}
