/**
 * Who is calling the srtslurm face, with the reference collector's answers (§8.2) over barge's
 * accounts: any barge API token, API key or JWT (audience `srtslurm`) is a bearer token here. The
 * write token is a user's or an admin's credential; the read token a viewer's (GET and HEAD only).
 * Checked in onRequest, before the body is read or the route is known, so a caller without a
 * token learns nothing (no 400, 404 or 422). Bodies over 1 MiB are refused before that, unread.
 *
 * `open` (barge's `--open`): every caller is the admin. `guest` (`--srt-open`): a caller without
 * an Authorization header is that ordinary user, as the original's tokenless collector on a
 * login node; a token, when sent, is honoured. The CLI allows both on loopback addresses only.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Queries } from '../../../store/store.js';
import { OPEN_PRINCIPAL, ensureGuest, guestPrincipal, principalFromSecret, type Principal } from '../../auth/index.js';
import type { JwtVerifier } from '../../auth/jwt.js';
import { SrtError } from './wire.js';

export interface SrtAuthOptions {
  store: Queries;
  open: boolean;
  guest?: string;
  jwt?: JwtVerifier;
}

/** The reference collector's body cap (MAX_BODY_BYTES). */
export const SRT_BODY_LIMIT = 1_048_576;

export async function registerSrtAuth(app: FastifyInstance, options: SrtAuthOptions): Promise<void> {
  if (options.guest !== undefined && !options.open) await ensureGuest(options.store, options.guest);
  if (!app.hasRequestDecorator('principal')) app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request, reply) => {
    refuseOversized(request, () => reply.header('connection', 'close'));
    if (!request.is404 && request.routeOptions.config.auth === 'public') return;
    const principal = await principalOf(options, request);
    request.principal = principal;
    const writes = request.method !== 'GET' && request.method !== 'HEAD';
    if (principal.role === 'worker') throw new SrtError(403, 'A worker token cannot use the status API');
    if (writes && principal.role === 'viewer') throw new SrtError(403, 'The read token cannot modify jobs');
  });
}

function refuseOversized(request: FastifyRequest, closeAfter: () => void): void {
  const length = request.headers['content-length'];
  if (length === undefined) return;
  if (!/^\d+$/.test(length.trim())) throw new SrtError(400, 'Content-Length must be an integer');
  if (Number(length) > SRT_BODY_LIMIT) {
    closeAfter();
    throw new SrtError(413, `Body larger than ${SRT_BODY_LIMIT} bytes`);
  }
}

async function principalOf(options: SrtAuthOptions, request: FastifyRequest): Promise<Principal> {
  if (options.open) return { ...OPEN_PRINCIPAL };
  const header = request.headers.authorization;
  if (options.guest !== undefined && header === undefined) return guestPrincipal(options.store, options.guest);
  const match = /^bearer(?:\s+(.*))?$/i.exec((header ?? '').trim());
  const token = match?.[1]?.trim();
  if (!token) throw new SrtError(401, 'Bearer token required', { 'www-authenticate': 'Bearer' });
  try {
    if (options.jwt?.looksLikeJwt(token)) return await options.jwt.verify(token, 'srtslurm');
    return await principalFromSecret(options.store, token);
  } catch {
    // Unknown, revoked, expired or a disabled user's: one answer, naming none of it.
    throw new SrtError(401, 'Invalid bearer token', { 'www-authenticate': 'Bearer error="invalid_token"' });
  }
}
