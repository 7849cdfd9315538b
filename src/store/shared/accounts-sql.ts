/**
 * SQL for users, credentials, public keys, shares and usage: the same text in both dialects,
 * written with `?` placeholders (PostgreSQL numbers them, see postgres/users.ts). Times compare as
 * ISO text in SQLite and as timestamptz in PostgreSQL; both order the same way.
 */
import type { State } from '../../core/model.js';

export const USER_GET = `SELECT * FROM users WHERE id = ?`;
export const USER_GET_BY_NAME = `SELECT * FROM users WHERE name = ?`;
export const USER_LIST = `SELECT * FROM users ORDER BY name`;
export const USER_DELETE = `DELETE FROM users WHERE id = ?`;
/** Shares name users, not ids: a deleted user's go with it, so a later namesake inherits none. */
export const SHARES_DELETE_BY_USER = `DELETE FROM job_shares WHERE user_name = ?`;

export const TOKEN_GET_BY_HASH = `SELECT * FROM tokens WHERE hash = ?`;
export const TOKEN_LIST = `SELECT * FROM tokens WHERE user_id = ? ORDER BY created_at, id`;
export const TOKEN_DELETE = `DELETE FROM tokens WHERE id = ? AND user_id = ?`;
/** At most one write a minute per credential, however often it is used. */
export const TOKEN_TOUCH = `UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`;

export const PUBKEY_GET_BY_FINGERPRINT = `SELECT * FROM pubkeys WHERE fingerprint = ?`;
export const PUBKEY_LIST = `SELECT * FROM pubkeys WHERE user_id = ? ORDER BY created_at, id`;
export const PUBKEY_DELETE = `DELETE FROM pubkeys WHERE id = ? AND user_id = ?`;
export const PUBKEY_TOUCH = `UPDATE pubkeys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`;

export const SHARE_INSERT = `INSERT INTO job_shares (job_id, user_name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`;
export const SHARE_LIST = `SELECT * FROM job_shares WHERE job_id = ? ORDER BY created_at, user_name`;
export const SHARE_DELETE = `DELETE FROM job_shares WHERE job_id = ? AND user_name = ?`;
export const SHARE_EXISTS = `SELECT 1 AS found FROM job_shares WHERE job_id = ? AND user_name = ?`;

export const USAGE_ADD = `
  INSERT INTO usage (owner, period_start, compute_ms, result_bytes) VALUES (?, ?, ?, ?)
  ON CONFLICT (owner, period_start) DO UPDATE SET
    compute_ms = usage.compute_ms + excluded.compute_ms,
    result_bytes = usage.result_bytes + excluded.result_bytes`;
export const USAGE_GET = `SELECT compute_ms, result_bytes FROM usage WHERE owner = ? AND period_start = ?`;

/** Items of an owner's windowed eaches not made yet: queued work that has no row yet. */
export const EXECUTION_COUNT_UNMADE_OF_OWNER = `
  SELECT COALESCE(SUM(child_count - child_created), 0) AS n FROM executions
  WHERE state = 'RUNNING' AND owner = ? AND child_created < child_count`;

export const QUEUED_STATES: readonly State[] = ['SUBMITTED', 'PENDING', 'RUNNABLE'];
export const RUNNING_STATES: readonly State[] = ['STARTING', 'RUNNING'];

/** How long a lookup waits before touching `last_used_at` again. */
export const TOUCH_EVERY_MS = 60_000;
