/** SQLite statements for users and API tokens (stored as SHA-256 hashes, never in the clear). */
import type { TokenRow, UserRow } from '../../core/model.js';
import { TOKENS, USERS, encodeSqliteRow } from '../shared/codec.js';
import type { SqliteConnection } from './connection.js';
import { insertSql } from './sql.js';

const USER_GET = `SELECT * FROM users WHERE id = ?`;
const USER_GET_BY_NAME = `SELECT * FROM users WHERE name = ?`;
const USER_LIST = `SELECT * FROM users ORDER BY name`;
const TOKEN_GET_BY_HASH = `SELECT * FROM tokens WHERE hash = ?`;
/** At most one write a minute per token, however often it is used. */
const TOKEN_TOUCH = `
  UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`;

const TOUCH_EVERY_MS = 60_000;

export function userInsert(c: SqliteConnection, user: UserRow): void {
  c.run(insertSql(USERS), encodeSqliteRow(USERS, user));
}

export function userGet(c: SqliteConnection, id: string): UserRow | undefined {
  return c.row(USERS, USER_GET, [id]);
}

export function userGetByName(c: SqliteConnection, name: string): UserRow | undefined {
  return c.row(USERS, USER_GET_BY_NAME, [name]);
}

export function userList(c: SqliteConnection): UserRow[] {
  return c.rows(USERS, USER_LIST);
}

export function tokenInsert(c: SqliteConnection, token: TokenRow): void {
  c.run(insertSql(TOKENS), encodeSqliteRow(TOKENS, token));
}

export function tokenGetByHash(c: SqliteConnection, hash: string, now = new Date()): { token: TokenRow; user: UserRow } | undefined {
  const token = c.row(TOKENS, TOKEN_GET_BY_HASH, [hash]);
  if (!token) return undefined;
  const user = userGet(c, token.userId);
  if (!user) return undefined;
  const at = now.toISOString();
  const staleBefore = new Date(now.getTime() - TOUCH_EVERY_MS).toISOString();
  if (c.run(TOKEN_TOUCH, [at, token.id, staleBefore]) > 0) token.lastUsedAt = at;
  return { token, user };
}
