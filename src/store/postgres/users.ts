/**
 * PostgreSQL statements for users, their credentials (stored as SHA-256 hashes, never in the
 * clear), public keys, job shares and usage. The SQL text is shared with SQLite
 * (shared/accounts-sql.ts); `numbered` turns its `?` placeholders into `$n`.
 */
import { RUNNABLE_KINDS, type PubkeyRow, type ShareRow, type State, type TokenRow, type UserRow } from '../../core/model.js';
import * as shared from '../shared/accounts-sql.js';
import { PUBKEYS, SHARES, TOKENS, USERS, patchEntries } from '../shared/codec.js';
import type { UsageCount, UserPatch } from '../store.js';
import { type PgExec, Params, insertOneSql, insertValues, typedParam } from './connection.js';

const numberedCache = new Map<string, string>();

/** `?` placeholders as `$1, $2, …` (the shared statements hold no `?` inside literals). */
export function numbered(text: string): string {
  let out = numberedCache.get(text);
  if (out === undefined) {
    let n = 0;
    out = text.replace(/\?/g, () => `$${++n}`);
    numberedCache.set(text, out);
  }
  return out;
}

export async function userInsert(x: PgExec, user: UserRow): Promise<void> {
  await x.run(insertOneSql(USERS), insertValues(USERS, user));
}

export function userGet(x: PgExec, id: string): Promise<UserRow | undefined> {
  return x.row(USERS, numbered(shared.USER_GET), [id]);
}

export function userGetByName(x: PgExec, name: string): Promise<UserRow | undefined> {
  return x.row(USERS, numbered(shared.USER_GET_BY_NAME), [name]);
}

export function userList(x: PgExec): Promise<UserRow[]> {
  return x.rows(USERS, shared.USER_LIST);
}

export async function userUpdate(x: PgExec, params: { id: string; patch: UserPatch }): Promise<boolean> {
  const entries = patchEntries(USERS, params.patch);
  if (entries.length === 0) return (await userGet(x, params.id)) !== undefined;
  const bind = new Params();
  const sets = entries.map(({ column, value }) => `${column.column} = ${typedParam(bind, column.kind, value)}`).join(', ');
  return (await x.run(`UPDATE users SET ${sets} WHERE id = ${bind.add(params.id)}`, bind.values)) > 0;
}

export async function userDelete(x: PgExec, id: string): Promise<boolean> {
  const user = await userGet(x, id);
  if (!user) return false;
  await x.run(numbered(shared.SHARES_DELETE_BY_USER), [user.name]);
  return (await x.run(numbered(shared.USER_DELETE), [id])) > 0;
}

export async function tokenInsert(x: PgExec, token: TokenRow): Promise<void> {
  await x.run(insertOneSql(TOKENS), insertValues(TOKENS, token));
}

export async function tokenGetByHash(x: PgExec, hash: string, now = new Date()): Promise<{ token: TokenRow; user: UserRow } | undefined> {
  const token = await x.row(TOKENS, numbered(shared.TOKEN_GET_BY_HASH), [hash]);
  const user = token && (await touchedOwner(x, token, shared.TOKEN_TOUCH, now));
  return token && user ? { token, user } : undefined;
}

export function tokenList(x: PgExec, userId: string): Promise<TokenRow[]> {
  return x.rows(TOKENS, numbered(shared.TOKEN_LIST), [userId]);
}

export async function tokenDelete(x: PgExec, params: { id: string; userId: string }): Promise<boolean> {
  return (await x.run(numbered(shared.TOKEN_DELETE), [params.id, params.userId])) > 0;
}

export async function pubkeyInsert(x: PgExec, key: PubkeyRow): Promise<void> {
  await x.run(insertOneSql(PUBKEYS), insertValues(PUBKEYS, key));
}

export function pubkeyList(x: PgExec, userId: string): Promise<PubkeyRow[]> {
  return x.rows(PUBKEYS, numbered(shared.PUBKEY_LIST), [userId]);
}

export async function pubkeyDelete(x: PgExec, params: { id: string; userId: string }): Promise<boolean> {
  return (await x.run(numbered(shared.PUBKEY_DELETE), [params.id, params.userId])) > 0;
}

