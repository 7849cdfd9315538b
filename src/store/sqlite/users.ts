/**
 * SQLite statements for users, their credentials (stored as SHA-256 hashes, never in the clear),
 * public keys, job shares and usage. The SQL text is shared with PostgreSQL (shared/accounts-sql.ts).
 */
import { RUNNABLE_KINDS, type PubkeyRow, type ShareRow, type State, type TokenRow, type UserRow } from '../../core/model.js';
import * as sql from '../shared/accounts-sql.js';
import { PUBKEYS, SHARES, TOKENS, USERS, encodeSqliteRow, encodeSqliteValue, patchEntries } from '../shared/codec.js';
import type { UsageCount, UserPatch } from '../store.js';
import type { SqliteConnection } from './connection.js';
import { insertSql } from './sql.js';

export function userInsert(c: SqliteConnection, user: UserRow): void {
  c.run(insertSql(USERS), encodeSqliteRow(USERS, user));
}

export function userGet(c: SqliteConnection, id: string): UserRow | undefined {
  return c.row(USERS, sql.USER_GET, [id]);
}

export function userGetByName(c: SqliteConnection, name: string): UserRow | undefined {
  return c.row(USERS, sql.USER_GET_BY_NAME, [name]);
}

export function userList(c: SqliteConnection): UserRow[] {
  return c.rows(USERS, sql.USER_LIST);
}

export function userUpdate(c: SqliteConnection, params: { id: string; patch: UserPatch }): boolean {
  const entries = patchEntries(USERS, params.patch);
  if (entries.length === 0) return userGet(c, params.id) !== undefined;
  const sets = entries.map(({ column }) => `${column.column} = ?`).join(', ');
  const values = entries.map(({ column, value }) => encodeSqliteValue(column.kind, value));
  return c.run(`UPDATE users SET ${sets} WHERE id = ?`, [...values, params.id]) > 0;
}

export function userDelete(c: SqliteConnection, id: string): boolean {
  const user = userGet(c, id);
  if (!user) return false;
  c.run(sql.SHARES_DELETE_BY_USER, [user.name]);
  return c.run(sql.USER_DELETE, [id]) > 0;
}

export function tokenInsert(c: SqliteConnection, token: TokenRow): void {
  c.run(insertSql(TOKENS), encodeSqliteRow(TOKENS, token));
}

export function tokenGetByHash(c: SqliteConnection, hash: string, now = new Date()): { token: TokenRow; user: UserRow } | undefined {
  const token = c.row(TOKENS, sql.TOKEN_GET_BY_HASH, [hash]);
  const user = token && touchedOwner(c, token, sql.TOKEN_TOUCH, now);
  return token && user ? { token, user } : undefined;
}

export function tokenList(c: SqliteConnection, userId: string): TokenRow[] {
  return c.rows(TOKENS, sql.TOKEN_LIST, [userId]);
}

export function tokenDelete(c: SqliteConnection, params: { id: string; userId: string }): boolean {
  return c.run(sql.TOKEN_DELETE, [params.id, params.userId]) > 0;
}

export function pubkeyInsert(c: SqliteConnection, key: PubkeyRow): void {
  c.run(insertSql(PUBKEYS), encodeSqliteRow(PUBKEYS, key));
}

export function pubkeyList(c: SqliteConnection, userId: string): PubkeyRow[] {
  return c.rows(PUBKEYS, sql.PUBKEY_LIST, [userId]);
}

export function pubkeyDelete(c: SqliteConnection, params: { id: string; userId: string }): boolean {
  return c.run(sql.PUBKEY_DELETE, [params.id, params.userId]) > 0;
}

export function pubkeyGetByFingerprint(
  c: SqliteConnection,
  fingerprint: string,
  now = new Date(),
): { pubkey: PubkeyRow; user: UserRow } | undefined {
  const pubkey = c.row(PUBKEYS, sql.PUBKEY_GET_BY_FINGERPRINT, [fingerprint]);
  const user = pubkey && touchedOwner(c, pubkey, sql.PUBKEY_TOUCH, now);
  return pubkey && user ? { pubkey, user } : undefined;
}

/** The user a credential belongs to, after touching the credential's last use (at most once a minute). */
function touchedOwner(c: SqliteConnection, row: { id: string; userId: string; lastUsedAt: string | null }, touchSql: string, now: Date): UserRow | undefined {
  const user = userGet(c, row.userId);
  if (!user) return undefined;
  const at = now.toISOString();
  if (c.run(touchSql, [at, row.id, staleBefore(now)]) > 0) row.lastUsedAt = at;
  return user;
}

export function shareInsert(c: SqliteConnection, share: ShareRow): void {
  c.run(sql.SHARE_INSERT, [share.jobId, share.userName, share.createdAt]);
}

export function shareList(c: SqliteConnection, jobId: string): ShareRow[] {
  return c.rows(SHARES, sql.SHARE_LIST, [jobId]);
}

export function shareDelete(c: SqliteConnection, params: { jobId: string; userName: string }): boolean {
  return c.run(sql.SHARE_DELETE, [params.jobId, params.userName]) > 0;
}

export function shareExists(c: SqliteConnection, params: { jobId: string; userName: string }): boolean {
  return c.get(sql.SHARE_EXISTS, [params.jobId, params.userName]) !== undefined;
}

export function usageAdd(c: SqliteConnection, params: { owner: string; periodStart: string } & UsageCount): void {
  c.run(sql.USAGE_ADD, [params.owner, params.periodStart, params.computeMs, params.resultBytes]);
}

export function usageGet(c: SqliteConnection, params: { owner: string; periodStart: string }): UsageCount {
  const row = c.get(sql.USAGE_GET, [params.owner, params.periodStart]);
  return { computeMs: Number(row?.compute_ms ?? 0), resultBytes: Number(row?.result_bytes ?? 0) };
}

const EXECUTION_COUNT_BY_OWNER = `
  SELECT owner, COUNT(*) AS n FROM executions
  WHERE state IN (SELECT value FROM json_each(?)) AND owner IN (SELECT value FROM json_each(?))
    AND kind IN (SELECT value FROM json_each(?))
  GROUP BY owner`;

export function executionCountByOwner(c: SqliteConnection, params: { owners: string[]; states: readonly State[] }): Record<string, number> {
  const rows = c.all(EXECUTION_COUNT_BY_OWNER, [JSON.stringify(params.states), JSON.stringify(params.owners), JSON.stringify(RUNNABLE_KINDS)]);
  return Object.fromEntries(rows.map((row) => [row.owner as string, Number(row.n)]));
}

export function executionCountUnmadeOf(c: SqliteConnection, owner: string): number {
  return c.number(sql.EXECUTION_COUNT_UNMADE_OF_OWNER, [owner]);
}

/** Milliseconds from start to end of an owner's runnable executions that ended at or after `since`. */
const EXECUTION_COMPUTE_MS = `
  SELECT COALESCE(SUM((julianday(completed_at) - julianday(started_at)) * 86400000), 0) AS ms FROM executions
  WHERE owner = ? AND completed_at >= ? AND started_at IS NOT NULL AND kind IN (SELECT value FROM json_each(?))
    AND (? IS NULL OR job_id = ?)`;

export function executionComputeMs(c: SqliteConnection, params: { owner: string; since: string; jobId?: string }): number {
  const jobId = params.jobId ?? null;
  return Math.round(c.number(EXECUTION_COMPUTE_MS, [params.owner, params.since, JSON.stringify(RUNNABLE_KINDS), jobId, jobId]));
}

function staleBefore(now: Date): string {
  return new Date(now.getTime() - sql.TOUCH_EVERY_MS).toISOString();
}
