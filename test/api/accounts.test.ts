/**
 * Accounts over real HTTP: every route of /v1 and of the Tork face walked as another user, a
 * viewer and a worker (404 for what is not theirs, exactly as for a job that does not exist; 403
 * for what their role may not do), shares, users, credentials and public keys.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkUserKey, createToken, createUser } from '../../src/api/auth/index.js';
import { livePubkey, verifyEd25519 } from '../../src/api/auth/pubkeys.js';
import type { Role } from '../../src/core/model.js';
import { newId } from '../../src/engine/ids.js';
import { startApi, waitFor, type ApiUnderTest, type ErrorAnswer, type ExecutionBody, type JobBody, type Page } from './helpers.js';

let api: ApiUnderTest;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  api = await startApi({ tork: { open: false } });
  Object.assign(tokens, api.tokens);
  for (const [name, role] of [['vera', 'viewer'], ['robot', 'worker'], ['dan', 'user']] as Array<[string, Role]>) {
    const user = await createUser(api.bundle.engine.store, { name, role });
    tokens[name] = await createToken(api.bundle.engine.store, user.id);
  }
});

afterAll(async () => {
  await api?.close();
});

/** A request with a named user's token (or any raw bearer value with `bearer`). */
async function as(who: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string; headers: Headers }> {
  const headers: Record<string, string> = { authorization: `Bearer ${tokens[who] ?? who}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${api.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

async function asJson<T = ErrorAnswer>(who: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const answer = await as(who, method, path, body);
  return { status: answer.status, body: (answer.text ? JSON.parse(answer.text) : null) as T };
}

/** A RUNNING job of alice's with one execution. */
async function runningJob(): Promise<{ job: string; execution: string }> {
  const created = await asJson<JobBody>('alice', 'POST', '/v1/jobs', { name: 'long', tasks: [{ name: 'sleep', run: 'echo started; sleep 60' }] });
  expect(created.status).toBe(201);
  let execution = '';
  await waitFor(async () => {
    const page = await asJson<Page<ExecutionBody>>('alice', 'GET', `/v1/jobs/${created.body.id}/executions`);
    const running = page.body.items.find((e) => e.state === 'RUNNING');
    execution = running?.id ?? '';
    return execution !== '';
  });
  return { job: created.body.id, execution };
}

interface RouteCase {
  method: string;
  /** The OpenAPI path, `{id}` for the job or execution id. */
  path: string;
  target: 'job' | 'execution';
  body?: unknown;
}

/** Every /v1 route that names a job or an execution. */
const V1_ROUTES: RouteCase[] = [
  { method: 'GET', path: '/v1/jobs/{id}', target: 'job' },
  { method: 'DELETE', path: '/v1/jobs/{id}', target: 'job' },
  { method: 'POST', path: '/v1/jobs/{id}/cancel', target: 'job' },
  { method: 'POST', path: '/v1/jobs/{id}/restart', target: 'job' },
  { method: 'GET', path: '/v1/jobs/{id}/events', target: 'job' },
  { method: 'GET', path: '/v1/jobs/{id}/executions', target: 'job' },
  { method: 'GET', path: '/v1/jobs/{id}/results.tar.gz', target: 'job' },
  { method: 'GET', path: '/v1/jobs/{id}/shares', target: 'job' },
  { method: 'POST', path: '/v1/jobs/{id}/shares', target: 'job', body: { user: 'dan' } },
  { method: 'DELETE', path: '/v1/jobs/{id}/shares/{user}', target: 'job' },
  { method: 'GET', path: '/v1/executions/{id}', target: 'execution' },
  { method: 'GET', path: '/v1/executions/{id}/logs', target: 'execution' },
  { method: 'GET', path: '/v1/executions/{id}/outputs', target: 'execution' },
  { method: 'GET', path: '/v1/executions/{id}/items', target: 'execution' },
  { method: 'GET', path: '/v1/executions/{id}/items/{idx}', target: 'execution' },
  { method: 'POST', path: '/v1/executions/{id}/cancel', target: 'execution' },
];

/** Every Tork route that names a job or a task. */
const TORK_ROUTES: RouteCase[] = [
  { method: 'GET', path: '/jobs/{id}', target: 'job' },
  { method: 'GET', path: '/jobs/{id}/log', target: 'job' },
  { method: 'PUT', path: '/jobs/{id}/cancel', target: 'job' },
  { method: 'PUT', path: '/jobs/{id}/restart', target: 'job' },
  { method: 'GET', path: '/tasks/{id}', target: 'execution' },
  { method: 'GET', path: '/tasks/{id}/log', target: 'execution' },
];

function pathOf(route: RouteCase, ids: { job: string; execution: string }): string {
  return route.path.replace('{id}', ids[route.target]).replace('{user}', 'dan').replace('{idx}', '0');
}

const isWrite = (route: RouteCase): boolean => route.method !== 'GET';

/** The answer with the id taken out, so "someone else's" and "missing" compare equal. */
function shape(answer: { status: number; text: string }, ids: string[]): string {
  let text = answer.text;
  for (const id of ids) text = text.replaceAll(id, '<id>');
  return `${answer.status} ${text}`;
}

describe('ownership on every route', () => {
  let ids: { job: string; execution: string };
  const missing = { job: newId(), execution: newId() };

  beforeAll(async () => {
    ids = await runningJob();
  });

  afterAll(async () => {
    await as('alice', 'POST', `/v1/jobs/${ids.job}/cancel`);
  });

  it('covers every /v1 route that takes a job or execution id', async () => {
    const { body } = await asJson<{ paths: Record<string, Record<string, unknown>> }>('alice', 'GET', '/v1/openapi.json');
    const withId = Object.entries(body.paths)
      .filter(([path]) => /^\/v1\/(jobs|executions)\/\{id\}/.test(path))
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    expect(withId.sort()).toEqual(V1_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it("answers another user's job exactly as a missing one, on /v1 and on Tork's API", async () => {
    for (const route of [...V1_ROUTES, ...TORK_ROUTES]) {
      const theirs = await as('bob', route.method, pathOf(route, ids), route.body);
      const nothing = await as('bob', route.method, pathOf(route, missing), route.body);
      expect(theirs.status, `${route.method} ${route.path}`).toBe(404);
      expect(shape(theirs, [ids.job, ids.execution]), `${route.method} ${route.path}`).toBe(shape(nothing, [missing.job, missing.execution]));
    }
    const list = await asJson<Page<JobBody>>('bob', 'GET', '/v1/jobs');
    expect(list.body.items.map((j) => j.id)).not.toContain(ids.job);
    const torkList = await asJson<{ items: Array<{ id: string }> }>('bob', 'GET', '/jobs');
    expect(torkList.body.items.map((j) => j.id)).not.toContain(ids.job);
    // Still running: none of bob's attempts touched it.
    expect((await asJson<JobBody>('alice', 'GET', `/v1/jobs/${ids.job}`)).body.state).toBe('RUNNING');
  });

  it('refuses every write of a viewer with 403 and answers its reads of unshared jobs with 404', async () => {
    for (const route of [...V1_ROUTES, ...TORK_ROUTES]) {
      const answer = await as('vera', route.method, pathOf(route, ids), route.body);
      expect(answer.status, `${route.method} ${route.path}`).toBe(isWrite(route) ? 403 : 404);
    }
    expect((await as('vera', 'POST', '/v1/jobs', { name: 'x', tasks: [{ name: 't', run: 'true' }] })).status).toBe(403);
    expect((await as('vera', 'POST', '/jobs', { name: 'x', tasks: [{ name: 't', run: 'true' }] })).text).toBe('{"message":"Forbidden"}\n');
  });

  it('lets the worker role do nothing but claim and report', async () => {
    for (const route of [...V1_ROUTES, ...TORK_ROUTES, { method: 'GET', path: '/v1/jobs', target: 'job' as const }]) {
      const answer = await as('robot', route.method, pathOf(route, ids), route.body);
      expect(answer.status, `${route.method} ${route.path}`).toBe(403);
    }
    // Its own identity is its own business.
    expect((await asJson<{ role: string }>('robot', 'GET', '/v1/me')).body.role).toBe('worker');
  });

  it('shares a job: a viewer then reads it (writes stay refused), a user controls it', async () => {
    expect((await as('bob', 'POST', `/v1/jobs/${ids.job}/shares`, { user: 'vera' })).status).toBe(404);
    expect((await as('alice', 'POST', `/v1/jobs/${ids.job}/shares`, { user: 'nobody' })).status).toBe(404);
    const shared = await asJson<{ items: Array<{ user: string }> }>('alice', 'POST', `/v1/jobs/${ids.job}/shares`, { user: 'vera' });
    expect(shared).toMatchObject({ status: 200, body: { items: [{ user: 'vera' }] } });

    for (const route of [...V1_ROUTES, ...TORK_ROUTES]) {
      const answer = await as('vera', route.method, pathOf(route, ids), route.body);
      // A read answers the sharee as it answers the owner (an item route of a job with no array is 404 to both).
      const expected = isWrite(route) ? 403 : (await as('alice', route.method, pathOf(route, ids))).status;
      expect(answer.status, `${route.method} ${route.path}`).toBe(expected);
      if (!isWrite(route) && !route.path.includes('{idx}')) expect(answer.status, `${route.method} ${route.path}`).toBe(200);
    }
    // A viewer's list is still its own jobs; the shared one is read by id.
    expect((await asJson<Page<JobBody>>('vera', 'GET', '/v1/jobs')).body.items).toEqual([]);

    await as('alice', 'POST', `/v1/jobs/${ids.job}/shares`, { user: 'bob' });
    // Bob sees it, reads its log and events, but only its owner and admins change its shares.
    expect((await as('bob', 'GET', `/v1/jobs/${ids.job}/events`)).status).toBe(200);
    expect((await as('bob', 'GET', `/jobs/${ids.job}`)).status).toBe(200);
    expect((await as('bob', 'GET', `/v1/executions/${ids.execution}/logs`)).status).toBe(200);
    expect((await as('bob', 'POST', `/v1/jobs/${ids.job}/shares`, { user: 'dan' })).status).toBe(403);
    expect((await as('bob', 'DELETE', `/v1/jobs/${ids.job}/shares/vera`)).status).toBe(403);

    expect((await as('alice', 'DELETE', `/v1/jobs/${ids.job}/shares/vera`)).status).toBe(204);
    expect((await as('vera', 'GET', `/v1/jobs/${ids.job}`)).status).toBe(404);
    expect((await as('alice', 'DELETE', `/v1/jobs/${ids.job}/shares/vera`)).status).toBe(404);

    // A user it is shared with controls it: bob cancels alice's job.
    const cancelled = await asJson<JobBody>('bob', 'POST', `/v1/jobs/${ids.job}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('CANCELLED');
    expect((await as('bob', 'DELETE', `/v1/jobs/${ids.job}`)).status).toBe(204);
    expect((await as('alice', 'GET', `/v1/jobs/${ids.job}`)).status).toBe(404);
  });

  it('lets an admin read and control any job', async () => {
    const other = await runningJob();
    expect((await as('admin', 'GET', `/v1/jobs/${other.job}`)).status).toBe(200);
    expect((await as('admin', 'GET', `/tasks/${other.execution}/log`)).status).toBe(200);
    expect((await as('admin', 'PUT', `/jobs/${other.job}/cancel`)).status).toBe(200);
  });
});

