/** PostgreSQL statements for the outbox: webhook and status-report deliveries written in job transactions. */
import type { OutboxRow } from '../../core/model.js';
import { OUTBOX, OUTBOX_IN_ORDER } from '../shared/codec.js';
import { type PgExec, insertMany } from './connection.js';

/**
 * Takes the due rows by pushing their `next_at` past `now`: a dispatcher that crashes mid-delivery
 * leaves them to be taken again when that lease runs out. SKIP LOCKED lets dispatchers on other
 * servers take other rows at the same moment instead of waiting. A row waits while an older
 * pending row has its ordering key.
 */
const OUTBOX_TAKE_DUE = `
  WITH due AS (
    SELECT id FROM outbox AS o
    WHERE status = 'pending' AND next_at <= $2::timestamptz AND ${OUTBOX_IN_ORDER}
    ORDER BY next_at, id LIMIT $3
    FOR UPDATE SKIP LOCKED
  )
  UPDATE outbox SET next_at = $1::timestamptz FROM due WHERE outbox.id = due.id
  RETURNING outbox.*`;

const OUTBOX_UPDATE = `
  UPDATE outbox SET status = $1, attempts = $2, next_at = $3::timestamptz, last_error = $4 WHERE id = $5`;

export async function outboxInsertMany(x: PgExec, rows: OutboxRow[]): Promise<void> {
  await insertMany(x, OUTBOX, rows);
}

/** Pending rows due at `now`, oldest due first, each leased for `leaseMs` (their `nextAt` shows the lease end). */
export async function outboxTakeDue(x: PgExec, params: { now: string; limit: number; leaseMs: number }): Promise<OutboxRow[]> {
  const leasedUntil = new Date(Date.parse(params.now) + params.leaseMs).toISOString();
  const rows = await x.rows(OUTBOX, OUTBOX_TAKE_DUE, [leasedUntil, params.now, params.limit]);
  return rows.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
}

export async function outboxUpdate(
  x: PgExec,
  params: { id: number; status: OutboxRow['status']; attempts: number; nextAt: string; lastError: string | null },
): Promise<void> {
  await x.run(OUTBOX_UPDATE, [params.status, params.attempts, params.nextAt, params.lastError, params.id]);
}
