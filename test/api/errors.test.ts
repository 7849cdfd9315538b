/**
 * Every error status of /v1 in the `{error, message, details?}` shape: bad specs and bodies,
 * malformed JSON and YAML, alias bombs, huge bodies, auth, owner isolation, unknown ids and
 * routes, and a server fault that must not leak its cause.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hello, startApi, type ApiUnderTest, type ErrorAnswer, type ExecutionBody, type JobBody, type Page } from './helpers.js';

let api: ApiUnderTest;

beforeAll(async () => {
  api = await startApi({ bodyLimitBytes: 64 * 1024 });
});

afterAll(async () => {
  await api?.close();
});

function expectError(answer: { status: number; body: ErrorAnswer }, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(answer.body.error).toBe(code);
  expect(answer.body.message).toBeTypeOf('string');
  expect(answer.body.message.length).toBeGreaterThan(0);
}

describe('400 for bad submissions', () => {
  it('lists every problem of a spec with its field path', async () => {
    const answer = await api.json('/v1/jobs', {
      method: 'POST',
      body: {
        name: 'bad',
        tasks: [
          { name: 'too many retries', run: 'true', retry: { limit: 99 } },
          { name: 'never ends', run: 'true', timeout: 'forever' },
          { run: 'echo nameless' },
        ],
      },
    });
    expectError(answer, 400, 'BARGE_E_VALIDATION');
    const paths = answer.body.details?.map((d) => d.path) ?? [];
    expect(paths).toEqual(expect.arrayContaining(['tasks[0].retry.limit', 'tasks[1].timeout', 'tasks[2].name']));
    for (const detail of answer.body.details ?? []) expect(answer.body.message).toContain(detail.message);
  });

  it('refuses unknown fields, naming them', async () => {
    const answer = await api.json('/v1/jobs', {
      method: 'POST',
      body: { ...hello(), colour: 'blue', tasks: [{ name: 't', run: 'true', speed: 'fast' }] },
    });
    expectError(answer, 400, 'BARGE_E_VALIDATION');
    const paths = answer.body.details?.map((d) => d.path) ?? [];
    expect(paths.some((p) => p.includes('colour'))).toBe(true);
    expect(paths.some((p) => p.includes('speed'))).toBe(true);
  });

  it('refuses malformed JSON, an empty JSON body and a JSON array', async () => {
    const headers = { 'content-type': 'application/json' };
    for (const body of ['{"name": "x", "tasks": [', '', '[1, 2]', 'null', '"text"']) {
      const answer = await api.json('/v1/jobs', { method: 'POST', body, headers });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error).toBe('BARGE_E_VALIDATION');
    }
  });

  it('says where malformed JSON goes wrong, by line and column', async () => {
    const body = '{\n  "name": "x",\n  "tasks": }';
    const answer = await api.json('/v1/jobs', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expectError(answer, 400, 'BARGE_E_VALIDATION');
    expect(answer.body.message).toMatch(/\(line 3, column 12\)$/);
  });

  it('refuses JSON that tries to set __proto__', async () => {
    const answer = await api.json('/v1/jobs', {
      method: 'POST',
      body: '{"name": "x", "tasks": [], "__proto__": {"admin": true}}',
      headers: { 'content-type': 'application/json' },
    });
    expectError(answer, 400, 'BARGE_E_VALIDATION');
  });

  it('refuses malformed YAML and a YAML that is not a mapping', async () => {
    const headers = { 'content-type': 'application/yaml' };
    for (const body of ['name: [unclosed\ntasks: {', '- just\n- a list\n', '']) {
      const answer = await api.json('/v1/jobs', { method: 'POST', body, headers });
      expect(answer.status, body).toBe(400);
      expect(answer.body.error).toBe('BARGE_E_VALIDATION');
    }
  });

  it('refuses a YAML alias bomb quickly, with a 400', async () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
      'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
      'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
      'h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]',
      'i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]',
      'name: bomb',
      'tasks: [{name: t, run: "true", env: {X: *i}}]',
    ].join('\n');
    const started = Date.now();
    const answer = await api.json('/v1/jobs', { method: 'POST', body: bomb, headers: { 'content-type': 'text/yaml' } });
    expectError(answer, 400, 'BARGE_E_VALIDATION');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('answers 400, not 500, to deeply nested JSON and YAML', async () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const json = `{"name": "deep", "inputs": {"x": ${deep}}, "tasks": [{"name": "t", "run": "true"}]}`;
    const answer = await api.json('/v1/jobs', { method: 'POST', body: json, headers: { 'content-type': 'application/json' } });
    expectError(answer, 400, 'BARGE_E_VALIDATION');
    const yaml = `name: deep\ninputs:\n  x: ${deep}\ntasks: [{name: t, run: "true"}]\n`;
    const fromYaml = await api.json('/v1/jobs', { method: 'POST', body: yaml, headers: { 'content-type': 'application/yaml' } });
    expectError(fromYaml, 400, 'BARGE_E_VALIDATION');
  });

  it('answers 413 for a body over the limit, JSON or YAML', async () => {
    const big = { name: 'big', tasks: [{ name: 't', run: `echo ${'x'.repeat(100 * 1024)}` }] };
    expectError(await api.json('/v1/jobs', { method: 'POST', body: big }), 413, 'BARGE_E_TOO_LARGE');
    const yaml = `name: big\ntasks:\n  - name: t\n    run: echo ${'y'.repeat(100 * 1024)}\n`;
    const answer = await api.json('/v1/jobs', { method: 'POST', body: yaml, headers: { 'content-type': 'application/yaml' } });
    expectError(answer, 413, 'BARGE_E_TOO_LARGE');
  });

  it('answers 415 for a body in a format it does not take', async () => {
    const answer = await api.json('/v1/jobs', { method: 'POST', body: 'name: x', headers: { 'content-type': 'text/plain' } });
    expect(answer.status).toBe(415);
    expect(answer.body.message).toMatch(/application\/yaml/);
    const xml = await api.json('/v1/jobs', { method: 'POST', body: '<job/>', headers: { 'content-type': 'application/xml' } });
    expect(xml.status).toBe(415);
  });
});

describe('401 without a valid token', () => {
  it('refuses a missing, unknown or malformed token, with WWW-Authenticate', async () => {
    const variants: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer barge_not-a-real-token' },
      { authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` },
      { authorization: 'Bearer' },
      { authorization: `Bearer ${api.tokens.alice}x` },
    ];
    for (const headers of variants) {
      const response = await api.call('/v1/jobs', { as: null, headers });
      expect(response.status, JSON.stringify(headers)).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(((await response.json()) as ErrorAnswer).error).toBe('BARGE_E_UNAUTHORIZED');
    }
  });

  it('checks the token before reading the body', async () => {
    const response = await api.call('/v1/jobs', { as: null, method: 'POST', body: { name: 'x'.repeat(200 * 1024) } });
    expect(response.status).toBe(401);
  });

  it('leaves /v1/health, /v1/openapi.json, /docs and / open', async () => {
    for (const path of ['/v1/health', '/v1/openapi.json', '/docs/', '/']) {
      const response = await api.call(path, { as: null });
      expect(response.status, path).toBe(200);
      await response.arrayBuffer();
    }
  });
});

describe('owner isolation', () => {
  let job: JobBody;
  let execution: ExecutionBody;

  beforeAll(async () => {
    const done = await api.runJob(hello('alices'), 'alice');
    job = (await api.json<JobBody>(`/v1/jobs/${done.id}`)).body;
    execution = (await api.json<Page<ExecutionBody>>(`/v1/jobs/${done.id}/executions`)).body.items[0];
  });

  it("answers 404 to bob for every route on alice's job, as if it did not exist", async () => {
    const routes: Array<[string, string]> = [
      ['GET', `/v1/jobs/${job.id}`],
      ['POST', `/v1/jobs/${job.id}/cancel`],
      ['POST', `/v1/jobs/${job.id}/restart`],
      ['DELETE', `/v1/jobs/${job.id}`],
      ['GET', `/v1/jobs/${job.id}/events`],
      ['GET', `/v1/jobs/${job.id}/executions`],
      ['GET', `/v1/jobs/${job.id}/results.tar.gz`],
      ['GET', `/v1/executions/${execution.id}`],
      ['GET', `/v1/executions/${execution.id}/logs`],
      ['POST', `/v1/executions/${execution.id}/cancel`],
    ];
    for (const [method, path] of routes) {
      const answer = await api.json(path, { method, as: 'bob' });
      expect(answer.status, `${method} ${path}`).toBe(404);
      expect(answer.body.error).toBe('BARGE_E_NOT_FOUND');
    }
    // Still there for alice.
    expect((await api.call(`/v1/jobs/${job.id}`)).status).toBe(200);
  });

  it("lets the admin read alice's job and its executions", async () => {
    expect((await api.json<JobBody>(`/v1/jobs/${job.id}`, { as: 'admin' })).body.owner).toBe('alice');
    expect((await api.call(`/v1/executions/${execution.id}`, { as: 'admin' })).status).toBe(200);
  });

  it('answers 403 to a non-admin on an admin-only route', async () => {
    expectError(await api.json('/v1/users', { method: 'POST', body: { name: 'mallory' } }), 403, 'BARGE_E_FORBIDDEN');
    expectError(await api.json('/v1/users'), 403, 'BARGE_E_FORBIDDEN');
  });
});

describe('404 and bad ids', () => {
  it('answers 404 for unknown ids of the right format', async () => {
    const unknown = 'f'.repeat(32);
    for (const path of [`/v1/jobs/${unknown}`, `/v1/executions/${unknown}`, `/v1/jobs/${unknown}/results.tar.gz`]) {
      expectError(await api.json(path), 404, 'BARGE_E_NOT_FOUND');
    }
    expectError(await api.json(`/v1/jobs/${unknown}/cancel`, { method: 'POST' }), 404, 'BARGE_E_NOT_FOUND');
  });

  it('answers unknown routes with 404 in the same shape, token or not', async () => {
    expectError(await api.json('/v1/nope'), 404, 'BARGE_E_NOT_FOUND');
    expectError(await api.json('/v1/nope', { as: null }), 404, 'BARGE_E_NOT_FOUND');
    expectError(await api.json('/v1/jobs', { method: 'PUT' }), 404, 'BARGE_E_NOT_FOUND');
  });

  it('never answers 500 for malformed ids', async () => {
    const ids = ['%E0%A4%A', 'xyz', 'F'.repeat(32), 'a'.repeat(33), '%00', "'%20OR%201=1--", '..%2F..%2Fetc%2Fpasswd', 'a'.repeat(150), '%E2%98%83'];
    for (const id of ids) {
      for (const path of [`/v1/jobs/${id}`, `/v1/executions/${id}/logs`, `/v1/jobs/${id}/results.tar.gz`]) {
        const answer = await api.json(path);
        expect([400, 404], `${path} → ${answer.status}`).toContain(answer.status);
        expect(answer.body.error).toMatch(/^BARGE_E_(VALIDATION|NOT_FOUND)$/);
      }
    }
    const answer = await api.json('/v1/jobs/xyz');
    expect(answer.status).toBe(400);
    expect(answer.body.details).toEqual([{ path: 'id', message: 'must be a lowercase hex id, or a unique prefix of at least 6 of its characters' }]);
  });
});

describe('500', () => {
  it('answers a generic message and keeps the cause (and any secret in it) in the log', async () => {
    const { store } = api.bundle.engine;
    const original = store.nodeList.bind(store);
    store.nodeList = () => Promise.reject(new Error('connect ECONNREFUSED postgres://barge:hunter2@db/barge'));
    try {
      const answer = await api.json('/v1/nodes');
      expectError(answer, 500, 'BARGE_E_INTERNAL');
      expect(JSON.stringify(answer.body)).not.toMatch(/hunter2|ECONNREFUSED|postgres/);
    } finally {
      store.nodeList = original;
    }
  });
});