describe('users', () => {
  it('changes roles, disables, deletes; an admin cannot lock itself out', async () => {
    const created = await asJson<{ token: string; user: { role: string } }>('admin', 'POST', '/v1/users', { name: 'erin', role: 'viewer', quotas: { runningExecutions: 3 } });
    expect(created.body.user).toMatchObject({ role: 'viewer', quotas: { runningExecutions: 3 } });
    const erin = created.body.token;
    expect((await as(erin, 'POST', '/v1/jobs', { name: 'x', tasks: [{ name: 't', run: 'true' }] })).status).toBe(403);

    expect((await asJson('admin', 'PATCH', '/v1/users/erin', { role: 'user' })).body).toMatchObject({ role: 'user' });
    expect((await as(erin, 'POST', '/v1/jobs', { name: 'x', tasks: [{ name: 't', run: 'true' }] })).status).toBe(201);

    expect((await as('alice', 'PATCH', '/v1/users/erin', { role: 'admin' })).status).toBe(403);
    expect((await as('alice', 'GET', '/v1/users/erin')).status).toBe(403);
    expect((await asJson<{ name: string }>('alice', 'GET', '/v1/users/alice')).body.name).toBe('alice');

    await as('admin', 'PATCH', '/v1/users/erin', { disabled: true });
    expect(await asJson(erin, 'GET', '/v1/me')).toMatchObject({ status: 401, body: { message: 'the user is disabled' } });
    await as('admin', 'PATCH', '/v1/users/erin', { disabled: false });
    expect((await as(erin, 'GET', '/v1/me')).status).toBe(200);

    expect((await as('admin', 'DELETE', '/v1/users/admin')).status).toBe(409);
    expect((await as('admin', 'PATCH', '/v1/users/admin', { role: 'user' })).status).toBe(409);
    expect((await as('admin', 'PATCH', '/v1/users/erin', {})).status).toBe(400);
    expect((await as('admin', 'DELETE', '/v1/users/erin')).status).toBe(204);
    expect((await as(erin, 'GET', '/v1/me')).status).toBe(401);
    expect((await as('admin', 'DELETE', '/v1/users/erin')).status).toBe(404);
  });
});

