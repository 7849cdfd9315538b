/** PostgreSQL statements for users and API tokens (stored as SHA-256 hashes, never in the clear). */
import type { TokenRow, UserRow } from '../../core/model.js';
import { TOKENS, USERS } from '../shared/codec.js';
import { type PgExec, insertOneSql, insertValues } from './connection.js';

const USER_GET = `SELECT * FROM users WHERE id = $1`;
const USER_GET_BY_NAME = `SELECT * FROM users WHERE name = $1`;
const USER_LIST = `SELECT * FROM users ORDER BY name`;
const TOKEN_GET_BY_HASH = `SELECT * FROM tokens WHERE hash = $1`;
/** At most one write a minute per token, however often it is used. */
const TOKEN_TOUCH = `
  UPDATE tokens SET last_used_at = $1::timestamptz
  WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3::timestamptz)`;

const TOUCH_EVERY_MS = 60_000;

export async function userInsert(x: PgExec, user: UserRow): Promise<void> {
  await x.run(insertOneSql(USERS), insertValues(USERS, user));
}

export function userGet(x: PgExec, id: string): Promise<UserRow | undefined> {
  return x.row(USERS, USER_GET, [id]);
}

export function userGetByName(x: PgExec, name: string): Promise<UserRow | undefined> {
  return x.row(USERS, USER_GET_BY_NAME, [name]);
}

export function userList(x: PgExec): Promise<UserRow[]> {
  return x.rows(USERS, USER_LIST);
}

export async function tokenInsert(x: PgExec, token: TokenRow): Promise<void> {
  await x.run(insertOneSql(TOKENS), insertValues(TOKENS, token));
}

export async function tokenGetByHash(
  x: PgExec,
  hash: string,
  now = new Date(),
): Promise<{ token: TokenRow; user: UserRow } | undefined> {
  const token = await x.row(TOKENS, TOKEN_GET_BY_HASH, [hash]);
  if (!token) return undefined;
  const user = await userGet(x, token.userId);
  if (!user) return undefined;
  const at = now.toISOString();
  const staleBefore = new Date(now.getTime() - TOUCH_EVERY_MS).toISOString();
  if ((await x.run(TOKEN_TOUCH, [at, token.id, staleBefore])) > 0) token.lastUsedAt = at;
  return { token, user };
}
