/**
 * Tork's HTTP surface (tork.md §1–§3, §9, §12 checks 1–9, 19, 21, 22, 26–35): transport, exact
 * bytes, content types, strict decoding, validation, nodes, queues, metrics, users, auth.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeRow } from '../../../src/core/model.js';
import { newId } from '../../../src/engine/ids.js';
import { startTork, type TorkUnderTest } from './helpers.js';

let tork: TorkUnderTest;

beforeAll(async () => {
  tork = await startTork({ open: true });
});

afterAll(async () => {
  await tork?.close();
});

const minimal = (extra: Record<string, unknown> = {}, task: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'test job',
  tasks: [{ name: 'test task', image: 'some:image', queue: 'nowhere', ...task }],
  ...extra,
});

async function submit(body: unknown, contentType = 'application/json'): Promise<{ status: number; body: Record<string, unknown> }> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return tork.json('POST', '/jobs', { body: text, headers: { 'content-type': contentType } });
}

describe('transport', () => {
  it('answers health with exact bytes (check 1)', async () => {
    const answer = await tork.request('GET', '/health');
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('{"status":"UP","version":"test"}\n');
    expect(answer.headers.get('content-type')).toBe('application/json');
  });

  it('indents with ?pretty and escapes HTML as Go does', async () => {
    const answer = await tork.request('GET', '/health?pretty');
    expect(answer.text).toBe('{\n  "status": "UP",\n  "version": "test"\n}\n');
    const created = await submit(minimal({ description: 'a < b & c > d' }));
    const job = await tork.request('GET', `/jobs/${created.body.id as string}`);
    expect(job.text).toContain('"description":"a \\u003c b \\u0026 c \\u003e d"');
  });

  it('answers unknown paths 404 and known paths with another method 405 (checks 3, 28)', async () => {
    expect(await tork.request('GET', '/tasks/1/nosuch')).toMatchObject({ status: 404, text: '{"message":"Not Found"}\n' });
    expect(await tork.request('GET', '/jobs/x/tasks')).toMatchObject({ status: 404, text: '{"message":"Not Found"}\n' });
    // /task (singular) is no Tork path at all: barge's own 404 answers it.
    expect((await tork.request('GET', '/task/1')).status).toBe(404);
    expect((await tork.request('GET', '/stats')).status).toBe(404);
    expect(await tork.request('DELETE', `/jobs/${newId()}`)).toMatchObject({ status: 405, text: '{"message":"Method Not Allowed"}\n' });
    expect(await tork.request('GET', '/users')).toMatchObject({ status: 405, text: '{"message":"Method Not Allowed"}\n' });
    expect((await tork.request('POST', '/health')).status).toBe(405);
  });

  it('keeps barge’s own error shapes under /v1', async () => {
    const v1 = await tork.json<{ error: string }>('GET', '/v1/jobs');
    expect(v1.status).toBe(401);
    expect(v1.body.error).toBe('BARGE_E_UNAUTHORIZED');
    const missing = await tork.json<{ error: string }>('GET', '/v1/nosuch');
    expect(missing.body.error).toBe('BARGE_E_NOT_FOUND');
  });

  it('refuses bodies over 500K with 413', async () => {
    const big = JSON.stringify(minimal({ description: 'x'.repeat(600 * 1024) }));
    expect(await tork.request('POST', '/jobs', { body: big, headers: { 'content-type': 'application/json' } })).toMatchObject({
      status: 413,
      text: '{"message":"Request Entity Too Large"}\n',
    });
  });

  it('gives every error body exactly one message key (check 28)', async () => {
    for (const [method, path] of [['GET', `/jobs/${newId()}`], ['PUT', `/jobs/${newId()}/cancel`], ['GET', '/jobs?page=x'], ['GET', `/tasks/${newId()}`]]) {
      const { body } = await tork.json(method, path);
      expect(Object.keys(body)).toEqual(['message']);
    }
  });
});

describe('POST /jobs decoding', () => {
  it('accepts a JSON job and answers a PENDING summary at position 0 (check 5)', async () => {
    const answer = await tork.request('POST', '/jobs', {
      body: JSON.stringify({ name: 'test job', tasks: [{ name: 'test task', image: 'some:image' }] }),
      headers: { 'content-type': 'application/json' },
    });
    expect(answer.status).toBe(200);
    expect(answer.text.endsWith('}\n')).toBe(true);
    const body = JSON.parse(answer.text) as Record<string, unknown>;
    expect(body).toMatchObject({ name: 'test job', state: 'PENDING', position: 0, taskCount: 1 });
    expect(body.id).toMatch(/^[0-9a-f]{32}$/);
    expect(body).not.toHaveProperty('message');
  });

  it('refuses unknown fields in JSON and YAML (check 6)', async () => {
    expect(await submit(minimal({}, { nosuch: 1 }))).toEqual({ status: 400, body: { message: 'json: unknown field "nosuch"' } });
    const yaml = 'name: test job\ntasks:\n  - name: test task\n    nosuch: 1\n';
    expect(await submit(yaml, 'text/yaml')).toEqual({
      status: 400,
      body: { message: 'yaml: unmarshal errors:\n  line 4: field nosuch not found in type input.Task' },
    });
    // barge-only fields are unknown to Tork's decoder.
    for (const field of [{ lua: 'return 1' }, { args: ['a'] }, { needs: ['x'] }, { network: true }]) {
      expect((await submit(minimal({}, field))).status).toBe(400);
    }
    expect(await submit(minimal({ queue: 'q' }))).toEqual({ status: 400, body: { message: 'json: unknown field "queue"' } });
  });

  it('chooses the decoder by Content-Type (check 7, §11 #3)', async () => {
    const text = JSON.stringify(minimal());
    expect(await tork.request('POST', '/jobs', { body: text })).toMatchObject({ status: 400, text: '{"message":"missing content type"}\n' });
    expect(await submit(text, 'text/plain')).toEqual({ status: 400, body: { message: 'unknown content type: text/plain' } });
    expect(await submit(text, 'application/x-www-form-urlencoded')).toEqual({
      status: 400,
      body: { message: 'unknown content type: application/x-www-form-urlencoded' },
    });
    expect((await submit(text, 'application/json; charset=utf-8')).status).toBe(200);
    expect((await submit(text, 'Application/JSON')).status).toBe(200);
    for (const yamlType of ['text/yaml', 'application/x-yaml', 'application/yaml']) {
      expect((await submit('name: y\ntasks:\n  - name: t\n    queue: nowhere\n', yamlType)).status).toBe(200);
    }
  });

  it('accepts a YAML job (check 8) with scalars as strings', async () => {
    const yaml = 'name: yaml job\ninputs:\n  count: 5\n  flag: true\ntasks:\n  - name: t\n    queue: nowhere\n    limits:\n      cpus: .5\n';
    const created = await submit(yaml, 'text/yaml');
    expect(created.status).toBe(200);
    const { body } = await tork.json<{ inputs: Record<string, string>; tasks: Array<{ limits: unknown }> }>('GET', `/jobs/${created.body.id as string}`);
    expect(body.inputs).toEqual({ count: '5', flag: 'true' });
    expect(body.tasks[0].limits).toEqual({ cpus: '.5' });
  });

  it('answers Go’s decode errors', async () => {
    expect(await submit('', 'application/json')).toEqual({ status: 400, body: { message: 'EOF' } });
    expect(await submit('', 'text/yaml')).toEqual({ status: 400, body: { message: 'EOF' } });
    expect(await submit(minimal({ inputs: { n: 1 } }))).toEqual({
      status: 400,
      body: { message: 'json: cannot unmarshal number into Go struct field Job.inputs of type string' },
    });
    expect(await submit(minimal({}, { env: { A: 1 } }))).toEqual({
      status: 400,
      body: { message: 'json: cannot unmarshal number into Go struct field Task.tasks.env of type string' },
    });
    expect(await submit(minimal({}, { retry: { limit: 1.5 } }))).toEqual({
      status: 400,
      body: { message: 'json: cannot unmarshal number 1.5 into Go struct field Retry.tasks.retry.limit of type int' },
    });
    expect(await submit({ name: 'x', tasks: 'no' })).toEqual({
      status: 400,
      body: { message: 'json: cannot unmarshal string into Go struct field Job.tasks of type []input.Task' },
    });
    expect((await submit('{"name": ', 'application/json')).body).toEqual({ message: 'unexpected EOF' });
    // A body cut short inside a string, and the classes tork-web shows its users (issue 14 #2, #10).
    expect((await submit('{"name":"x","tasks":[{"name":"t', 'application/json')).body).toEqual({ message: 'unexpected EOF' });
    expect((await submit('{"name":"x",}', 'application/json')).body).toEqual({
      message: "invalid character '}' looking for beginning of object key string",
    });
    expect((await submit('{"name":"x","tasks":[{"name":"t","priority":12345678901234567890}]}', 'application/json')).body).toEqual({
      message: 'json: cannot unmarshal number 12345678901234567890 into Go struct field Task.tasks.priority of type int',
    });
    // yaml.v3 refuses an alias without an anchor (issue 14 #1) and words syntax errors as libyaml does (#3).
    expect(await submit('name: x\ntasks:\n  - name: t\n    run: *nope\n', 'text/yaml')).toEqual({
      status: 400,
      body: { message: "yaml: unknown anchor 'nope' referenced" },
    });
    expect((await submit('name: x\ntasks:\n  - name: t\n    run: echo a: b\n', 'text/yaml')).body).toEqual({
      message: 'yaml: line 4: mapping values are not allowed in this context',
    });
    const yaml = 'name: x\ntasks:\n  - name: t\n    retry:\n      limit: many\n    cmd: oops\n';
    expect((await submit(yaml, 'text/yaml')).body).toEqual({
      message: 'yaml: unmarshal errors:\n  line 5: cannot unmarshal !!str `many` into int\n  line 6: cannot unmarshal !!str `oops` into []string',
    });
  });

  it('matches JSON keys case-insensitively, as Go does', async () => {
    expect((await submit({ Name: 'upper', Tasks: [{ NAME: 't', queue: 'nowhere' }] })).status).toBe(200);
  });

  it('answers validation failures with validator lines (check 9)', async () => {
    const { status, body } = await submit({ tasks: [{ name: 't' }] });
    expect(status).toBe(400);
    expect(body.message).toBe("Key: 'Job.Name' Error:Field validation for 'Name' failed on the 'required' tag");
    const many = await submit({ tasks: [{}, { name: 'ok', retry: { limit: 11 } }] });
    expect(many.body.message).toBe(
      [
        "Key: 'Job.Name' Error:Field validation for 'Name' failed on the 'required' tag",
        "Key: 'Job.Tasks[0].Name' Error:Field validation for 'Name' failed on the 'required' tag",
        "Key: 'Job.Tasks[1].Retry.Limit' Error:Field validation for 'Limit' failed on the 'max' tag",
      ].join('\n'),
    );
  });
});

describe('validation rules (checks 29–35)', () => {
  const cases: Array<[string, unknown, number, string?]> = [
    ['minimal job', minimal(), 200],
    ['job without tasks', { name: 'x' }, 400, "'Job.Tasks'"],
    ['job with an empty task list', { name: 'x', tasks: [] }, 400, "failed on the 'min' tag"],
    ['task without name', { name: 'x', tasks: [{ image: 'a' }] }, 400, "'Job.Tasks[0].Name'"],
    ['task without image', { name: 'x', tasks: [{ name: 't', queue: 'nowhere' }] }, 200],
    ['queue urgent', minimal({}, { queue: 'urgent' }), 200],
    ['exclusive queue', minimal({}, { queue: 'x-788222' }), 400, "'Job.Tasks[0].Queue' Error:Field validation for 'Queue' failed on the 'queue' tag"],
    ['coordinator queue', minimal({}, { queue: 'jobs' }), 400, "'queue' tag"],
    ['var of 64', minimal({}, { var: 'v'.repeat(64) }), 200],
    ['var of 65', minimal({}, { var: 'v'.repeat(65) }), 400, "'Job.Tasks[0].Var' Error:Field validation for 'Var' failed on the 'max' tag"],
    ['defaults timeout', minimal({ defaults: { timeout: 'forever' } }), 400, "'Job.Defaults.Timeout' Error:Field validation for 'Timeout' failed on the 'duration' tag"],
    ['retry limit 0', minimal({}, { retry: { limit: 0 } }), 400, "'Job.Tasks[0].Retry.Limit'"],
    ['retry limit 11', minimal({}, { retry: { limit: 11 } }), 400, "'max' tag"],
    ['retry limit 10', minimal({}, { retry: { limit: 10 } }), 200],
    [
      'parallel and each',
      { name: 'x', tasks: [{ name: 'p', parallel: { tasks: [{ name: 'a' }] }, each: { list: '[1]', task: { name: 'e' } } }] },
      400,
      "Key: 'Job.Tasks[0].each' Error:Field validation for 'each' failed on the 'paralleloreach' tag\nKey: 'Job.Tasks[0].parallel' Error:Field validation for 'parallel' failed on the 'paralleloreach' tag",
    ],
    ['each list 1+1', { name: 'x', tasks: [{ name: 'e', each: { list: '1+1', task: { name: 'i', queue: 'nowhere' } } }] }, 200],
    ['each list {{1+1}}', { name: 'x', tasks: [{ name: 'e', each: { list: '{{1+1}}', task: { name: 'i', queue: 'nowhere' } } }] }, 200],
    ['each list {1+1', { name: 'x', tasks: [{ name: 'e', each: { list: '{1+1', task: { name: 'i' } } }] }, 400, "'Job.Tasks[0].Each.List'"],
    ['each without task', { name: 'x', tasks: [{ name: 'e', each: { list: '[1]' } }] }, 400, "'Job.Tasks[0].Each.Task.Name'"],
    ['composite with image', { name: 'x', tasks: [{ name: 'p', image: 'a', parallel: { tasks: [{ name: 'a' }] } }] }, 400, "'invalidcompositetask' tag"],
    ['sub-job webhook without url', { name: 'x', tasks: [{ name: 's', subjob: { name: 'sub', tasks: [{ name: 'a' }], webhooks: [{ event: 'job.StateChange' }] } }] }, 400, "'Job.Tasks[0].SubJob.Webhooks[0].URL'"],
    ['volume mount with source', minimal({}, { mounts: [{ type: 'volume', source: '/a', target: '/b' }] }), 400, "'Job.Tasks[0].Mounts[0].mount' Error:Field validation for 'mount' failed on the 'sourcenotempty' tag"],
    ['bind mount without source', minimal({}, { mounts: [{ type: 'bind', target: '/b' }] }), 400, "'sourcerequired' tag"],
    ['mount on /tork', minimal({}, { mounts: [{ type: 'volume', target: '/tork' }] }), 400, "'invalidtarget' tag"],
    ['mount source with odd characters', minimal({}, { mounts: [{ type: 'bind', source: '/a;b', target: '/b' }] }), 400, "'invalidsource' tag"],
    ['permission of an unknown user', minimal({ permissions: [{ user: 'nobody' }] }), 400, "'invalidusername' tag"],
    ['permission of a known user', minimal({ permissions: [{ user: 'alice' }] }), 200],
    ['wait without timeout', minimal({ wait: {} }), 400, "'Job.Wait.Timeout'"],
    ['priority 10', minimal({}, { priority: 10 }), 400, "'Job.Tasks[0].Priority'"],
    ['if that does not compile', minimal({}, { if: '{{ 1 + }}' }), 400, "'Job.Tasks[0].If'"],
  ];
  it.each(cases)('%s', async (_name, body, status, message) => {
    const answer = await submit(body);
    expect(answer.status, JSON.stringify(answer.body)).toBe(status);
    if (message) expect(answer.body.message).toContain(message);
  });
});

describe('nodes, queues, metrics, health', () => {
  const node = (overrides: Partial<NodeRow>): NodeRow => ({
    id: newId(),
    name: 'Worker',
    role: 'worker',
    hostname: 'host-1',
    version: '0.1.153',
    startedAt: new Date().toISOString(),
    lastHeartbeatAt: new Date().toISOString(),
    cpuPercent: 10,
    cpus: 2,
    memoryMb: 1024,
    usedCpus: 0,
    usedMemoryMb: 0,
    queues: ['default'],
    status: 'UP',
    info: {},
    ...overrides,
  });

  it('lists only nodes heard from lately (check 21)', async () => {
    const fresh = node({ name: 'a-fresh' });
    const stale = node({ name: 'a-stale', lastHeartbeatAt: new Date(Date.now() - 3_600_000).toISOString() });
    await tork.engine.store.nodeUpsert(fresh);
    await tork.engine.store.nodeUpsert(stale);
    const { status, body } = await tork.json<Array<{ id: string; status: string; version: string; startedAt: string; lastHeartbeatAt: string }>>('GET', '/nodes');
    expect(status).toBe(200);
    const ids = body.map((n) => n.id);
    expect(ids).toContain(fresh.id);
    expect(ids).not.toContain(stale.id);
    expect(body.find((n) => n.id === fresh.id)).toMatchObject({ status: 'UP', version: '0.1.153' });
  });

  it('gives nodes that run work Tork’s worker queue, and the port of a node that serves the API (issue 14 #9)', async () => {
    const worker = node({ name: 'b-worker', info: { port: 8001 } });
    const server = node({ name: 'b-server', role: 'server' });
    await tork.engine.store.nodeUpsert(worker);
    await tork.engine.store.nodeUpsert(server);
    const { body } = await tork.json<Array<Record<string, unknown>>>('GET', '/nodes');
    const shown = body.find((n) => n.id === worker.id);
    expect(shown).toMatchObject({ queue: `x-${worker.id}`, port: 8001, cpuPercent: 10 });
    expect(Object.keys(shown ?? {})).toEqual(['id', 'name', 'startedAt', 'cpuPercent', 'lastHeartbeatAt', 'queue', 'status', 'hostname', 'port', 'version']);
    const coordinator = body.find((n) => n.id === server.id);
    expect(coordinator).not.toHaveProperty('queue');
    expect(coordinator).not.toHaveProperty('port');
  });

  it('lists queues with their subscribers (check 22)', async () => {
    await tork.engine.store.nodeUpsert(node({ queues: ['some-queue'] }));
    const all = await tork.json<Array<{ name: string; size: number; subscribers: number; unacked: number }>>('GET', '/queues');
    expect(all.status).toBe(200);
    expect(all.body.find((q) => q.name === 'some-queue')).toMatchObject({ subscribers: 1, size: 0, unacked: 0 });
    const one = await tork.json('GET', '/queues/some-queue');
    expect(one).toEqual({ status: 200, body: { name: 'some-queue', size: 0, subscribers: 1, unacked: 0 } });
    expect(await tork.json('GET', '/queues/no-such-queue')).toEqual({ status: 404, body: { message: 'queue no-such-queue not found' } });
  });

  it('deletes a task queue by cancelling what waits in it', async () => {
    const created = await submit(minimal({}, { queue: 'doomed' }));
    expect((await tork.json('GET', '/queues/doomed')).body).toMatchObject({ size: 1 });
    // Deleting a queue is for admins: the guest (a tokenless caller) may not.
    expect(await tork.json('DELETE', '/queues/doomed')).toEqual({ status: 403, body: { message: 'Forbidden' } });
    const asAdmin = { headers: { authorization: `Bearer ${tork.tokens.admin}` } };
    expect(await tork.json('DELETE', '/queues/pending', asAdmin)).toEqual({ status: 400, body: { message: 'queue pending is not a task queue' } });
    expect(await tork.json('DELETE', '/queues/x-abc', asAdmin)).toEqual({ status: 400, body: { message: 'queue x-abc is not a task queue' } });
    expect(await tork.json('DELETE', '/queues/nothing-here', asAdmin)).toEqual({ status: 404, body: { message: 'queue nothing-here not found' } });
    expect(await tork.request('DELETE', '/queues/doomed', asAdmin)).toMatchObject({ status: 200, text: '' });
    const job = await tork.waitForJob(created.body.id as string, (j) => j.state === 'FAILED');
    expect(job.execution[0].state).toBe('CANCELLED');
  });

  it('answers metrics with all four numbers (check 26), or Prometheus text when asked', async () => {
    const { status, body } = await tork.json<{ jobs: { running: number }; tasks: { running: number }; nodes: { online: number; cpuPercent: number } }>('GET', '/metrics');
    expect(status).toBe(200);
    expect(typeof body.jobs.running).toBe('number');
    expect(typeof body.tasks.running).toBe('number');
    expect(body.nodes.online).toBeGreaterThanOrEqual(1);
    expect(typeof body.nodes.cpuPercent).toBe('number');
    const text = await tork.request('GET', '/metrics', { headers: { accept: 'text/plain;version=0.0.4' } });
    expect(text.status).toBe(200);
    expect(text.text).toContain('barge_jobs');
  });
});

describe('POST /users (check 27)', () => {
  it('creates users with Tork’s rules', async () => {
    const admin = { authorization: `Bearer ${tork.tokens.admin}` };
    // Creating users is for admins: the guest (a tokenless caller) may not.
    expect((await tork.json('POST', '/users', { body: { username: 'u1', password: 'secret' } })).status).toBe(403);
    expect(await tork.json('POST', '/users', { headers: admin, body: { username: ' ', password: 'x' } })).toEqual({
      status: 400,
      body: { message: 'must provide username' },
    });
    expect(await tork.json('POST', '/users', { headers: admin, body: { username: 'u1', password: '  ' } })).toEqual({
      status: 400,
      body: { message: 'must provide password' },
    });
    expect(await tork.json('POST', '/users', { headers: admin, body: { username: 'u1', password: 'p'.repeat(73) } })).toEqual({
      status: 400,
      body: { message: 'invalid password' },
    });
    const created = await tork.json<Record<string, unknown>>('POST', '/users', { headers: admin, body: { username: 'u1', password: 'secret', name: 'User One', extra: 1 } });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ username: 'u1', name: 'User One' });
    expect(created.body).not.toHaveProperty('password');
    expect(created.body.id).toMatch(/^[0-9a-f]{32}$/);
    expect(await tork.json('POST', '/users', { headers: admin, body: { username: 'u1', password: 'other' } })).toEqual({
      status: 400,
      body: { message: 'user already exists' },
    });
    expect((await tork.engine.store.userGetByName('u1'))?.role).toBe('user');
  });

  it('answers json.Unmarshal’s texts for bodies it cannot read', async () => {
    const admin = { authorization: `Bearer ${tork.tokens.admin}`, 'content-type': 'application/json' };
    const post = async (body: string): Promise<unknown> => (await tork.json('POST', '/users', { headers: admin, body })).body;
    expect(await post('')).toEqual({ message: 'unexpected end of JSON input' });
    expect(await post('{"username":"u2"')).toEqual({ message: 'unexpected end of JSON input' });
    expect(await post('{"username":"u2",}')).toEqual({ message: "invalid character '}' looking for beginning of object key string" });
    expect(await post('{"username":"u2","password":"p"} x')).toEqual({ message: "invalid character 'x' after top-level value" });
    expect(await post('{"username":7}')).toEqual({ message: 'json: cannot unmarshal number into Go struct field User.username of type string' });
    expect(await post('[]')).toEqual({ message: 'json: cannot unmarshal array into Go value of type tork.User' });
  });
});

describe('authentication', () => {
  let locked: TorkUnderTest;

  beforeAll(async () => {
    locked = await startTork({ open: false, worker: false });
  });

  afterAll(async () => {
    await locked?.close();
  });

  it('puts barge’s tokens in front, with echo’s key-auth answers; health stays public', async () => {
    expect((await locked.request('GET', '/health')).status).toBe(200);
    expect(await locked.json('GET', '/jobs')).toEqual({ status: 400, body: { message: 'missing key in request header' } });
    expect(await locked.json('GET', '/jobs', { headers: { authorization: 'Basic abc' } })).toEqual({
      status: 400,
      body: { message: 'invalid key in the request header' },
    });
    expect(await locked.json('GET', '/jobs', { headers: { authorization: 'Bearer wrong' } })).toEqual({
      status: 401,
      body: { message: 'Unauthorized' },
    });
    const ok = await locked.json('GET', '/jobs', { headers: { authorization: `bearer ${locked.tokens.alice}` } });
    expect(ok.status).toBe(200);
  });

  it('shows each user their own jobs; admins see all; users are created by admins only', async () => {
    const as = (who: 'admin' | 'alice') => ({ authorization: `Bearer ${locked.tokens[who]}` });
    const mine = await locked.json<{ id: string }>('POST', '/jobs', { body: minimal(), headers: as('alice') });
    const theirs = await locked.json<{ id: string }>('POST', '/jobs', { body: minimal(), headers: as('admin') });
    const listed = await locked.json<{ items: Array<{ id: string; createdBy: { username: string } }> }>('GET', '/jobs', { headers: as('alice') });
    expect(listed.body.items.map((j) => j.id)).toEqual([mine.body.id]);
    expect(listed.body.items[0].createdBy).toMatchObject({ username: 'alice' });
    expect((await locked.json('GET', `/jobs/${theirs.body.id}`, { headers: as('alice') })).status).toBe(404);
    expect((await locked.json<{ totalItems: number }>('GET', '/jobs', { headers: as('admin') })).body.totalItems).toBe(2);
    expect(await locked.json('POST', '/users', { body: { username: 'x', password: 'y' }, headers: as('alice') })).toEqual({
      status: 403,
      body: { message: 'Forbidden' },
    });
  });
});

describe('route group switches (check 2)', () => {
  it('answers 404 on a switched-off group', async () => {
    const trimmed = await startTork({ worker: false, endpoints: { health: false, users: false } });
    try {
      expect(await trimmed.request('GET', '/health')).toMatchObject({ status: 404, text: '{"message":"Not Found"}\n' });
      expect((await trimmed.request('POST', '/users', { body: { username: 'a', password: 'b' } })).status).toBe(404);
      expect((await trimmed.request('GET', '/jobs')).status).toBe(200);
    } finally {
      await trimmed.close();
    }
  });
});

describe('health when the store is down (check 1)', () => {
  it('answers 503 DOWN once the store is closed', async () => {
    const doomed = await startTork({ worker: false });
    try {
      await doomed.db.store.close();
      expect(await doomed.request('GET', '/health')).toMatchObject({ status: 503, text: '{"status":"DOWN","version":"test"}\n' });
    } finally {
      await doomed.close();
    }
  });
});