describe('credentials', () => {
  it('creates, uses, lists, revokes one by one; shows a secret only once', async () => {
    const created = await asJson<{ key: { id: string; prefix: string; kind: string }; secret: string }>('alice', 'POST', '/v1/keys', { name: 'ci', kind: 'apikey' });
    expect(created.status).toBe(201);
    const { key, secret } = created.body;
    expect(secret).toMatch(/^barge_k_[A-Za-z0-9_-]{43}$/);
    expect(secret.startsWith(key.prefix)).toBe(true);
    expect(key.prefix.length).toBeLessThan(16);

    expect((await asJson<{ name: string }>(secret, 'GET', '/v1/me')).body.name).toBe('alice');
    const listed = await as('alice', 'GET', '/v1/keys');
    expect(listed.text).not.toContain(secret);
    const items = (JSON.parse(listed.text) as { items: Array<{ id: string; lastUsedAt: string | null; kind: string }> }).items;
    expect(items.find((k) => k.id === key.id)).toMatchObject({ kind: 'apikey', lastUsedAt: expect.any(String) });

    // Not bob's to revoke, and bob may not even look at alice's.
    expect((await as('bob', 'DELETE', `/v1/keys/${key.id}`)).status).toBe(404);
    expect((await as('bob', 'GET', '/v1/keys?user=alice')).status).toBe(403);
    expect((await as('alice', 'DELETE', `/v1/keys/${key.id}`)).status).toBe(204);
    expect(await asJson(secret, 'GET', '/v1/me')).toMatchObject({ status: 401, body: { message: 'unknown or revoked token' } });
    // alice's other token still works.
    expect((await as('alice', 'GET', '/v1/me')).status).toBe(200);
  });

  it('refuses a credential once it has expired', async () => {
    const created = await asJson<{ secret: string; key: { expiresAt: string } }>('alice', 'POST', '/v1/keys', { name: 'short', expiresIn: '1s' });
    expect(created.body.secret).toMatch(/^barge_t_/);
    expect(Date.parse(created.body.key.expiresAt)).toBeGreaterThan(Date.now() - 1000);
    await waitFor(async () => (await as(created.body.secret, 'GET', '/v1/me')).status === 401, 5_000);
    expect(await asJson(created.body.secret, 'GET', '/v1/me')).toMatchObject({ body: { message: 'the token has expired' } });
    expect((await as('alice', 'POST', '/v1/keys', { expiresIn: 'soon' })).status).toBe(400);
  });

  it('lets an admin make and revoke a key for another user', async () => {
    const made = await asJson<{ key: { id: string }; secret: string }>('admin', 'POST', '/v1/keys', { user: 'bob', kind: 'token' });
    expect((await asJson<{ name: string }>(made.body.secret, 'GET', '/v1/me')).body.name).toBe('bob');
    expect((await as('alice', 'POST', '/v1/keys', { user: 'bob' })).status).toBe(403);
    expect((await as('admin', 'DELETE', `/v1/keys/${made.body.key.id}?user=bob`)).status).toBe(204);
  });

  it('checks a username and key together (the body-credential faces)', async () => {
    const { secret } = (await asJson<{ secret: string }>('alice', 'POST', '/v1/keys', { kind: 'apikey' })).body;
    const { store } = api.bundle.engine;
    expect((await checkUserKey(store, 'alice', secret))?.name).toBe('alice');
    expect(await checkUserKey(store, 'bob', secret)).toBeNull();
    expect(await checkUserKey(store, 'alice', `${secret}x`)).toBeNull();
    expect(await checkUserKey(store, 'nobody', 'barge_k_nothing')).toBeNull();
  });
});