export async function pubkeyGetByFingerprint(
  x: PgExec,
  fingerprint: string,
  now = new Date(),
): Promise<{ pubkey: PubkeyRow; user: UserRow } | undefined> {
  const pubkey = await x.row(PUBKEYS, numbered(shared.PUBKEY_GET_BY_FINGERPRINT), [fingerprint]);
  const user = pubkey && (await touchedOwner(x, pubkey, shared.PUBKEY_TOUCH, now));
  return pubkey && user ? { pubkey, user } : undefined;
}

/** The user a credential belongs to, after touching the credential's last use (at most once a minute). */
async function touchedOwner(
  x: PgExec,
  row: { id: string; userId: string; lastUsedAt: string | null },
  touchSql: string,
  now: Date,
): Promise<UserRow | undefined> {
  const user = await userGet(x, row.userId);
  if (!user) return undefined;
  const at = now.toISOString();
  if ((await x.run(numbered(touchSql), [at, row.id, staleBefore(now)])) > 0) row.lastUsedAt = at;
  return user;
}

export async function shareInsert(x: PgExec, share: ShareRow): Promise<void> {
  await x.run(numbered(shared.SHARE_INSERT), [share.jobId, share.userName, share.createdAt]);
}

export function shareList(x: PgExec, jobId: string): Promise<ShareRow[]> {
  return x.rows(SHARES, numbered(shared.SHARE_LIST), [jobId]);
}

export async function shareDelete(x: PgExec, params: { jobId: string; userName: string }): Promise<boolean> {
  return (await x.run(numbered(shared.SHARE_DELETE), [params.jobId, params.userName])) > 0;
}

export async function shareExists(x: PgExec, params: { jobId: string; userName: string }): Promise<boolean> {
  return (await x.get(numbered(shared.SHARE_EXISTS), [params.jobId, params.userName])) !== undefined;
}

export async function usageAdd(x: PgExec, params: { owner: string; periodStart: string } & UsageCount): Promise<void> {
  await x.run(numbered(shared.USAGE_ADD), [params.owner, params.periodStart, params.computeMs, params.resultBytes]);
}

export async function usageGet(x: PgExec, params: { owner: string; periodStart: string }): Promise<UsageCount> {
  const row = await x.get(numbered(shared.USAGE_GET), [params.owner, params.periodStart]);
  return { computeMs: Number(row?.compute_ms ?? 0), resultBytes: Number(row?.result_bytes ?? 0) };
}

const EXECUTION_COUNT_BY_OWNER = `
  SELECT owner, COUNT(*) AS n FROM executions
  WHERE state = ANY($1::text[]) AND owner = ANY($2::text[]) AND kind = ANY($3::text[])
  GROUP BY owner`;

export async function executionCountByOwner(x: PgExec, params: { owners: string[]; states: readonly State[] }): Promise<Record<string, number>> {
  const rows = await x.all(EXECUTION_COUNT_BY_OWNER, [params.states, params.owners, RUNNABLE_KINDS]);
  return Object.fromEntries(rows.map((row) => [row.owner as string, Number(row.n)]));
}

export function executionCountUnmadeOf(x: PgExec, owner: string): Promise<number> {
  return x.number(numbered(shared.EXECUTION_COUNT_UNMADE_OF_OWNER), [owner]);
}

/** Milliseconds from start to end of an owner's runnable executions that ended at or after `since`. */
const EXECUTION_COMPUTE_MS = `
  SELECT COALESCE(SUM(EXTRACT(EPOCH FROM completed_at - started_at) * 1000), 0) AS ms FROM executions
  WHERE owner = $1 AND completed_at >= $2::timestamptz AND started_at IS NOT NULL AND kind = ANY($3::text[])
    AND ($4::text IS NULL OR job_id = $4)`;

export async function executionComputeMs(x: PgExec, params: { owner: string; since: string; jobId?: string }): Promise<number> {
  return Math.round(await x.number(EXECUTION_COMPUTE_MS, [params.owner, params.since, RUNNABLE_KINDS, params.jobId ?? null]));
}

function staleBefore(now: Date): string {
  return new Date(now.getTime() - shared.TOUCH_EVERY_MS).toISOString();
}
