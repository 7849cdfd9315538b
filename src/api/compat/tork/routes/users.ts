/**
 * `POST /users` (tork.md §3.10): a barge user (role `user`) whose Tork username is its barge
 * name, with the password kept as a bcrypt hash (cost 10, Go's default) for basic auth.
 *
 * The body is decoded leniently as Tork does (unknown keys ignored, Content-Type not checked).
 * With tokens on, only admins may create users, as in /v1.
 */
import bcrypt from 'bcryptjs';
import type { FastifyInstance } from 'fastify';
import type { UserRow } from '../../../../core/model.js';
import { newId } from '../../../../engine/ids.js';
import type { TorkContext } from '../context.js';
import { badRequest, refuseOtherMethods } from '../errors.js';
import { goTime, omitEmpty, sendJson } from '../wire.js';

/** Go's bcrypt refuses longer passwords (ErrPasswordTooLong). */
const BCRYPT_MAX_BYTES = 72;
const BCRYPT_COST = 10;

interface NewUser {
  username: string;
  password: string;
  name: string;
}

/** Decodes `{username, password, name}` as Go's lenient `json.Unmarshal` into a struct would. */
function newUserOf(body: unknown): NewUser {
  const text = typeof body === 'string' ? body : '';
  if (text.trim() === '') throw badRequest('EOF');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    throw badRequest('unexpected EOF');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw badRequest(`json: cannot unmarshal ${Array.isArray(parsed) ? 'array' : typeof parsed} into Go value of type tork.User`);
  }
  const field = (key: string): string => {
    const value = (parsed as Record<string, unknown>)[key];
    if (value === undefined || value === null) return '';
    if (typeof value !== 'string') throw badRequest(`json: cannot unmarshal ${typeof value} into Go struct field User.${key} of type string`);
    return value;
  };
  return { username: field('username'), password: field('password'), name: field('name') };
}

/** The stored user, with the bcrypt hash of its password. */
function userRow(user: NewUser, hash: string): UserRow {
  return { id: newId(), name: user.username, role: 'user', createdAt: new Date().toISOString(), disabled: false, passwordHash: hash, quotas: {} };
}

export async function userRoutes(app: FastifyInstance, context: TorkContext): Promise<void> {
  const { store } = context.engine;

  app.post('', { config: { auth: 'admin' } }, async (request, reply) => {
    const raw = newUserOf(request.body);
    const user: NewUser = { ...raw, username: raw.username.trim(), password: raw.password.trim() };
    if (user.username === '') throw badRequest('must provide username');
    if (user.password === '') throw badRequest('must provide password');
    if (Buffer.byteLength(user.password, 'utf8') > BCRYPT_MAX_BYTES) throw badRequest('invalid password');
    if (await store.userGetByName(user.username)) throw badRequest('user already exists');
    const row = userRow(user, await bcrypt.hash(user.password, BCRYPT_COST));
    await store.userInsert(row);
    return sendJson(request, reply, 200, {
      id: row.id,
      name: user.name || undefined,
      username: row.name,
      createdAt: goTime(row.createdAt),
      disabled: omitEmpty(row.disabled),
    });
  });

  refuseOtherMethods(app, '', ['POST']);
}
