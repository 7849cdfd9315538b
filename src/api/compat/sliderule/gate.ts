/**
 * The runner's checks, in its order (sliderule-runner.md §3): the JWT (API Gateway's 401), the
 * request signature over the raw body (403 `invalid signature`), then membership (403 `not a
 * member`). Only then is the path routed and the body parsed.
 */
import type { FastifyRequest } from 'fastify';
import type { JWTPayload } from 'jose';
import type { Queries } from '../../../store/store.js';
import { bearerToken, type Principal } from '../../auth/index.js';
import type { JwtVerifier } from '../../auth/jwt.js';
import { accessDenied, invalidSignature, notAMember, unauthorized } from './errors.js';
import { signatureHolds, type ReplayGuard } from './signature.js';

/** The JWT face name; its audience is `runner` unless configured (`--jwt-audience sliderule=…`). */
export const SLIDERULE_FACE = 'sliderule';

export interface GateOptions {
  store: Queries;
  jwt: JwtVerifier | undefined;
  replays: ReplayGuard;
}

/** Who is asking, once all three checks passed; throws SlideRule's refusal otherwise. */
export async function admit(options: GateOptions, request: FastifyRequest, rawBody: string): Promise<Principal> {
  const token = bearerToken(request.headers.authorization);
  if (!token || !options.jwt) throw unauthorized();
  let verified;
  try {
    verified = await options.jwt.verifyWithClaims(token, SLIDERULE_FACE);
  } catch (error) {
    request.log.info({ reason: (error as Error).message }, 'sliderule JWT refused');
    throw unauthorized();
  }
  const { principal, claims, ownIssuer } = verified;
  const signed = await signatureHolds(options.store, principal.userId, {
    host: request.headers.host ?? '',
    path: request.url.split('?')[0] ?? '',
    body: rawBody,
    timestamp: header(request, 'x-sliderule-timestamp'),
    signature: header(request, 'x-sliderule-signature'),
  }, options.replays);
  if (!signed) throw invalidSignature();
  if (!isMember(claims, ownIssuer)) throw notAMember();
  // As on every face: a worker's credentials claim and report work, nothing else.
  if (principal.role === 'worker') throw accessDenied('the worker role may only claim and report work');
  return principal;
}

/**
 * `member` among the `org_roles` claim: a list, or API Gateway's flattened `"[member owner]"`
 * (§11 #15); a plain string is a one-role list. A token barge issued itself without the claim is
 * a member: barge's users are its organisation. An outside issuer's token must carry the claim.
 */
export function isMember(claims: JWTPayload, ownIssuer: boolean): boolean {
  const roles = claims.org_roles;
  if (roles === undefined) return ownIssuer;
  return parseRoles(roles).includes('member');
}

export function parseRoles(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((role): role is string => typeof role === 'string');
  if (typeof claim !== 'string') return [];
  const text = claim.trim();
  if (text.startsWith('[') && text.endsWith(']')) return text.slice(1, -1).split(/\s+/).filter(Boolean);
  return [text];
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
