/**
 * Brings a PostgreSQL schema up to the newest version. Every step holds a transaction-scoped
 * advisory lock (one per schema), so servers starting together take turns; each migration first
 * inserts its barge_migrations row in the same transaction, and a server that finds the row
 * already there skips the migration.
 */
import type pg from 'pg';
import { checkMigrationOrder, checkNotNewer } from '../shared/migration.js';
import { quoteIdent } from './connection.js';
import { POSTGRES_MIGRATIONS } from './migrations.js';

const LOCK = `SELECT pg_advisory_xact_lock(hashtext($1))`;
const MIGRATION_MAX_VERSION = `SELECT coalesce(max(version), 0) AS version FROM barge_migrations`;
const MIGRATION_CLAIM = `
  INSERT INTO barge_migrations (version, name) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING`;

function createSchemaSql(schema: string): string {
  return `
    CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)};
    CREATE TABLE IF NOT EXISTS ${quoteIdent(schema)}.barge_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;
}

export async function migratePostgres(pool: pg.Pool, schema: string, migrations = POSTGRES_MIGRATIONS): Promise<void> {
  checkMigrationOrder(migrations);
  const client = await pool.connect();
  const lockKey = `barge:migrate:${schema}`;
  try {
    await inTransaction(client, async () => {
      await client.query(LOCK, [lockKey]);
      await client.query(createSchemaSql(schema));
    });
    const applied = await client.query(MIGRATION_MAX_VERSION);
    checkNotNewer(Number(applied.rows[0].version), migrations);
    for (const migration of migrations) {
      await inTransaction(client, async () => {
        await client.query(LOCK, [lockKey]);
        const claimed = await client.query(MIGRATION_CLAIM, [migration.version, migration.name]);
        if (claimed.rowCount === 1) await client.query(migration.sql);
      }).catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`PostgreSQL migration ${migration.version} (${migration.name}) failed: ${reason}`, { cause: error });
      });
    }
  } finally {
    client.release();
  }
}

async function inTransaction(client: pg.PoolClient, fn: () => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await fn();
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
