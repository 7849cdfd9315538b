/**
 * Authentication and authorization for barge's own API. Every route of the instance that
 * registers this plugin needs `Authorization: Bearer <token>` unless its route config says
 * `auth: 'public'`; `auth: 'admin'` also needs the admin role (403 otherwise). In `open` mode
 * (a single-user laptop; the CLI refuses it on non-loopback addresses) every request is the admin.
 *
 * A route reads who is asking with `principalOf(request)`.
 */
import type { FastifyRequest } from 'fastify';
import type { Role } from '../../core/model.js';
import type { Queries } from '../../store/store.js';
import { forbidden, unauthorized } from '../errors.js';
import { shared } from '../plugin-utils.js';
import { hashToken } from './tokens.js';

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
}

export const authPlugin = shared<AuthOptions>('barge-auth', async (app, options) => {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    const level = request.routeOptions.config.auth ?? 'user';
    if (request.is404 || level === 'public') return;
    request.principal = options.open ? { ...OPEN_PRINCIPAL } : await principalFromToken(options.store, request);
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
