/** SQLite statements for the outbox: webhook and status-report deliveries written in job transactions. */
import type { OutboxRow } from '../../core/model.js';
import { OUTBOX, OUTBOX_IN_ORDER, encodeSqliteRow } from '../shared/codec.js';
import type { SqliteConnection } from './connection.js';
import { insertSql } from './sql.js';

/**
 * Takes the due rows by pushing their `next_at` past `now`: a dispatcher that crashes mid-delivery
 * leaves them to be taken again when that lease runs out. One statement, so it is atomic even
 * outside a transaction. A row waits while an older pending row has its ordering key.
 */
const OUTBOX_TAKE_DUE = `
  UPDATE outbox SET next_at = ?
  WHERE id IN (
    SELECT id FROM outbox AS o WHERE status = 'pending' AND next_at <= ? AND ${OUTBOX_IN_ORDER}
    ORDER BY next_at, id LIMIT ?
  )
  RETURNING *`;

const OUTBOX_UPDATE = `
  UPDATE outbox SET status = ?, attempts = ?, next_at = ?, last_error = ? WHERE id = ?`;

export function outboxInsertMany(c: SqliteConnection, rows: OutboxRow[]): void {
  const sql = insertSql(OUTBOX);
  for (const row of rows) c.run(sql, encodeSqliteRow(OUTBOX, row));
}

/** Pending rows due at `now`, oldest due first, each leased for `leaseMs` (their `nextAt` shows the lease end). */
export function outboxTakeDue(c: SqliteConnection, params: { now: string; limit: number; leaseMs: number }): OutboxRow[] {
  const leasedUntil = new Date(Date.parse(params.now) + params.leaseMs).toISOString();
  const rows = c.rows(OUTBOX, OUTBOX_TAKE_DUE, [leasedUntil, params.now, params.limit]);
  return rows.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
}

export function outboxUpdate(
  c: SqliteConnection,
  params: { id: number; status: OutboxRow['status']; attempts: number; nextAt: string; lastError: string | null },
): void {
  c.run(OUTBOX_UPDATE, [params.status, params.attempts, params.nextAt, params.lastError, params.id]);
}
