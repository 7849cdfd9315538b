/**
 * API tokens: random, shown to their owner once, stored only as a SHA-256 hash. A token is 32
 * random bytes, so a fast hash is enough (there is nothing to brute-force, unlike a password).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Role, UserRow } from '../../core/model.js';
import { newId } from '../../engine/ids.js';
import type { Queries } from '../../store/store.js';

/** The prefix makes a leaked token recognisable to secret scanners. */
const TOKEN_PREFIX = 'barge_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** Creates a token for a user and returns it in plain text: the only time anyone sees it. */
export async function createToken(store: Queries, userId: string, name = 'default'): Promise<string> {
  const token = generateToken();
  await store.tokenInsert({
    id: newId(),
    userId,
    hash: hashToken(token),
    name,
    createdAt: new Date().toISOString(),
    lastUsedAt: null,
  });
  return token;
}

export async function createUser(store: Queries, params: { name: string; role: Role }): Promise<UserRow> {
  const user: UserRow = { id: newId(), name: params.name, role: params.role, createdAt: new Date().toISOString(), disabled: false, passwordHash: null };
  await store.userInsert(user);
  return user;
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