describe('public keys', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'barge-pubkeys-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers an ssh-ed25519 key with ssh-keygen’s fingerprint, verifies a signature with it, removes it', async () => {
    const keyFile = join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@laptop', '-f', keyFile]);
    const line = execFileSync('cat', [`${keyFile}.pub`]).toString().trim();
    const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${keyFile}.pub`]).toString().split(' ')[1];

    const added = await asJson<{ id: string; fingerprint: string; name: string; publicKey: string }>('alice', 'POST', '/v1/users/alice/pubkeys', { publicKey: line });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ fingerprint, name: 'alice@laptop' });
    expect((await as('alice', 'POST', '/v1/users/alice/pubkeys', { publicKey: line })).status).toBe(409);
    expect((await as('bob', 'GET', '/v1/users/alice/pubkeys')).status).toBe(403);

    const found = await livePubkey(api.bundle.engine.store, fingerprint);
    expect(found?.user.name).toBe('alice');
    expect(await livePubkey(api.bundle.engine.store, fingerprint, new Date(Date.now() + 3_650 * 86_400_000))).not.toBeNull();
    const { privateKey } = generateKeyPairSync('ed25519');
    const message = Buffer.from('runner.example/submit:1700000000:e30=');
    // A signature by another key does not verify; one by the registered key (via ssh-keygen -Y) is checked in the face tests.
    expect(verifyEd25519(found!.pubkey, message, sign(null, message, privateKey))).toBe(false);

    for (const bad of ['ssh-rsa AAAAB3NzaC1yc2E= x', 'ssh-ed25519 AAAA', 'ssh-ed25519 not-base64!', '']) {
      const refused = await asJson('alice', 'POST', '/v1/users/alice/pubkeys', { publicKey: bad });
      expect(refused.status, bad).toBe(400);
      expect(refused.body.details?.[0]?.path).toBe('publicKey');
    }
    expect((await asJson<{ items: unknown[] }>('alice', 'GET', '/v1/users/alice/pubkeys')).body.items).toHaveLength(1);
    expect((await as('alice', 'DELETE', `/v1/users/alice/pubkeys/${added.body.id}`)).status).toBe(204);
    expect((await asJson<{ items: unknown[] }>('alice', 'GET', '/v1/users/alice/pubkeys')).body.items).toHaveLength(0);
  });

  it('verifies a signature made with the registered key', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
    const field = (bytes: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes]);
    const blob = Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]);
    const line = `ssh-ed25519 ${blob.toString('base64')} made-here`;
    writeFileSync(join(dir, 'made.pub'), `${line}\n`);
    const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'made.pub')]).toString().split(' ')[1];
    const added = await asJson<{ fingerprint: string; expiresAt: string }>('bob', 'POST', '/v1/users/bob/pubkeys', { publicKey: line, name: 'ci', expiresIn: '1h' });
    expect(added.body.fingerprint).toBe(fingerprint);
    expect(await livePubkey(api.bundle.engine.store, fingerprint, new Date(Date.now() + 2 * 3_600_000))).toBeNull();
    const found = await api.bundle.engine.store.pubkeyGetByFingerprint(fingerprint);
    const message = Buffer.from('host/path:1700000000:body');
    expect(verifyEd25519(found!.pubkey, message, sign(null, message, privateKey))).toBe(true);
    expect(verifyEd25519(found!.pubkey, Buffer.from('tampered'), sign(null, message, privateKey))).toBe(false);
  });
});
