/**
 * Secret credentials (API tokens and API keys) and users. A secret is 32 random bytes behind a
 * recognisable prefix (`barge_t_` for tokens, `barge_k_` for API keys, so secret scanners and
 * people can tell a leaked one), shown to its owner once and stored only as a SHA-256 hash: with
 * 256 random bits there is nothing to brute-force, so a fast hash is enough (unlike a password).
 * Tokens made before prefixes had kinds start with `barge_` and keep working.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CredentialKind, Quotas, Role, TokenRow, UserRow } from '../../core/model.js';
import { newId } from '../../engine/ids.js';
import type { Queries } from '../../store/store.js';

const PREFIXES: Record<CredentialKind, string> = { token: 'barge_t_', apikey: 'barge_k_' };
/** How much of a secret is kept in the clear: the prefix plus 4 random characters (24 bits). */
const SHOWN_CHARACTERS = 4;

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function generateSecret(kind: CredentialKind): string {
  return `${PREFIXES[kind]}${randomBytes(32).toString('base64url')}`;
}

export interface NewCredential {
  userId: string;
  name?: string;
  kind?: CredentialKind;
  /** ISO time; null or absent: never expires. */
  expiresAt?: string | null;
}

/** Creates a credential and returns its row and the secret in plain text: the only time anyone sees it. */
export async function createCredential(store: Queries, params: NewCredential): Promise<{ row: TokenRow; secret: string }> {
  const kind = params.kind ?? 'token';
  const secret = generateSecret(kind);
  const row: TokenRow = {
    id: newId(),
    userId: params.userId,
    hash: hashToken(secret),
    name: params.name ?? 'default',
    kind,
    prefix: secret.slice(0, PREFIXES[kind].length + SHOWN_CHARACTERS),
    createdAt: new Date().toISOString(),
    expiresAt: params.expiresAt ?? null,
    lastUsedAt: null,
  };
  await store.tokenInsert(row);
  return { row, secret };
}

/** Creates an API token for a user and returns it in plain text (once). */
export async function createToken(store: Queries, userId: string, name = 'default'): Promise<string> {
  return (await createCredential(store, { userId, name })).secret;
}

export async function createUser(store: Queries, params: { name: string; role: Role; quotas?: Quotas }): Promise<UserRow> {
  const user: UserRow = {
    id: newId(),
    name: params.name,
    role: params.role,
    createdAt: new Date().toISOString(),
    disabled: false,
    passwordHash: null,
    quotas: params.quotas ?? {},
  };
  await store.userInsert(user);
  return user;
}

export type CredentialCheck =
  | { ok: true; token: TokenRow; user: UserRow }
  | { ok: false; reason: 'unknown' | 'expired' | 'disabled' };

/**
 * The live credential behind a secret. Unknown and revoked are one answer (a revoked credential
 * is deleted); an expired one and a disabled user are told apart so their owner knows what to fix.
 */
export async function checkSecret(store: Queries, secret: string, now = new Date()): Promise<CredentialCheck> {
  const found = await store.tokenGetByHash(hashToken(secret));
  if (!found) return { ok: false, reason: 'unknown' };
  if (found.token.expiresAt !== null && found.token.expiresAt <= now.toISOString()) return { ok: false, reason: 'expired' };
  if (found.user.disabled) return { ok: false, reason: 'disabled' };
  return { ok: true, ...found };
}

/**
 * For faces that send a username and a key in the body (SiliconCompiler): the user when the key
 * is a live credential of that user, else null. The lookup is by the key's hash (its timing says
 * nothing about the key), and the names are compared as fixed-length hashes in constant time.
 */
export async function checkUserKey(store: Queries, username: string, key: string): Promise<UserRow | null> {
  const check = await checkSecret(store, key);
  const expected = hashToken(check.ok ? check.user.name : '');
  const same = timingSafeEqual(Buffer.from(hashToken(username), 'hex'), Buffer.from(expected, 'hex'));
  return check.ok && same ? check.user : null;
}

/**
 * On a store with no user yet, creates the `admin` user and a token for it, and returns the token
 * (once). Returns null when users exist. Two servers starting together on one PostgreSQL both try;
 * the user name is unique, so the loser's insert fails and it answers null.
 */
export async function bootstrapAdmin(store: Queries): Promise<{ token: string } | null> {
  if ((await store.userList()).length > 0) return null;
  let admin: UserRow;
  try {
    admin = await createUser(store, { name: 'admin', role: 'admin' });
  } catch (error) {
    if (await store.userGetByName('admin')) return null;
    throw error;
  }
  return { token: await createToken(store, admin.id, 'bootstrap') };
}
