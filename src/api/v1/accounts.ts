/**
 * /v1 routes for accounts: users (admins), the caller's identity with quotas and usage (/me),
 * credentials (/keys), registered public keys (/users/{name}/pubkeys) and JWTs (/jwt).
 *
 * Anyone manages their own credentials and keys (`access: 'self'`, whatever their role); an admin
 * also other users' (`?user=` or the name in the path). Secrets are in the answer that creates
 * them and nowhere else.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ConflictError, NotFoundError } from '../../core/errors.js';
import type { PubkeyRow, TokenRow, UserRow } from '../../core/model.js';
import { newId } from '../../engine/ids.js';
import { createCredential, createUser, principalOf } from '../auth/index.js';
import { openSshLine, parseOpenSshLine } from '../auth/pubkeys.js';
import { forbidden, invalid, unavailable } from '../errors.js';
import {
  CreatedCredential,
  CreatedUser,
  CredentialList,
  IssuedJwt,
  KeyParams,
  Me,
  NewCredential,
  NewJwt,
  NewPubkey,
  NewUser,
  Pubkey,
  PubkeyList,
  PubkeyParams,
  User,
  UserChange,
  UserList,
  UserParams,
  UserQuery,
  type CredentialBody,
  type PubkeyBody,
  type UserBody,
} from './account-schemas.js';
import type { V1Options } from './context.js';
import { parseLifetime } from './query.js';
import { errorResponses } from './schemas.js';

const tags = ['accounts'];
const DEFAULT_JWT_TTL = '24h';

export const accountRoutes: FastifyPluginAsync<V1Options> = async (app, { engine, jwt }) => {
  const { store } = engine;

  /** The user a request acts on: the caller, or (admins only) the one it names. */
  async function targetUser(request: FastifyRequest, name: string | undefined): Promise<UserRow> {
    const principal = principalOf(request);
    const wanted = name ?? principal.name;
    if (wanted !== principal.name && principal.role !== 'admin') throw forbidden("only admins can act on other users' accounts");
    const user = await store.userGetByName(wanted);
    if (!user) throw new NotFoundError('user', wanted);
    return user;
  }

  app.get(
    '/me',
    { config: { access: 'self' }, schema: { tags, summary: 'Who the credential belongs to, with quotas and usage', response: { 200: Me, ...errorResponses } } },
    async (request) => {
      const principal = principalOf(request);
      const quotas = await engine.quotas.quotasOf(principal.name);
      return { id: principal.userId, name: principal.name, role: principal.role, quotas, usage: await engine.quotas.usage(principal.name) };
    },
  );

  // ---- users (admins) ----------------------------------------------------------------------

  app.get(
    '/users',
    { config: { auth: 'admin' }, schema: { tags, summary: 'Users (admins only)', response: { 200: UserList, ...errorResponses } } },
    async () => ({ items: (await store.userList()).map(userBody) }),
  );

  app.post<{ Body: NewUser }>(
    '/users',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: 'Create a user and its first API token (admins only; the token is shown once)',
        body: NewUser,
        response: { 201: CreatedUser, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { name, role = 'user', quotas } = request.body;
      if (await store.userGetByName(name)) throw new ConflictError(`user ${name} exists`);
      const user = await createUser(store, { name, role, quotas });
      const { secret } = await createCredential(store, { userId: user.id, name: 'default' });
      return reply.code(201).send({ user: userBody(user), token: secret });
    },
  );

  app.get<{ Params: UserParams }>(
    '/users/:name',
    { config: { access: 'self' }, schema: { tags, summary: 'A user (admins, or the user)', params: UserParams, response: { 200: User, ...errorResponses } } },
    async (request) => userBody(await targetUser(request, request.params.name)),
  );

  app.patch<{ Params: UserParams; Body: UserChange }>(
    '/users/:name',
    {
      config: { auth: 'admin' },
      schema: { tags, summary: 'Change a role, disable or enable, set quotas (admins only)', params: UserParams, body: UserChange, response: { 200: User, ...errorResponses } },
    },
    async (request) => {
      const user = await targetUser(request, request.params.name);
      const { role, disabled, quotas } = request.body;
      if (user.id === principalOf(request).userId && (role !== undefined && role !== 'admin' || disabled === true)) {
        throw new ConflictError('admins cannot demote or disable themselves (ask another admin)');
      }
      await store.userUpdate({ id: user.id, patch: { role, disabled, quotas } });
      engine.quotas.forget(user.name);
      return userBody({ ...user, ...definedOnly({ role, disabled, quotas }) });
    },
  );

  app.delete<{ Params: UserParams }>(
    '/users/:name',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: "Delete a user with its credentials, public keys and the shares granted to it (admins only; its jobs stay)",
        params: UserParams,
        response: { 204: Type.Null({ description: 'deleted' }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const user = await targetUser(request, request.params.name);
      if (user.id === principalOf(request).userId) throw new ConflictError('admins cannot delete themselves (ask another admin)');
      await store.userDelete(user.id);
      engine.quotas.forget(user.name);
      return reply.code(204).send();
    },
  );

  // ---- credentials -------------------------------------------------------------------------

  app.get<{ Querystring: UserQuery }>(
    '/keys',
    {
      config: { access: 'self' },
      schema: { tags, summary: "Your API tokens and API keys (admins: ?user=NAME for another's)", querystring: UserQuery, response: { 200: CredentialList, ...errorResponses } },
    },
    async (request) => {
      const user = await targetUser(request, request.query.user);
      return { items: (await store.tokenList({ userId: user.id })).map(credentialBody) };
    },
  );

  app.post<{ Body: NewCredential }>(
    '/keys',
    {
      config: { access: 'self' },
      schema: {
        tags,
        summary: 'Create an API token (kind token) or an API key (kind apikey); the secret is shown once',
        body: NewCredential,
        response: { 201: CreatedCredential, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { name, kind = 'token', expiresIn, user: userName } = request.body;
      const expiresAt = expiresIn === undefined ? null : new Date(Date.now() + parseLifetime('expiresIn', expiresIn)).toISOString();
      const user = await targetUser(request, userName);
      const { row, secret } = await createCredential(store, { userId: user.id, name: name ?? kind, kind, expiresAt });
      return reply.code(201).send({ key: credentialBody(row), secret });
    },
  );

  app.delete<{ Params: KeyParams; Querystring: UserQuery }>(
    '/keys/:id',
    {
      config: { access: 'self' },
      schema: {
        tags,
        summary: 'Revoke one credential (admins: ?user=NAME for another user’s)',
        params: KeyParams,
        querystring: UserQuery,
        response: { 204: Type.Null({ description: 'revoked' }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const user = await targetUser(request, request.query.user);
      if (!(await store.tokenDelete({ id: request.params.id, userId: user.id }))) throw new NotFoundError('key', request.params.id);
      return reply.code(204).send();
    },
  );

  // ---- public keys -------------------------------------------------------------------------

  app.get<{ Params: UserParams }>(
    '/users/:name/pubkeys',
    { config: { access: 'self' }, schema: { tags, summary: "A user's registered public keys", params: UserParams, response: { 200: PubkeyList, ...errorResponses } } },
    async (request) => {
      const user = await targetUser(request, request.params.name);
      return { items: (await store.pubkeyList({ userId: user.id })).map(pubkeyBody) };
    },
  );

  app.post<{ Params: UserParams; Body: NewPubkey }>(
    '/users/:name/pubkeys',
    {
      config: { access: 'self' },
      schema: {
        tags,
        summary: 'Register an OpenSSH ssh-ed25519 public key (for faces that verify request signatures)',
        params: UserParams,
        body: NewPubkey,
        response: { 201: Pubkey, ...errorResponses },
      },
    },
    async (request, reply) => {
      const user = await targetUser(request, request.params.name);
      const { publicKey, name, expiresIn } = request.body;
      let parsed;
      try {
        parsed = parseOpenSshLine(publicKey);
      } catch (error) {
        throw invalid('publicKey', (error as Error).message);
      }
      const expiresAt = expiresIn === undefined ? null : new Date(Date.now() + parseLifetime('expiresIn', expiresIn)).toISOString();
      const row: PubkeyRow = {
        id: newId(),
        userId: user.id,
        name: name ?? (parsed.comment || 'key'),
        keyType: parsed.keyType,
        publicKey: parsed.publicKey,
        fingerprint: parsed.fingerprint,
        createdAt: new Date().toISOString(),
        expiresAt,
        lastUsedAt: null,
      };
      try {
        await store.pubkeyInsert(row);
      } catch (error) {
        if (error instanceof ConflictError || (error as { code?: string }).code === 'BARGE_E_CONFLICT') {
          throw new ConflictError(`the key ${parsed.fingerprint} is already registered`);
        }
        throw error;
      }
      return reply.code(201).send(pubkeyBody(row));
    },
  );

  app.delete<{ Params: PubkeyParams }>(
    '/users/:name/pubkeys/:id',
    {
      config: { access: 'self' },
      schema: { tags, summary: 'Remove a registered public key', params: PubkeyParams, response: { 204: Type.Null({ description: 'removed' }), ...errorResponses } },
    },
    async (request, reply) => {
      const user = await targetUser(request, request.params.name);
      if (!(await store.pubkeyDelete({ id: request.params.id, userId: user.id }))) throw new NotFoundError('public key', request.params.id);
      return reply.code(204).send();
    },
  );

  // ---- JWTs --------------------------------------------------------------------------------

  app.post<{ Body: NewJwt }>(
    '/jwt',
    {
      config: { access: 'self' },
      schema: {
        tags,
        summary: 'Issue a JWT signed by this server for you (admins: for any user), for one audience',
        body: NewJwt,
        response: { 201: IssuedJwt, ...errorResponses },
      },
    },
    async (request, reply) => {
      if (!jwt?.canIssue()) throw unavailable('this server issues no JWTs (it has no signing key)');
      const ttlMs = parseLifetime('ttl', request.body.ttl ?? DEFAULT_JWT_TTL);
      const user = await targetUser(request, request.body.user);
      if (user.disabled) throw new ConflictError(`user ${user.name} is disabled`);
      const issued = await jwt.issue({ user: user.name, audience: request.body.audience, ttlSeconds: Math.ceil(ttlMs / 1000) });
      return reply.code(201).send(issued);
    },
  );
};

export function userBody(row: UserRow): UserBody {
  return { id: row.id, name: row.name, role: row.role, createdAt: row.createdAt, disabled: row.disabled, quotas: row.quotas };
}

function credentialBody(row: TokenRow): CredentialBody {
  return { id: row.id, name: row.name, kind: row.kind, prefix: row.prefix, createdAt: row.createdAt, expiresAt: row.expiresAt, lastUsedAt: row.lastUsedAt };
}

function pubkeyBody(row: PubkeyRow): PubkeyBody {
  return {
    id: row.id,
    name: row.name,
    keyType: row.keyType,
    fingerprint: row.fingerprint,
    publicKey: openSshLine(row),
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    lastUsedAt: row.lastUsedAt,
  };
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)) as Partial<T>;
}

