/**
 * SlideRule's API under test: the real app (barge's /v1, Tork's API and the SlideRule plugin)
 * listening on 127.0.0.1 over a real engine, SQLite store and worker with the Lua runtime. Requests
 * are signed as the SlideRule Python client signs them (session.py `__signrequest`), built here
 * from the reference with node:crypto alone: `b64url(host + path) + ":" + ts + ":" + b64url(body)`,
 * padded URL-safe base64, an Ed25519 signature in standard base64.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type JWTPayload } from 'jose';
import type { FastifyInstance } from 'fastify';
import { FolderArtifactStore } from '../../../src/artifacts/artifacts.js';
import { buildApp } from '../../../src/api/app.js';
import { createToken, createUser } from '../../../src/api/auth/index.js';
import { JwtVerifier, loadOrCreateSigningKey, type SigningKey } from '../../../src/api/auth/jwt.js';
import { parseOpenSshLine } from '../../../src/api/auth/pubkeys.js';
import { Engine } from '../../../src/engine/engine.js';
import { newId } from '../../../src/engine/ids.js';
import { Reaper } from '../../../src/engine/reaper.js';
import { createLuaRuntime, createShellRuntime } from '../../../src/worker/runtimes/index.js';
import { engineSource } from '../../../src/worker/source.js';
import { Worker } from '../../../src/worker/worker.js';
import { makeTestStore, type StoreKind, type TestStore } from '../../helpers/stores.js';

export const OUTSIDE_ISSUER = 'https://login.example.test';

export interface Signer {
  user: string;
  privateKey: KeyObject;
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body (null when not JSON). */
  json: unknown;
}

export interface CallOptions {
  /** The exact body text; absent means no body at all. (Default: JSON of `data`) */
  raw?: string | null;
  /** Signs as this user's key. (Default: the token's user's) */
  signer?: Signer | null;
  /** The JWT. (Default: barge's own for the signer's user, org_roles [member]) */
  token?: string | null;
  timestamp?: number;
  /** What the signature covers, when it should differ from what is sent. */
  signedHost?: string;
  signedPath?: string;
  signedBody?: string;
  host?: string;
}

export interface SlideRuleUnderTest {
  engine: Engine;
  db: TestStore;
  app: FastifyInstance;
  url: string;
  /** `127.0.0.1:<port>`: the Host header fetch sends. */
  host: string;
  alice: Signer;
  bob: Signer;
  adminToken: string;
  /** A JWT from barge's own issuer. */
  jwt(claims: JWTPayload & { sub: string }, audience?: string): Promise<string>;
  /** A JWT from the trusted outside issuer. */
  outsideJwt(claims: JWTPayload & { sub: string }, audience?: string): Promise<string>;
  /** A signed POST, as the Python client sends it (no Content-Type). */
  call(path: string, data?: unknown, options?: CallOptions): Promise<Answer>;
  close(): Promise<void>;
}

/** An OpenSSH `ssh-ed25519` line for a node:crypto public key. */
export function openSshLine(publicKey: KeyObject, comment: string): string {
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  const withLength = (bytes: Buffer): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  };
  const blob = Buffer.concat([withLength(Buffer.from('ssh-ed25519')), withLength(raw)]);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
}

