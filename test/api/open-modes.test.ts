/**
 * The open modes (issue 7, "Open modes"): without tokens, only requests naming a loopback host in
 * `Host` (and `Origin`, when sent) get in, so a web page cannot drive barge by DNS rebinding; and
 * under `--tork-open` a tokenless Tork caller is the ordinary `guest` user, never an admin, while
 * a token, when sent, is its user's. Real HTTP on 127.0.0.1, with Host and Origin set by hand
 * (node:http, since fetch will not let a caller choose Host).
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { createUser } from '../../src/api/auth/index.js';
import { makeEngine } from '../helpers/engine.js';
import { startApi, type ApiUnderTest } from './helpers.js';
import { startTork, storedJob, type TorkUnderTest } from '../compat/tork/helpers.js';

interface RawAnswer {
  status: number;
  body: { error?: string; message?: string; [key: string]: unknown };
}

/** A request to `base` (http://127.0.0.1:port) with exactly these headers. */
function raw(base: string, path: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<RawAnswer> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, setHost: false },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as RawAnswer['body']) : {} }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('--open: Host and Origin must be loopback names', () => {
  let api: ApiUnderTest;
  let port: string;

  beforeAll(async () => {
    api = await startApi({ open: true });
    port = new URL(api.url).port;
  });

  afterAll(async () => {
    await api?.close();
  });

  it('answers loopback Host names', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', '127.0.0.2', `[::1]:${port}`]) {
      expect((await raw(api.url, '/v1/jobs', { host })).status, host).toBe(200);
    }
  });

  it('refuses any other Host with 403 and a message saying why', async () => {
    for (const host of [`evil.example:${port}`, 'evil.example', `0.0.0.0:${port}`, '192.168.1.10', 'localhost.evil.example', '']) {
      const answer = await raw(api.url, '/v1/jobs', { host });
      expect(answer.status, host).toBe(403);
      expect(answer.body.error).toBe('BARGE_E_FORBIDDEN');
      expect(answer.body.message).toMatch(/is not a loopback name.*DNS-rebinding/);
    }
    // A rebinding page cannot submit either: refused before the body is read.
    const submit = await raw(api.url, '/v1/jobs', { host: 'evil.example', 'content-type': 'application/json' }, 'POST', '{"tasks":[{"run":"id"}]}');
    expect(submit.status).toBe(403);
    expect((await api.bundle.engine.store.jobList({ limit: 10 })).length).toBe(0);
  });

  it('refuses a non-loopback Origin, and Origin null', async () => {
    const host = `127.0.0.1:${port}`;
    expect((await raw(api.url, '/v1/jobs', { host, origin: `http://localhost:${port}` })).status).toBe(200);
    expect((await raw(api.url, '/v1/jobs', { host, origin: 'http://127.0.0.1:3000' })).status).toBe(200);
    for (const origin of ['http://evil.example', 'https://evil.example:8000', 'null', 'file://', 'http://localhost.evil.example']) {
      const answer = await raw(api.url, '/v1/jobs', { host, origin });
      expect(answer.status, origin).toBe(403);
      expect(answer.body.message).toMatch(/is not a loopback origin/);
    }
  });
});

describe('with tokens, Host is not checked', () => {
  let api: ApiUnderTest;

  beforeAll(async () => {
    api = await startApi();
  });

  afterAll(async () => {
    await api?.close();
  });

  it('serves any Host to a caller with a token (the token is the defence)', async () => {
    const answer = await raw(api.url, '/v1/jobs', { host: 'barge.example', authorization: `Bearer ${api.tokens.alice}` });
    expect(answer.status).toBe(200);
  });
});

describe('--tork-open: tokenless Tork callers are the guest', () => {
  let tork: TorkUnderTest;
  const submitYaml = 'name: who\ntasks:\n  - name: t\n    run: "true"\n';

  beforeAll(async () => {
    tork = await startTork({ open: true, worker: false });
  });

  afterAll(async () => {
    await tork?.close();
  });

  it('created the guest as an ordinary user', async () => {
    const guest = await tork.engine.store.userGetByName('guest');
    expect(guest).toMatchObject({ name: 'guest', role: 'user', disabled: false });
  });

  it('runs tokenless submissions as the guest, not the admin', async () => {
    const created = await tork.json<{ id: string }>('POST', '/jobs', { body: submitYaml, headers: { 'content-type': 'text/yaml' } });
    expect(created.status).toBe(200);
    expect((await tork.engine.store.jobGet(created.body.id))?.owner).toBe('guest');
  });

  it('honours a token when one is sent: its user, not the guest and not the admin', async () => {
    const alice = { authorization: `Bearer ${tork.tokens.alice}` };
    const created = await tork.json<{ id: string }>('POST', '/jobs', { body: submitYaml, headers: { 'content-type': 'text/yaml', ...alice } });
    expect(created.status).toBe(200);
    expect((await tork.engine.store.jobGet(created.body.id))?.owner).toBe('alice');
    // The guest does not see alice's job; alice does; a bad token is refused, not downgraded to the guest.
    expect((await tork.json('GET', `/jobs/${created.body.id}`)).status).toBe(404);
    expect((await tork.json('GET', `/jobs/${created.body.id}`, { headers: alice })).status).toBe(200);
    expect((await tork.json('GET', '/jobs', { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
  });

  it('keeps admin routes and other users’ jobs away from tokenless callers', async () => {
    const admins = storedJob({ owner: 'admin' });
    await tork.engine.store.jobInsert(admins);
    expect((await tork.json('GET', `/jobs/${admins.id}`)).status).toBe(404);
    expect((await tork.json('POST', '/users', { body: { username: 'mallory', password: 'pw' } })).status).toBe(403);
    expect(await tork.engine.store.userGetByName('mallory')).toBeUndefined();
    expect((await tork.json('DELETE', '/queues/default')).status).toBe(403);
  });

  it('checks Host on Tork’s API too, with the reason in the message', async () => {
    const answer = await raw(tork.url, '/jobs', { host: 'evil.example' });
    expect(answer.status).toBe(403);
    expect(answer.body.message).toMatch(/is not a loopback name/);
    expect((await raw(tork.url, '/health', { host: 'localhost' })).status).toBe(200);
  });

  it('refuses to start when the guest is an admin', async () => {
    const bundle = await makeEngine('sqlite');
    try {
      await createUser(bundle.engine.store, { name: 'guest', role: 'admin' });
      await expect(buildApp({ engine: bundle.engine, version: 'test', open: false, logger: false, tork: { open: true } })).rejects.toThrow(
        /guest user "guest" is an admin/,
      );
    } finally {
      await bundle.stop();
    }
  });
});
