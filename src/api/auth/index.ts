/**
 * Authentication and authorization for barge's own API. Every route of the instance that
 * registers this plugin needs `Authorization: Bearer <token>` unless its route config says
 * `auth: 'public'`; `auth: 'admin'` also needs the admin role (403 otherwise). In `open` mode
 * (a single-user laptop; the CLI refuses it on non-loopback addresses) every request is the admin.
 * With a `guest` (Tork's API under `--tork-open`), a request without a token is that ordinary
 * user, never an admin, and a request with a token is its token's user.
 *
 * A route reads who is asking with `principalOf(request)`.
 */
import type { FastifyRequest } from 'fastify';
import type { Role } from '../../core/model.js';
import type { Queries } from '../../store/store.js';
import { forbidden, unauthorized } from '../errors.js';
import { shared } from '../plugin-utils.js';
import { createUser, hashToken } from './tokens.js';

export { bootstrapAdmin, createToken, createUser, hashToken } from './tokens.js';

export interface Principal {
  userId: string;
  name: string;
  role: Role;
}

export type AuthLevel = 'public' | 'user' | 'admin';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking; null on public routes. */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Who may call the route. (Default: 'user', any valid token) */
    auth?: AuthLevel;
  }
}

/** Who every request is in open mode. Its id is not a stored user's. */
export const OPEN_PRINCIPAL: Readonly<Principal> = Object.freeze({ userId: 'open', name: 'admin', role: 'admin' });

export interface AuthOptions extends Record<string, unknown> {
  store: Queries;
  open: boolean;
  /** The user tokenless requests are; created as an ordinary user when missing. (Default: none, a token is needed) */
  guest?: string;
}

export const authPlugin = shared<AuthOptions>('barge-auth', async (app, options) => {
  const { store, guest } = options;
  if (guest !== undefined && !options.open) await ensureGuest(store, guest);
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    const level = request.routeOptions.config.auth ?? 'user';
    if (request.is404 || level === 'public') return;
    if (options.open) request.principal = { ...OPEN_PRINCIPAL };
    else if (guest !== undefined && request.headers.authorization === undefined) request.principal = await guestPrincipal(store, guest);
    else request.principal = await principalFromToken(store, request);
    if (level === 'admin' && request.principal.role !== 'admin') {
      throw forbidden(`${request.method} ${request.routeOptions.url} is for admins only`);
    }
  });
});

async function principalFromToken(store: Queries, request: FastifyRequest): Promise<Principal> {
  const token = bearerToken(request.headers.authorization);
  if (!token) throw unauthorized('missing bearer token: send Authorization: Bearer <token>');
  const found = await store.tokenGetByHash(hashToken(token));
  if (!found || found.user.disabled) throw unauthorized('unknown or revoked token');
  return { userId: found.user.id, name: found.user.name, role: found.user.role };
}

/** The guest must be an ordinary user: an admin guest would make every anonymous caller an admin. */
async function ensureGuest(store: Queries, name: string): Promise<void> {
  let user = await store.userGetByName(name);
  if (!user) {
    try {
      user = await createUser(store, { name, role: 'user' });
    } catch (error) {
      // Two servers starting together: the other one created it.
      user = await store.userGetByName(name);
      if (!user) throw error;
    }
  }
  if (user.role === 'admin') throw new Error(`the guest user "${name}" is an admin; tokenless callers must be an ordinary user`);
}

/** Looked up on every request, so disabling the guest (or making it an admin) takes effect at once. */
async function guestPrincipal(store: Queries, name: string): Promise<Principal> {
  const user = await store.userGetByName(name);
  if (!user || user.disabled || user.role === 'admin') throw unauthorized(`the guest user "${name}" is disabled: send a token`);
  return { userId: user.id, name: user.name, role: user.role };
}

function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? match[1] : null;
}

/** The caller of an authenticated route. Throws (a bug, not a client error) on a public route. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error(`no principal on ${request.method} ${request.url}: route is public`);
  return request.principal;
}

/** Non-admins see only what they own; others' things are answered as not found (no existence leak). */
export function canSee(principal: Principal, owner: string): boolean {
  return principal.role === 'admin' || principal.name === owner;
}
