/**
 * Authentication and authorization for every face (barge's /v1 and each compat API): one account
 * model, one set of rules.
 *
 * Each face registers this plugin on its own instance. Every route then needs credentials unless
 * its route config says `auth: 'public'`: `Authorization: Bearer <token>` with an API token, an
 * API key or a JWT (barge's own or a trusted issuer's, for this face's audience). A face with its
 * own scheme (a raw key header, a key in the body, a signed request) resolves the principal itself
 * with the functions in tokens.ts, pubkeys.ts and jwt.ts and marks its routes `auth: 'public'`.
 * In `open` mode (a single-user laptop; the CLI refuses it on non-loopback addresses) every request
 * is the admin. With a `guest` (Tork's API under `--tork-open`), a request without a token is that
 * ordinary user, never an admin, and a request with a token is its token's user.
 *
 * Roles (core/model.ts `Role`) are checked here, before any handler, so a refusal never depends
 * on whether a job exists: `auth: 'admin'` routes need the admin role; a `viewer` may only read
 * (GET/HEAD, or a route marked `access: 'read'`); a `worker` may only call routes marked
 * `auth: 'worker'` (claim and report); routes marked `access: 'self'` (the caller's own identity
 * and credentials) are open to every role. Ownership is checked in the handlers (`canSeeJob`).
 *
 * A route reads who is asking with `principalOf(request)`.
 */
import type { FastifyRequest } from 'fastify';
import type { Role } from '../../core/model.js';
import type { Queries } from '../../store/store.js';
import { forbidden, unauthorized } from '../errors.js';
import { shared } from '../plugin-utils.js';
import type { JwtVerifier } from './jwt.js';
import { checkSecret, createUser } from './tokens.js';

export { bootstrapAdmin, checkSecret, checkUserKey, createCredential, createToken, createUser, hashToken } from './tokens.js';

export interface Principal {
  userId: string;
  name: string;
  role: Role;
  /** Which credential authenticated the request (rate limits count per credential); 'open' in open mode. */
  credentialId: string;
}

export type AuthLevel = 'public' | 'user' | 'admin' | 'worker';
/** What a route does for the role rules: read, write, or manage the caller's own account. */
export type Access = 'read' | 'write' | 'self';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking; null on public routes. */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Who may call the route. (Default: 'user', any valid credential) */
    auth?: AuthLevel;
    /** (Default: 'read' for GET and HEAD, else 'write') */
    access?: Access;
  }
}

/** Who every request is in open mode. Its id is not a stored user's. */
export const OPEN_PRINCIPAL: Readonly<Principal> = Object.freeze({ userId: 'open', name: 'admin', role: 'admin', credentialId: 'open' });

export interface AuthOptions extends Record<string, unknown> {
  store: Queries;
  open: boolean;
  /** Verifies bearer JWTs; without it a JWT is an unknown token. */
  jwt?: JwtVerifier;
  /** The face the plugin guards ('v1', 'tork', …): picks the JWT audience. (Default: 'v1') */
  face?: string;
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
    else request.principal = await principalFromBearer(options, request);
    checkRole(request, request.principal, level);
  });
});

async function principalFromBearer(options: AuthOptions, request: FastifyRequest): Promise<Principal> {
  const token = bearerToken(request.headers.authorization);
  if (!token) throw unauthorized('missing bearer token: send Authorization: Bearer <token>');
  if (options.jwt?.looksLikeJwt(token)) return options.jwt.verify(token, options.face ?? 'v1');
  return principalFromSecret(options.store, token);
}

/** The principal of an API token or API key; 401 naming why when it is not a live one. */
export async function principalFromSecret(store: Queries, secret: string): Promise<Principal> {
  const check = await checkSecret(store, secret);
  if (!check.ok) throw unauthorized(REFUSALS[check.reason]);
  return { userId: check.user.id, name: check.user.name, role: check.user.role, credentialId: check.token.id };
}

const REFUSALS = {
  unknown: 'unknown or revoked token',
  expired: 'the token has expired',
  disabled: 'the user is disabled',
} as const;

function checkRole(request: FastifyRequest, principal: Principal, level: AuthLevel): void {
  const route = `${request.method} ${request.routeOptions.url ?? ''}`;
  if (principal.role === 'admin') return;
  if (level === 'admin') throw forbidden(`${route} is for admins only`);
  const access = request.routeOptions.config.access ?? (request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write');
  if (access === 'self') return;
  if (principal.role === 'worker') {
    if (level !== 'worker') throw forbidden(`the worker role may only claim and report work, not ${route}`);
    return;
  }
  if (level === 'worker') throw forbidden(`${route} is for workers only`);
  if (principal.role === 'viewer' && access === 'write') throw forbidden(`the viewer role is read-only: ${route} is refused`);
}

/** The guest must be an ordinary user: an admin guest would make every anonymous caller an admin. */
export async function ensureGuest(store: Queries, name: string): Promise<void> {
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
export async function guestPrincipal(store: Queries, name: string): Promise<Principal> {
  const user = await store.userGetByName(name);
  if (!user || user.disabled || user.role === 'admin') throw unauthorized(`the guest user "${name}" is disabled: send a token`);
  return { userId: user.id, name: user.name, role: user.role, credentialId: `guest:${name}` };
}

export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match ? match[1] : null;
}

/** The caller of an authenticated route. Throws (a bug, not a client error) on a public route. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error(`no principal on ${request.method} ${request.url}: route is public`);
  return request.principal;
}

/** Admins see everything; others what they own. For jobs use canSeeJob, which also honours shares. */
export function canSee(principal: Principal, owner: string): boolean {
  return principal.role === 'admin' || principal.name === owner;
}

/**
 * Whether the caller may see (and, role permitting, control) a job: an admin, its owner, or a user
 * it is shared with. Callers answer "not found" otherwise, exactly as for a job that does not exist.
 */
export async function canSeeJob(store: Queries, principal: Principal, job: { id: string; owner: string }): Promise<boolean> {
  if (canSee(principal, job.owner)) return true;
  return store.shareExists({ jobId: job.id, userName: principal.name });
}
