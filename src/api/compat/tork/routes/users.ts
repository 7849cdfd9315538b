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
import { GoJsonSyntaxError, jsonKindOf, JsonObject, readJsonValue, type JsonValue } from '../go-json.js';
import { goTime, omitEmpty, sendJson } from '../wire.js';

/** Go's bcrypt refuses longer passwords (ErrPasswordTooLong). */
const BCRYPT_MAX_BYTES = 72;
const BCRYPT_COST = 10;

interface NewUser {
  username: string;
  password: string;
  name: string;
}

/** tork.User's fields a body may set, with their Go types (`createdAt` is left to the server). */
const USER_FIELDS: Record<string, 'string' | 'bool'> = { id: 'string', name: 'string', username: 'string', password: 'string', disabled: 'bool' };

/**
 * Decodes `{username, password, name}` as Go's `json.Unmarshal` into tork.User: the whole body
 * must be one JSON value (Go's syntax errors, `unexpected end of JSON input`), unknown keys are
 * ignored, keys match fields case-insensitively, the first type error is the answer.
 */
function newUserOf(body: unknown): NewUser {
  let parsed: JsonValue;
  try {
    parsed = readJsonValue(typeof body === 'string' ? body : '', 'unmarshal');
  } catch (error) {
    if (error instanceof GoJsonSyntaxError) throw badRequest(error.message);
    throw error;
  }
  const user: NewUser = { username: '', password: '', name: '' };
  if (parsed === null) return user;
  if (!(parsed instanceof JsonObject)) throw badRequest(`json: cannot unmarshal ${jsonKindOf(parsed)} into Go value of type tork.User`);
  for (const [key, value] of parsed.members) {
    const field = Object.keys(USER_FIELDS).find((name) => name.toLowerCase() === key.toLowerCase());
    if (!field || value === null) continue;
    const type = USER_FIELDS[field];
    const fits = type === 'string' ? typeof value === 'string' : typeof value === 'boolean';
    if (!fits) throw badRequest(`json: cannot unmarshal ${jsonKindOf(value)} into Go struct field User.${field} of type ${type}`);
    if (field === 'username' || field === 'password' || field === 'name') user[field] = value as string;
  }
  return user;
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
