/**
 * System routes (health, nodes, queues, metrics, users, me), the OpenAPI document and docs page,
 * the placeholder page, and open mode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapAdmin } from '../../src/api/auth/index.js';
import { hello, startApi, waitFor, type ApiUnderTest, type JobBody } from './helpers.js';

let api: ApiUnderTest;

beforeAll(async () => {
  api = await startApi();
});

afterAll(async () => {
  await api?.close();
});

describe('health, nodes, queues', () => {
  it('answers health without a token, and 503 when the store is unreachable', async () => {
    const ok = await api.json<{ status: string; version: string; store: string }>('/v1/health', { as: null });
    expect(ok).toMatchObject({ status: 200, body: { status: 'ok', version: 'test', store: 'sqlite' } });

    const { store } = api.bundle.engine;
    const ping = store.ping.bind(store);
    store.ping = () => Promise.reject(new Error('database is locked'));
    try {
      const down = await api.json('/v1/health', { as: null });
      expect(down).toMatchObject({ status: 503, body: { status: 'down', store: 'sqlite' } });
    } finally {
      store.ping = ping;
    }
  });

  it('lists the worker among the nodes', async () => {
    await waitFor(async () => (await api.bundle.engine.store.nodeList({})).length > 0);
    const { status, body } = await api.json<{ items: Array<{ id: string; status: string; cpus: number; queues: string[] }> }>(
      '/v1/nodes',
    );
    expect(status).toBe(200);
    const node = body.items.find((n) => n.id === api.bundle.worker.nodeId);
    expect(node).toMatchObject({ status: 'UP', cpus: 4 });
    expect(node?.queues).toContain('default');
  });

  it('lists queues with runnable and running counts', async () => {
    const { body: job } = await api.json<JobBody>('/v1/jobs', {
      method: 'POST',
      body: { name: 'queued', queue: 'nobody-listens', tasks: [{ name: 't', run: 'true' }] },
    });
    const { status, body } = await api.json<{ items: Array<{ name: string; runnable: number; running: number }> }>('/v1/queues');
    expect(status).toBe(200);
    expect(body.items).toContainEqual({ name: 'nobody-listens', runnable: 1, running: 0 });
    await api.call(`/v1/jobs/${job.id}/cancel`, { method: 'POST' });
  });
});

describe('GET /v1/metrics', () => {
  it('serves Prometheus text with jobs, executions, queues, claims and HTTP latency', async () => {
    await api.runJob(hello('metered'));
    const response = await api.call('/v1/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    for (const name of [
      'barge_jobs',
      'barge_executions',
      'barge_queue_runnable',
      'barge_queue_running',
      'barge_claim_duration_seconds_bucket',
      'barge_http_request_duration_seconds_bucket',
    ]) {
      expect(text, name).toContain(`# TYPE ${name.replace(/_bucket$/, '')} `);
    }
    expect(text).toMatch(/barge_jobs\{state="SUCCEEDED"\} [1-9]/);
    expect(text).toMatch(/barge_executions\{state="SUCCEEDED"\} [1-9]/);
    expect(text).toMatch(/barge_claim_duration_seconds_count\{outcome="claimed"\} [1-9]/);
    expect(text).toContain('route="/v1/jobs"');
    expect(text).not.toMatch(/route="\/v1\/jobs\/[0-9a-f]{32}"/);
  });

  it('needs a token', async () => {
    expect((await api.call('/v1/metrics', { as: null })).status).toBe(401);
  });
});

describe('body limit', () => {
  it('is 1 MiB by default', async () => {
    const spec = (size: number) => ({ name: 'sized', description: 'x'.repeat(size), tasks: [{ name: 't', run: 'true' }] });
    const small = await api.json<JobBody>('/v1/jobs', { method: 'POST', body: spec(900 * 1024) });
    expect(small.status).toBe(201);
    await api.call(`/v1/jobs/${small.body.id}/cancel`, { method: 'POST' });
    const big = await api.json('/v1/jobs', { method: 'POST', body: spec(1024 * 1024) });
    expect(big).toMatchObject({ status: 413, body: { error: 'BARGE_E_TOO_LARGE' } });
  });
});

describe('users and tokens', () => {
  it('lets an admin create a user whose token works at once, and only once per name', async () => {
    const created = await api.json<{ user: { id: string; name: string; role: string }; token: string }>('/v1/users', {
      method: 'POST',
      as: 'admin',
      body: { name: 'carol' },
    });
    expect(created.status).toBe(201);
    expect(created.body.user).toMatchObject({ name: 'carol', role: 'user' });
    expect(created.body.token).toMatch(/^barge_/);

    const me = await api.json<{ name: string; role: string }>('/v1/me', {
      as: null,
      headers: { authorization: `Bearer ${created.body.token}` },
    });
    expect(me.body).toMatchObject({ name: 'carol', role: 'user' });

    const duplicate = await api.json('/v1/users', { method: 'POST', as: 'admin', body: { name: 'carol' } });
    expect(duplicate.status).toBe(409);

    const users = await api.json<{ items: Array<{ name: string }> }>('/v1/users', { as: 'admin' });
    expect(users.body.items.map((u) => u.name).sort()).toEqual(['admin', 'alice', 'bob', 'carol']);
    expect(JSON.stringify(users.body)).not.toContain(created.body.token);
  });

  it('validates new users, naming each bad field', async () => {
    const answer = await api.json('/v1/users', { method: 'POST', as: 'admin', body: { name: 'no spaces allowed', role: 'god', extra: 1 } });
    expect(answer.status).toBe(400);
    expect(answer.body.details?.map((d) => d.path).sort()).toEqual(['extra', 'name', 'role']);
  });

  it('stores tokens hashed: no plain token in the store', async () => {
    const found = await api.bundle.engine.store.tokenGetByHash(api.tokens.alice);
    expect(found).toBeUndefined();
  });

  it('bootstrapAdmin creates the admin once, on an empty store only', async () => {
    expect(await bootstrapAdmin(api.bundle.engine.store)).toBeNull();
  });

  it('answers /v1/me for each user', async () => {
    expect((await api.json<{ name: string; role: string }>('/v1/me', { as: 'bob' })).body).toMatchObject({ name: 'bob', role: 'user' });
    expect((await api.json<{ role: string }>('/v1/me', { as: 'admin' })).body.role).toBe('admin');
  });
});

describe('OpenAPI, docs and the web UI page', () => {
  it('serves an OpenAPI document that lists every route with its schemas', async () => {
    const { status, body } = await api.json<{
      openapi: string;
      paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; responses: Record<string, unknown> }>>;
    }>('/v1/openapi.json', { as: null });
    expect(status).toBe(200);
    expect(body.openapi).toMatch(/^3\./);
    const routes = Object.entries(body.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    expect(routes.sort()).toEqual(
      [
        'POST /v1/jobs',
        'GET /v1/jobs',
        'GET /v1/jobs/{id}',
        'DELETE /v1/jobs/{id}',
        'POST /v1/jobs/{id}/cancel',
        'POST /v1/jobs/{id}/restart',
        'GET /v1/jobs/{id}/events',
        'GET /v1/jobs/{id}/executions',
        'GET /v1/jobs/{id}/results.tar.gz',
        'GET /v1/jobs/counts',
        'GET /v1/executions/{id}',
        'GET /v1/executions/{id}/logs',
        'GET /v1/executions/{id}/outputs',
        'GET /v1/executions/{id}/items',
        'GET /v1/executions/{id}/items/{idx}',
        'GET /v1/stats/throughput',
        'POST /v1/executions/{id}/cancel',
        'GET /v1/nodes',
        'GET /v1/queues',
        'GET /v1/health',
        'GET /v1/metrics',
        'GET /v1/me',
        'GET /v1/users',
        'POST /v1/users',
        'GET /v1/users/{name}',
        'PATCH /v1/users/{name}',
        'DELETE /v1/users/{name}',
        'GET /v1/users/{name}/pubkeys',
        'POST /v1/users/{name}/pubkeys',
        'DELETE /v1/users/{name}/pubkeys/{id}',
        'GET /v1/keys',
        'POST /v1/keys',
        'DELETE /v1/keys/{id}',
        'POST /v1/jwt',
        'GET /v1/jobs/{id}/shares',
        'POST /v1/jobs/{id}/shares',
        'DELETE /v1/jobs/{id}/shares/{user}',
      ].sort(),
    );
    const list = body.paths['/v1/jobs'].get;
    expect(list.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['state', 'limit', 'cursor', 'owner', 'tag', 'q']));
    expect(Object.keys(list.responses)).toEqual(expect.arrayContaining(['200', '4XX']));
  });

  it('serves the docs page, and the web UI at / under a policy that keeps it on this server', async () => {
    const docs = await api.call('/docs/', { as: null });
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);
    const home = await api.call('/', { as: null });
    expect(home.headers.get('content-type')).toMatch(/^text\/html/);
    expect(home.headers.get('content-security-policy')).toContain("connect-src 'self'");
    const html = await home.text();
    // npm test builds the UI first; its script and styles are served from /assets/.
    const script = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/.exec(html);
    expect(script, html).not.toBeNull();
    const asset = await api.call(script![1], { as: null });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    // A path that climbs out of assets/ finds nothing.
    expect((await api.call('/assets/%2e%2e/%2e%2e/package.json', { as: null })).status).toBe(404);
  });
});

describe('open mode', () => {
  let open: ApiUnderTest;

  beforeAll(async () => {
    open = await startApi({ open: true });
  });

  afterAll(async () => {
    await open?.close();
  });

  it('treats every request as the admin, no token needed', async () => {
    const me = await open.json<{ name: string; role: string }>('/v1/me', { as: null });
    expect(me).toMatchObject({ status: 200, body: { name: 'admin', role: 'admin' } });
    const { status, body } = await open.json<JobBody>('/v1/jobs?wait=30s', { method: 'POST', as: null, body: hello('open') });
    expect(status).toBe(201);
    expect(body).toMatchObject({ owner: 'admin', state: 'SUCCEEDED' });
    const users = await open.json('/v1/users', { as: null });
    expect(users.status).toBe(200);
    // Other users' jobs are visible too: the open-mode caller is an admin.
    await open.bundle.engine.submit(hello('bobs'), { owner: 'bob' });
    const all = await open.json<{ items: JobBody[] }>('/v1/jobs', { as: null });
    expect(new Set(all.body.items.map((j) => j.owner))).toEqual(new Set(['admin', 'bob']));
  });
});
