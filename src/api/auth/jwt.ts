/**
 * JWTs, for faces whose clients bring one (SlideRule's login service, a web UI's identity
 * provider) and for handing a user a short-lived token (`barge token jwt`).
 *
 * barge issues its own, signed EdDSA (Ed25519) with a key pair kept in the data folder and
 * published at `/.well-known/jwks.json`; and it can trust outside issuers, each with its JWKS from
 * a file or a URL. A token is accepted when it is signed by its issuer's key, not expired, and its
 * audience is the one configured for the face it is sent to; its `sub` must name an enabled barge
 * user, whose role applies. `verify` is the one function every face calls.
 */
import { readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  SignJWT,
  calculateJwkThumbprint,
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { KeyObject } from 'node:crypto';
import type { Queries } from '../../store/store.js';
import { unauthorized } from '../errors.js';
import type { Principal } from './index.js';

const ALGORITHM = 'EdDSA';
const KEY_FILE = 'jwt-signing-key.json';
/** barge's own `iss` unless configured. */
export const DEFAULT_ISSUER = 'barge';

/** Faces whose audience is not their name unless configured: SlideRule's tokens are for `runner`. */
const DEFAULT_AUDIENCES: Readonly<Record<string, string>> = { sliderule: 'runner' };

export interface VerifiedJwt {
  principal: Principal;
  claims: JWTPayload;
  /** Signed by barge's own key (not a trusted outside issuer). */
  ownIssuer: boolean;
}

export interface SigningKey {
  kid: string;
  privateKey: KeyObject | CryptoKey;
  publicJwk: JWK;
}

/** Reads the data folder's signing key, or makes one (mode 0600) on first use. */
export async function loadOrCreateSigningKey(dataDir: string): Promise<SigningKey> {
  const path = join(dataDir, KEY_FILE);
  let privateJwk: JWK;
  try {
    privateJwk = JSON.parse(await readFile(path, 'utf8')) as JWK;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read the JWT signing key ${path}: ${(error as Error).message}`, { cause: error });
    const pair = await generateKeyPair(ALGORITHM, { crv: 'Ed25519', extractable: true });
    privateJwk = await exportJWK(pair.privateKey);
    await mkdir(dataDir, { recursive: true });
    // 'wx': two processes starting together on one folder must not overwrite each other's key.
    try {
      await writeFile(path, `${JSON.stringify(privateJwk)}\n`, { mode: 0o600, flag: 'wx' });
      await chmod(path, 0o600);
    } catch (writeError) {
      if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError;
      privateJwk = JSON.parse(await readFile(path, 'utf8')) as JWK;
    }
  }
  return signingKeyFromJwk(privateJwk);
}

async function signingKeyFromJwk(privateJwk: JWK): Promise<SigningKey> {
  const { d: _secret, ...publicPart } = privateJwk;
  const kid = await calculateJwkThumbprint(publicPart);
  const publicJwk: JWK = { ...publicPart, kid, alg: ALGORITHM, use: 'sig' };
  return { kid, privateKey: (await importJWK(privateJwk, ALGORITHM)) as KeyObject | CryptoKey, publicJwk };
}

export interface TrustedIssuer {
  /** The `iss` its tokens carry. */
  issuer: string;
  /** A JWKS: a file path, or an http(s) URL fetched (and cached, refetched for unknown `kid`s) by jose. */
  jwks: string;
}

export interface JwtOptions {
  store: Queries;
  /** barge's own key; without it barge issues no JWTs (it may still trust outside ones). */
  signingKey?: SigningKey;
  /** barge's own `iss`. (Default: 'barge') */
  issuer?: string;
  trusted?: TrustedIssuer[];
  /** The audience each face accepts. (Default: the face's name, e.g. 'v1', 'tork') */
  audiences?: Record<string, string>;
}

export class JwtVerifier {
  private readonly keySets = new Map<string, JWTVerifyGetKey>();
  readonly issuer: string;

  constructor(private readonly options: JwtOptions) {
    this.issuer = options.issuer ?? DEFAULT_ISSUER;
    if (options.signingKey) this.keySets.set(this.issuer, createLocalJWKSet({ keys: [options.signingKey.publicJwk] }));
    for (const trusted of options.trusted ?? []) {
      if (this.keySets.has(trusted.issuer)) throw new Error(`JWT issuer ${trusted.issuer} is configured twice`);
      this.keySets.set(trusted.issuer, keySetOf(trusted.jwks));
    }
  }

  audienceOf(face: string): string {
    return this.options.audiences?.[face] ?? DEFAULT_AUDIENCES[face] ?? face;
  }

  /** Three base64url parts, the first a JSON header: worth trying as a JWT rather than as a secret. */
  looksLikeJwt(token: string): boolean {
    return /^eyJ[\w-]*\.[\w-]+\.[\w-]+$/.test(token);
  }

  canIssue(): boolean {
    return this.options.signingKey !== undefined;
  }

  /** The public keys of barge's own issuer, for `/.well-known/jwks.json`. */
  jwks(): JSONWebKeySet {
    return { keys: this.options.signingKey ? [this.options.signingKey.publicJwk] : [] };
  }

  /** Signs a JWT for `user` (who must exist), valid `ttlSeconds`, for `audience`. */
  async issue(params: { user: string; audience: string; ttlSeconds: number }): Promise<{ token: string; expiresAt: string }> {
    const key = this.options.signingKey;
    if (!key) throw new Error('this server has no JWT signing key');
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: ALGORITHM, kid: key.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setSubject(params.user)
      .setAudience(params.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + params.ttlSeconds)
      .sign(key.privateKey);
    return { token, expiresAt: new Date((now + params.ttlSeconds) * 1000).toISOString() };
  }

  /**
   * The principal a JWT speaks for at `face`, or a 401 saying what is wrong (unknown issuer, bad
   * signature, expired, wrong audience, unknown or disabled user). Never echoes the token.
   */
  async verify(token: string, face: string): Promise<Principal> {
    return (await this.verifyWithClaims(token, face)).principal;
  }

  /**
   * verify(), also answering the token's claims and whether barge itself issued it, for faces
   * that read more of the token than its subject (SlideRule's `org_roles`).
   */
  async verifyWithClaims(token: string, face: string): Promise<VerifiedJwt> {
    let issuer: string | undefined;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      throw unauthorized('malformed JWT');
    }
    const keySet = issuer === undefined ? undefined : this.keySets.get(issuer);
    if (!keySet || issuer === undefined) throw unauthorized('JWT from an issuer this server does not trust');
    let claims: JWTPayload;
    try {
      claims = (await jwtVerify(token, keySet, { issuer, audience: this.audienceOf(face) })).payload;
    } catch (error) {
      throw unauthorized(jwtRefusal(error, this.audienceOf(face)));
    }
    const subject = claims.sub;
    if (!subject) throw unauthorized('JWT without a subject (sub)');
    const user = await this.options.store.userGetByName(subject);
    if (!user) throw unauthorized('JWT for an unknown user');
    if (user.disabled) throw unauthorized('the user is disabled');
    const principal = { userId: user.id, name: user.name, role: user.role, credentialId: `jwt:${issuer}:${claims.jti ?? subject}` };
    return { principal, claims, ownIssuer: issuer === this.issuer && this.options.signingKey !== undefined };
  }
}

function keySetOf(source: string): JWTVerifyGetKey {
  if (/^https?:\/\//i.test(source)) return createRemoteJWKSet(new URL(source));
  let parsed: JSONWebKeySet;
  try {
    parsed = JSON.parse(readFileSync(source, 'utf8')) as JSONWebKeySet;
  } catch (error) {
    throw new Error(`cannot read the JWKS file ${source}: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(parsed.keys)) throw new Error(`${source} is not a JWKS (no "keys" array)`);
  return createLocalJWKSet(parsed);
}

function jwtRefusal(error: unknown, audience: string): string {
  if (error instanceof errors.JWTExpired) return 'the JWT has expired';
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'aud') return `the JWT is not for this API (audience must be ${audience})`;
  if (error instanceof errors.JWTClaimValidationFailed) return `the JWT's ${error.claim} claim is not valid`;
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWSSignatureVerificationFailed) return 'the JWT signature does not verify';
  if (error instanceof errors.JOSEError) return `invalid JWT (${error.code})`;
  return 'invalid JWT';
}
