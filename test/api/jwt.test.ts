/**
 * JWTs over real HTTP: barge's own (issued by /v1/jwt, published at /.well-known/jwks.json) and an
 * outside issuer's, with its JWKS in a file or served by a loopback HTTP server; the audience is
 * per face, and expired, wrongly signed, unknown-issuer and unknown-user tokens are refused.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtVerifier, loadOrCreateSigningKey, type SigningKey } from '../../src/api/auth/jwt.js';
import { startApi, type ApiUnderTest, type ErrorAnswer } from './helpers.js';

const OUTSIDE_FILE_ISSUER = 'https://login.file.example';
const OUTSIDE_URL_ISSUER = 'https://login.url.example';

let api: ApiUnderTest;
let dir: string;
let own: SigningKey;
let outsideKey: { privateKey: CryptoKey; jwk: JWK };
let urlKey: { privateKey: CryptoKey; jwk: JWK };
let jwksServer: Server;
let jwksRequests = 0;

async function rsaKey(kid: string): Promise<{ privateKey: CryptoKey; jwk: JWK }> {
  const pair = await generateKeyPair('RS256', { extractable: true });
  return { privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'barge-jwt-'));
  own = await loadOrCreateSigningKey(dir);
  outsideKey = await rsaKey('file-1');
  urlKey = await rsaKey('url-1');
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [outsideKey.jwk] }));
  jwksServer = createServer((_request, response) => {
    jwksRequests += 1;
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [urlKey.jwk] }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const address = jwksServer.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  api = await startApi({
    tork: { open: false },
    jwt: (store) =>
      new JwtVerifier({
        store,
        signingKey: own,
        trusted: [
          { issuer: OUTSIDE_FILE_ISSUER, jwks: join(dir, 'jwks.json') },
          { issuer: OUTSIDE_URL_ISSUER, jwks: `http://127.0.0.1:${port}/jwks.json` },
        ],
        audiences: { tork: 'tork-clients' },
      }),
  });
});

afterAll(async () => {
  await api?.close();
  await new Promise((resolve) => jwksServer?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function me(token: string, path = '/v1/me'): Promise<{ status: number; body: ErrorAnswer & { name?: string } }> {
  const response = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as ErrorAnswer & { name?: string } };
}

function sign(key: CryptoKey | SigningKey['privateKey'], claims: { iss: string; aud: string; sub: string; exp?: number; kid: string; alg: string }): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: claims.alg, kid: claims.kid })
    .setIssuer(claims.iss)
    .setAudience(claims.aud)
    .setSubject(claims.sub)
    .setIssuedAt(now - 60)
    .setExpirationTime(claims.exp ?? now + 600)
    .sign(key);
}

describe("barge's own JWTs", () => {
  it('keeps its signing key private in the data folder, and the same key on the next start', async () => {
    expect(statSync(join(dir, 'jwt-signing-key.json')).mode & 0o777).toBe(0o600);
    expect((await loadOrCreateSigningKey(dir)).kid).toBe(own.kid);
  });

  it('issues a JWT that works on its audience’s face, verifies against the published JWKS, and nowhere else', async () => {
    const issued = await api.json<{ token: string; expiresAt: string }>('/v1/jwt', { method: 'POST', body: { audience: 'v1', ttl: '1h' } });
    expect(issued.status).toBe(201);
    expect(Date.parse(issued.body.expiresAt) - Date.now()).toBeGreaterThan(3_500_000);
    expect(await me(issued.body.token)).toMatchObject({ status: 200, body: { name: 'alice' } });

    const jwks = await api.json<{ keys: JWK[] }>('/.well-known/jwks.json', { as: null });
    expect(jwks.body.keys).toHaveLength(1);
    expect(jwks.body.keys[0]).not.toHaveProperty('d');
    const { payload } = await jwtVerify(issued.body.token, createLocalJWKSet(jwks.body), { issuer: 'barge', audience: 'v1' });
    expect(payload.sub).toBe('alice');

    // Its audience is /v1, not Tork's face (whose audience is configured as tork-clients).
    expect((await me(issued.body.token, '/jobs')).status).toBe(401);
    const forTork = await api.json<{ token: string }>('/v1/jwt', { method: 'POST', body: { audience: 'tork-clients' } });
    expect((await me(forTork.body.token, '/jobs')).status).toBe(200);
    expect(await me(forTork.body.token)).toMatchObject({ status: 401, body: { message: 'the JWT is not for this API (audience must be v1)' } });
  });

  it('lets an admin issue for another user, and nobody else', async () => {
    const forBob = await api.json<{ token: string }>('/v1/jwt', { method: 'POST', as: 'admin', body: { audience: 'v1', user: 'bob' } });
    expect(await me(forBob.body.token)).toMatchObject({ status: 200, body: { name: 'bob' } });
    expect((await api.json('/v1/jwt', { method: 'POST', as: 'alice', body: { audience: 'v1', user: 'bob' } })).status).toBe(403);
    expect((await api.json('/v1/jwt', { method: 'POST', body: { audience: 'v1', ttl: 'forever' } })).status).toBe(400);
  });

  it('refuses an expired JWT, and one for a disabled or unknown user', async () => {
    const expired = await sign(own.privateKey, { iss: 'barge', aud: 'v1', sub: 'alice', exp: Math.floor(Date.now() / 1000) - 30, kid: own.kid, alg: 'EdDSA' });
    expect(await me(expired)).toMatchObject({ status: 401, body: { message: 'the JWT has expired' } });
    const nobody = await sign(own.privateKey, { iss: 'barge', aud: 'v1', sub: 'nobody', kid: own.kid, alg: 'EdDSA' });
    expect(await me(nobody)).toMatchObject({ status: 401, body: { message: 'JWT for an unknown user' } });
  });
});

describe("an outside issuer's JWTs", () => {
  it('accepts them with the JWKS from a file, for an existing user, with that user’s role', async () => {
    const token = await sign(outsideKey.privateKey, { iss: OUTSIDE_FILE_ISSUER, aud: 'v1', sub: 'bob', kid: 'file-1', alg: 'RS256' });
    expect(await me(token)).toMatchObject({ status: 200, body: { name: 'bob' } });
    // bob is an ordinary user: the admin routes stay closed.
    expect((await fetch(`${api.url}/v1/users`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(403);
  });

  it('accepts them with the JWKS served over HTTP', async () => {
    const token = await sign(urlKey.privateKey, { iss: OUTSIDE_URL_ISSUER, aud: 'v1', sub: 'alice', kid: 'url-1', alg: 'RS256' });
    expect(await me(token)).toMatchObject({ status: 200, body: { name: 'alice' } });
    expect(jwksRequests).toBeGreaterThan(0);
  });

  it('refuses a wrong audience, an unknown issuer, and a signature by another key', async () => {
    const wrongAudience = await sign(outsideKey.privateKey, { iss: OUTSIDE_FILE_ISSUER, aud: 'runner', sub: 'bob', kid: 'file-1', alg: 'RS256' });
    expect(await me(wrongAudience)).toMatchObject({ status: 401, body: { message: 'the JWT is not for this API (audience must be v1)' } });
    const stranger = await sign(outsideKey.privateKey, { iss: 'https://evil.example', aud: 'v1', sub: 'admin', kid: 'file-1', alg: 'RS256' });
    expect(await me(stranger)).toMatchObject({ status: 401, body: { message: 'JWT from an issuer this server does not trust' } });
    // The URL issuer's kid, signed with the file issuer's key: the signature does not verify.
    const forged = await sign(outsideKey.privateKey, { iss: OUTSIDE_URL_ISSUER, aud: 'v1', sub: 'admin', kid: 'url-1', alg: 'RS256' });
    expect(await me(forged)).toMatchObject({ status: 401, body: { message: 'the JWT signature does not verify' } });
    // And no answer ever carries the token.
    expect(JSON.stringify(await me(forged))).not.toContain(forged);
  });
});