/** The reference's canonical string (§5.2), built independently of barge's code. */
export function canonical(host: string, path: string, timestamp: string, body: string): string {
  const b64url = (text: string): string => Buffer.from(text, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
  return `${b64url(host + path)}:${timestamp}:${b64url(body)}`;
}

export function signatureOf(privateKey: KeyObject, message: string): string {
  return sign(null, Buffer.from(message, 'utf8'), privateKey).toString('base64');
}

export async function startSlideRule(options: { worker?: boolean; cpus?: number; memoryMb?: number; store?: StoreKind } = {}): Promise<SlideRuleUnderTest> {
  const db = await makeTestStore(options.store ?? 'sqlite');
  const engine = new Engine({ store: db.store, artifacts: new FolderArtifactStore(join(db.dir, 'artifacts')), leaseMs: 5_000, retryBaseMs: 20, retryMaxMs: 200 });
  const worker =
    options.worker === false
      ? null
      : new Worker({
          source: engineSource(engine),
          artifacts: engine.artifacts,
          nodeId: newId(),
          name: 'worker',
          version: 'test',
          workRoot: join(db.dir, 'work'),
          runtimes: { lua: createLuaRuntime({ threads: 4 }), shell: createShellRuntime({ killGraceMs: 500 }) },
          cpus: options.cpus ?? 8,
          memoryMb: options.memoryMb ?? 16_384,
          renewMs: 200,
          idlePollMs: 50,
          drainGraceMs: 2_000,
        });
  const reaper = new Reaper(engine, { nodeId: newId(), intervalMs: 200 });
  worker?.start();
  reaper.start();

  const signingKey: SigningKey = await loadOrCreateSigningKey(db.dir);
  const outside = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const outsideJwks = join(db.dir, 'outside-jwks.json');
  writeFileSync(outsideJwks, JSON.stringify({ keys: [{ ...(await exportJWK(outside.publicKey)), kid: 'outside', alg: 'EdDSA' }] }));
  const jwt = new JwtVerifier({ store: db.store, signingKey, trusted: [{ issuer: OUTSIDE_ISSUER, jwks: outsideJwks }] });

  const app = await buildApp({ engine, version: 'test', open: false, logger: false, tork: { open: false }, sliderule: true, jwt });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address !== 'object') throw new Error('not listening');
  const host = `127.0.0.1:${address.port}`;
  const url = `http://${host}`;

  const signers: Record<string, Signer> = {};
  for (const name of ['alice', 'bob']) {
    const user = await createUser(db.store, { name, role: 'user' });
    const pair = generateKeyPairSync('ed25519');
    const parsed = parseOpenSshLine(openSshLine(pair.publicKey, `${name}@test`));
    await db.store.pubkeyInsert({
      id: newId(),
      userId: user.id,
      name: `${name}@test`,
      keyType: parsed.keyType,
      publicKey: parsed.publicKey,
      fingerprint: parsed.fingerprint,
      createdAt: new Date().toISOString(),
      expiresAt: null,
      lastUsedAt: null,
    });
    signers[name] = { user: name, privateKey: pair.privateKey };
  }
  const admin = await createUser(db.store, { name: 'admin', role: 'admin' });
  const adminToken = await createToken(db.store, admin.id);

  const issue = async (key: CryptoKey | KeyObject, kid: string, issuer: string, claims: JWTPayload & { sub: string }, audience: string): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid }).setIssuer(issuer).setAudience(audience).setIssuedAt(now).setExpirationTime(now + 600).sign(key);
  };
  const jwtFor = (claims: JWTPayload & { sub: string }, audience = 'runner'): Promise<string> =>
    issue(signingKey.privateKey, signingKey.kid, jwt.issuer, claims, audience);

  const usedSeconds = new Set<number>();
  const freshSecond = (): number => {
    const now = Math.floor(Date.now() / 1000);
    for (let offset = 0; offset <= 50; offset += 1) {
      for (const second of [now - offset, now + offset]) {
        if (!usedSeconds.has(second)) {
          usedSeconds.add(second);
          return second;
        }
      }
    }
    throw new Error('more than 100 calls inside one signature window');
  };
  const call: SlideRuleUnderTest['call'] = async (path, data, init = {}) => {
    const signer = init.signer === undefined ? signers.alice : init.signer;
    const body = init.raw !== undefined ? init.raw : JSON.stringify(data ?? null);
    // Ed25519 signatures are deterministic: the same request in the same second is a replay. A
    // client does not send the same request twice a second (the runner's gateway throttles to
    // 1/s), so each call here is dated a second no other call used, inside the window.
    const timestamp = String(init.timestamp ?? freshSecond());
    const headers: Record<string, string> = {};
    const token = init.token === undefined ? await jwtFor({ sub: signer?.user ?? 'alice', org_roles: ['member'] }) : init.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (signer) {
      headers['x-sliderule-timestamp'] = timestamp;
      const message = canonical(init.signedHost ?? init.host ?? host, init.signedPath ?? path, timestamp, init.signedBody ?? body ?? '');
      headers['x-sliderule-signature'] = signatureOf(signer.privateKey, message);
    }
    const response = await post(`${url}${path}`, { ...headers, host: init.host ?? host }, body);
    const text = response.text;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: response.status, headers: response.headers, text, json };
  };

  return {
    engine,
    db,
    app,
    url,
    host,
    alice: signers.alice,
    bob: signers.bob,
    adminToken,
    jwt: jwtFor,
    outsideJwt: (claims, audience = 'runner') => issue(outside.privateKey, 'outside', OUTSIDE_ISSUER, claims, audience),
    call,
    async close() {
      if (app.server.listening) await app.close();
      await worker?.stop();
      await reaper.stop();
      await db.close();
    },
  };
}

/** Polls until `check` holds or `ms` pass. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met in ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** A POST with exactly these headers (Host included, no Content-Type added) and body. */
export function post(url: string, headers: Record<string, string>, body: string | null): Promise<{ status: number; headers: Headers; text: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = { ...headers, ...(body === null ? {} : { 'content-length': String(Buffer.byteLength(body)) }) };
    const req = httpRequest(url, { method: 'POST', headers: outgoing }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const answerHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') answerHeaders.set(name, value);
        resolve({ status: res.statusCode ?? 0, headers: answerHeaders, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}
