/**
 * srtslurm's status API as a collector, over real HTTP on loopback (reference §11, checks 1–18,
 * 20–25): lifecycles, idempotent and late creates, merge rules, paging and filters, event feeds,
 * every 4xx shape, and both token roles on barge's accounts (a user's token writes, a viewer's reads).
 * One server for the file; each test uses job ids of its own, and the list tests a cluster of their own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, createUser } from '../../../src/api/auth/index.js';
import { startApi, type ApiUnderTest } from '../../api/helpers.js';

const NOW = '2026-01-01T00:00:00Z';
let api: ApiUnderTest;
let viewer: string;

type Body = Record<string, unknown>;

async function request(method: string, path: string, options: { body?: unknown; token?: string | null; raw?: string } = {}) {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? api.tokens.alice : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${api.url}${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as Body, headers: response.headers };
}

const create = (jobId: string, extra: Body = {}, token?: string | null) =>
  request('POST', '/api/jobs', { body: { job_id: jobId, job_name: `name-${jobId}`, submitted_at: NOW, ...extra }, token });
const update = (jobId: string, body: Body, token?: string | null) =>
  request('PUT', `/api/jobs/${jobId}`, { body: { updated_at: NOW, ...body }, token });
const detail = async (jobId: string) => (await request('GET', `/api/jobs/${jobId}`)).body;
const triples = (job: Body) => (job.events as Body[]).map((e) => [e.status, e.stage, e.message]);

// Both stores: the PostgreSQL one takes turns per job id with an advisory lock.
describe.each(['sqlite', 'postgres'] as const)('on %s', (kind) => {
  beforeAll(async () => {
    api = await startApi({ srtslurm: { open: false }, store: kind });
    const user = await createUser(api.bundle.engine.store, { name: 'dashboard', role: 'viewer' });
    viewer = await createToken(api.bundle.engine.store, user.id);
  });
  afterAll(() => api.close());

  describe('the core contract', () => {
    it('records a full lifecycle', async () => {
      const posted = await create('99999', {
        cluster: 'ptyche',
        recipe: 'recipes/qwen3-32b/disagg-kv-sglang.yaml',
        metadata: { tags: ['nightly', 'disagg'] },
      });
      expect(posted).toMatchObject({ status: 201, body: { job_id: '99999', status: 'submitted' } });
      const steps: Array<[string, string]> = [
        ['starting', 'starting'],
        ['starting', 'head_infrastructure'],
        ['workers', 'workers'],
        ['frontend', 'frontend'],
        ['benchmark', 'benchmark'],
        ['completed', 'cleanup'],
      ];
      for (const [status, stage] of steps) {
        const extra = status === 'completed' ? { exit_code: 0, completed_at: '2026-01-01T01:00:00Z' } : {};
        const answer = await update('99999', { status, stage, ...extra });
        expect(answer).toMatchObject({ status: 200, body: { job_id: '99999', status } });
      }
      const job = await detail('99999');
      expect(job).toMatchObject({ status: 'completed', exit_code: 0, completed_at: '2026-01-01T01:00:00Z', cluster: 'ptyche' });
      expect(job.metadata).toEqual({ tags: ['nightly', 'disagg'] });
      expect(triples(job).map(([status, stage]) => [status, stage])).toEqual([['submitted', null], ...steps]);
      const ids = (job.events as Body[]).map((e) => e.id as number);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
    });

    it('records a failure lifecycle', async () => {
      expect((await create('778')).status).toBe(201);
      for (const body of [
        { status: 'workers', stage: 'workers', message: 'Starting workers' },
        { status: 'failed', stage: 'workers', message: 'Workers failed health check' },
        { status: 'failed', stage: 'cleanup', message: 'Job failed with exit code 1', exit_code: 1 },
      ]) {
        expect((await update('778', body)).status).toBe(200);
      }
      const job = await detail('778');
      expect(job).toMatchObject({ status: 'failed', exit_code: 1, message: 'Job failed with exit code 1', logs_url: null });
      expect((job.events as Body[]).map((e) => e.status)).toEqual(['submitted', 'workers', 'failed', 'failed']);
    });

    it('accepts a minimal create, keeps exit code 0, takes metadata on updates and defaults updated_at to now', async () => {
      expect((await request('POST', '/api/jobs', { body: { job_id: 'min-1', job_name: 'm', submitted_at: NOW } })).status).toBe(201);
      expect((await update('min-1', { status: 'completed', exit_code: 0, metadata: { k: 'v' } })).status).toBe(200);
      const job = await detail('min-1');
      expect(job).toMatchObject({ exit_code: 0, metadata: { k: 'v' } });
      const before = Date.now();
      expect((await request('PUT', '/api/jobs/min-1', { body: { status: 'completed', message: 'again' } })).status).toBe(200);
      expect(Date.parse((await detail('min-1')).updated_at as string)).toBeGreaterThanOrEqual(before - 1_000);
    });
  });

  describe('the reference collector', () => {
    it('answers health without a token, with and without a trailing slash, and no other method', async () => {
      expect(await request('GET', '/api/health', { token: null })).toMatchObject({ status: 200, body: { status: 'ok' } });
      expect((await request('GET', '/api/health/', { token: null })).status).toBe(200);
      expect((await request('POST', '/api/health')).status).toBe(404);
      expect((await request('GET', '/api/jobs/')).status).toBe(200);
    });

    it('makes a repeated create idempotent: current status, no new event, identity kept', async () => {
      await create('idem-1', { cluster: 'c1' });
      await update('idem-1', { status: 'workers' });
      const again = await create('idem-1', { job_name: 'another', cluster: 'c2' });
      expect(again).toMatchObject({ status: 201, body: { job_id: 'idem-1', status: 'workers' } });
      const job = await detail('idem-1');
      expect(job).toMatchObject({ job_name: 'name-idem-1', cluster: 'c1', status: 'workers' });
      expect(job.events).toHaveLength(2);
    });

    it('adds an event for a new message but not for a metadata-only patch', async () => {
      await create('msg-1');
      await update('msg-1', { status: 'benchmark', stage: 'benchmark', message: 'Running benchmark' });
      await update('msg-1', { status: 'benchmark', stage: 'benchmark', message: 'Running post-benchmark evaluation' });
      await update('msg-1', { status: 'benchmark', stage: 'benchmark', message: 'Running post-benchmark evaluation', metadata: { x: 1 } });
      const job = await detail('msg-1');
      expect((job.events as Body[]).map((e) => e.message)).toEqual([null, 'Running benchmark', 'Running post-benchmark evaluation']);
      expect(job.metadata).toEqual({ x: 1 });
    });

    it('merges metadata and artifacts shallowly and replaces benchmark results', async () => {
      await create('merge-1', { metadata: { tags: ['a'], nested: { a: 1 } } });
      await update('merge-1', { status: 'benchmark', artifacts: { rollup: 'r.json' }, benchmark_results: { tp: 1, old: true } });
      await update('merge-1', { status: 'completed', artifacts: { dashboard: 'd.html' }, metadata: { model: 'm', nested: { b: 2 } }, benchmark_results: { tp: 2 } });
      const job = await detail('merge-1');
      expect(job.artifacts).toEqual({ rollup: 'r.json', dashboard: 'd.html' });
      expect(job.metadata).toEqual({ tags: ['a'], nested: { b: 2 }, model: 'm' });
      expect(job.benchmark_results).toEqual({ tp: 2 });
    });

    it('refuses unknown statuses and stages, storing nothing, and accepts preflight and timeout', async () => {
      const status = await update('enum-1', { status: 'exploded' });
      expect(status.status).toBe(422);
      expect(status.body.detail).toContain('exploded');
      const stage = await update('enum-1', { status: 'workers', stage: 'lunch' });
      expect(stage.status).toBe(422);
      expect(stage.body.detail).toContain('lunch');
      expect((await request('GET', '/api/jobs/enum-1')).status).toBe(404);
      expect((await update('enum-1', { status: 'starting', stage: 'preflight' })).status).toBe(200);
      expect(triples(await detail('enum-1'))).toEqual([['starting', 'preflight', null]]);
      expect((await update('enum-1', { status: 'timeout' })).status).toBe(200);
    });

    it('answers validation errors with 422 and Pydantic-style details', async () => {
      const empty = await request('POST', '/api/jobs', { body: {} });
      expect(empty.status).toBe(422);
      expect((empty.body.detail as Body[]).map((e) => e.loc)).toEqual([
        ['body', 'job_id'],
        ['body', 'job_name'],
        ['body', 'submitted_at'],
      ]);
      expect((await request('POST', '/api/jobs', { body: { job_id: '1' } })).status).toBe(422);
      expect((await request('PUT', '/api/jobs/val-1')).status).toBe(422);
      const exitCode = await update('val-1', { status: 'workers', exit_code: 'x' });
      expect(exitCode.status).toBe(422);
      expect(exitCode.body.detail).toEqual([expect.objectContaining({ loc: ['body', 'exit_code'], type: 'int_parsing' })]);
      const wrongType = await request('POST', '/api/jobs', { body: { job_id: 12, job_name: 'x', submitted_at: NOW } });
      expect(wrongType.body.detail).toEqual([expect.objectContaining({ loc: ['body', 'job_id'], type: 'string_type' })]);
      expect((await request('GET', '/api/jobs/val-1')).status).toBe(404);
    });

    it('answers bad JSON with 400 and unknown things with 404, in the detail shape', async () => {
      const badJson = await request('POST', '/api/jobs', { raw: 'not json' });
      expect(badJson.status).toBe(400);
      expect(badJson.body.detail).toMatch(/^Body is not valid JSON: /);
      expect(await request('POST', '/api/jobs', { raw: '[1, 2]' })).toMatchObject({ status: 400, body: { detail: 'Body must be a JSON object' } });
      expect(await request('GET', '/api/nope')).toMatchObject({ status: 404, body: { detail: 'No route for GET /api/nope' } });
      expect(await request('GET', '/api/jobs/missing')).toMatchObject({ status: 404, body: { detail: 'Job not found' } });
      expect((await request('GET', '/api/jobs/missing/events')).status).toBe(404);
      expect((await request('DELETE', '/api/jobs/missing')).status).toBe(404);
      const answer = await request('GET', '/api/jobs/missing');
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    });

    it('lists newest first with filters and pages', async () => {
      await create('list-1', { cluster: 'list-a', submitted_at: '2026-01-01T00:00:01Z' });
      await create('list-2', { cluster: 'list-a', submitted_at: '2026-01-01T00:00:02Z' });
      await create('list-3', { cluster: 'list-b', submitted_at: '2026-01-01T00:00:03Z' });
      await update('list-2', { status: 'failed' });
      const everything = (await request('GET', '/api/jobs?per_page=100')).body;
      const ours = (everything.jobs as Body[]).filter((j) => String(j.job_id).startsWith('list-'));
      expect(ours.map((j) => j.job_id)).toEqual(['list-3', 'list-2', 'list-1']);
      expect(Object.keys(ours[0]).sort()).toEqual(
        ['job_id', 'job_name', 'status', 'stage', 'cluster', 'submitted_at', 'updated_at', 'message', 'completed_at', 'exit_code'].sort(),
      );
      expect((await request('GET', '/api/jobs?cluster=list-a')).body.total).toBe(2);
      const failed = (await request('GET', '/api/jobs?status=failed&cluster=list-a')).body;
      expect((failed.jobs as Body[]).map((j) => j.job_id)).toEqual(['list-2']);
      // A repeated parameter: the last value wins.
      const page = (await request('GET', '/api/jobs?cluster=list-b&cluster=list-a&per_page=1&page=2')).body;
      expect(page).toEqual({ jobs: [expect.objectContaining({ job_id: 'list-1' })], total: 2, page: 2, per_page: 1 });
      const beyond = (await request('GET', '/api/jobs?cluster=list-b&page=9')).body;
      expect(beyond).toEqual({ jobs: [], total: 1, page: 9, per_page: 50 });
      for (const query of ['per_page=0', 'per_page=101', 'page=abc', 'page=0']) {
        expect((await request('GET', `/api/jobs?${query}`)).status).toBe(422);
      }
      expect((await request('GET', '/api/jobs?page=abc')).body).toEqual({ detail: 'page must be an integer' });
    });

    it('serves event feeds with cursors', async () => {
      await create('feed-1');
      await update('feed-1', { status: 'starting' });
      await create('feed-2');
      await update('feed-1', { status: 'workers' });
      const all = (await request('GET', '/api/events?limit=1000')).body;
      const ours = (all.events as Body[]).filter((e) => String(e.job_id).startsWith('feed-'));
      expect(ours.map((e) => [e.job_id, e.status])).toEqual([
        ['feed-1', 'submitted'],
        ['feed-1', 'starting'],
        ['feed-2', 'submitted'],
        ['feed-1', 'workers'],
      ]);
      const ids = ours.map((e) => e.id as number);
      const resumed = (await request('GET', `/api/events?after=${ids[1]}`)).body;
      expect((resumed.events as Body[]).filter((e) => String(e.job_id).startsWith('feed-')).map((e) => e.status)).toEqual(['submitted', 'workers']);
      const last = (await request('GET', '/api/events?limit=1000')).body.next_cursor as number;
      expect((await request('GET', `/api/events?after=${last}`)).body).toEqual({ events: [], next_cursor: last });
      expect(((await request('GET', '/api/events?job_id=feed-2')).body.events as Body[]).map((e) => e.job_id)).toEqual(['feed-2']);
      const perJob = (await request('GET', '/api/jobs/feed-1/events')).body;
      expect(perJob.job_id).toBe('feed-1');
      expect((perJob.events as Body[]).map((e) => e.status)).toEqual(['submitted', 'starting', 'workers']);
      const limited = (await request('GET', '/api/jobs/feed-1/events?limit=1')).body;
      expect(limited.next_cursor).toBe(ids[0]);
      const next = (await request('GET', `/api/jobs/feed-1/events?after=${ids[0]}`)).body;
      expect((next.events as Body[])[0].status).toBe('starting');
      expect((await request('GET', '/api/events?after=-1')).status).toBe(422);
      expect((await request('GET', '/api/events?limit=1001')).status).toBe(422);
    });

    it('deletes a job with its events', async () => {
      await create('del-1');
      await update('del-1', { status: 'workers' });
      expect(await request('DELETE', '/api/jobs/del-1')).toMatchObject({ status: 200, body: { deleted: true, job_id: 'del-1' } });
      expect((await request('GET', '/api/jobs/del-1')).status).toBe(404);
      expect((await request('GET', '/api/events?job_id=del-1')).body.events).toEqual([]);
    });

    it('loses no event under concurrent writers', async () => {
      await create('shared');
      const writers = 8;
      const updates = 10;
      const codes = (
        await Promise.all(
          Array.from({ length: writers }, async (_, index) => {
            const mine: number[] = [];
            for (let step = 0; step < updates; step += 1) {
              mine.push((await update('shared', { status: 'benchmark', message: `w${index}-${step}` })).status);
              mine.push((await update(`own-${index}`, { status: 'workers', message: String(step) })).status);
            }
            return mine;
          }),
        )
      ).flat();
      expect(new Set(codes)).toEqual(new Set([200]));
      expect((await detail('shared')).events).toHaveLength(1 + writers * updates);
      expect((await request('GET', '/api/jobs/own-3/events')).body.events).toHaveLength(updates);
    });

    it('makes a placeholder when the create was lost, and a late create completes it without rewinding', async () => {
      const started = '2026-01-01T00:05:00Z';
      await update('779', { status: 'starting', stage: 'starting', message: 'Job started on node-01', started_at: started, metadata: { head_node: 'node-01' } });
      let job = await detail('779');
      expect(job).toMatchObject({ job_name: 'job-779', status: 'starting', submitted_at: started, started_at: started, cluster: null });
      expect((job.events as Body[]).map((e) => e.status)).toEqual(['starting']);
      const late = await create('779', { cluster: 'sa-x', recipe: 'r.yaml', submitted_at: '2026-01-01T00:00:00Z', metadata: { tags: ['t'] } });
      expect(late).toMatchObject({ status: 201, body: { job_id: '779', status: 'starting' } });
      job = await detail('779');
      expect(job).toMatchObject({ job_name: 'name-779', cluster: 'sa-x', recipe: 'r.yaml', submitted_at: '2026-01-01T00:00:00Z', status: 'starting' });
      expect(job.metadata).toEqual({ tags: ['t'], head_node: 'node-01' });
      expect(job.events).toHaveLength(1);
      // A later "submit time" never moves it forward.
      await create('779', { submitted_at: '2026-01-01T09:00:00Z' });
      expect((await detail('779')).submitted_at).toBe('2026-01-01T00:00:00Z');
    });

    it('names a placeholder from a started report, and never renames a created job from metadata', async () => {
      await update('781', { status: 'starting', metadata: { job_name: 'from-report', cluster: 'sa-y' } });
      expect(await detail('781')).toMatchObject({ job_name: 'from-report', cluster: 'sa-y' });
      await create('781', { job_name: 'late-name', cluster: 'other', recipe: 'r3.yaml' });
      expect(await detail('781')).toMatchObject({ job_name: 'from-report', cluster: 'sa-y', recipe: 'r3.yaml' });
      await create('782', { job_name: 'posted', cluster: 'sa-z' });
      await update('782', { status: 'starting', metadata: { job_name: 'other', cluster: 'elsewhere' } });
      expect(await detail('782')).toMatchObject({ job_name: 'posted', cluster: 'sa-z' });
    });

    it('refuses a body over 1 MiB before reading it, storing nothing', async () => {
      const { request: httpRequest } = await import('node:http');
      const { port } = new URL(api.url);
      const answer = await new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, method: 'PUT', path: '/api/jobs/big-1', headers: {
          'content-type': 'application/json',
          'content-length': String(1_048_577),
          authorization: `Bearer ${api.tokens.alice}`,
        } }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
        });
        req.on('error', reject);
        req.flushHeaders();
      });
      expect(answer).toEqual({ status: 413, connection: 'close', body: JSON.stringify({ detail: 'Body larger than 1048576 bytes' }) });
      expect((await request('GET', '/api/jobs/big-1')).status).toBe(404);
    });

    it('makes the jobs ordinary barge jobs of origin srtslurm, visible in /v1', async () => {
      await create('v1-1', { cluster: 'c' });
      await update('v1-1', { status: 'benchmark', stage: 'benchmark', message: 'Running benchmark' });
      const list = await api.json<{ items: Array<{ id: string; name: string; origin: string; state: string }> }>('/v1/jobs?origin=srtslurm&limit=200');
      const job = list.body.items.find((item) => item.name === 'name-v1-1');
      expect(job).toMatchObject({ origin: 'srtslurm', state: 'RUNNING' });
      const events = await api.json<{ items: Array<{ kind: string; state: string; stage: string; message: string }> }>(`/v1/jobs/${job?.id}/events`);
      expect(events.body.items.map((e) => [e.kind, e.state, e.stage, e.message])).toEqual([
        ['status', 'submitted', null, null],
        ['status', 'benchmark', 'benchmark', 'Running benchmark'],
      ]);
    });
  });

  describe('bearer tokens', () => {
    it('lets only health through without a token, before parsing or routing', async () => {
      const denied = await request('GET', '/api/jobs', { token: null });
      expect(denied).toMatchObject({ status: 401, body: { detail: 'Bearer token required' } });
      expect(denied.headers.get('www-authenticate')).toBe('Bearer');
      for (const [method, path, raw] of [
        ['POST', '/api/jobs', JSON.stringify({ job_id: 'anon-1', job_name: 'x', submitted_at: NOW })],
        ['PUT', '/api/jobs/anon-1', JSON.stringify({ status: 'workers', updated_at: NOW })],
        ['DELETE', '/api/jobs/anon-1', undefined],
        ['GET', '/api/events', undefined],
        ['GET', '/api/jobs/anon-1/events', undefined],
        ['POST', '/api/jobs', 'not json'],
        ['GET', '/api/jobs/does-not-exist', undefined],
        ['GET', '/api/nope', undefined],
        ['GET', '/api/jobs?per_page=0', undefined],
      ] as const) {
        expect((await request(method, path, { token: null, raw })).status, `${method} ${path}`).toBe(401);
      }
      expect((await request('GET', '/api/jobs/anon-1')).status).toBe(404);
    });

    it('refuses wrong tokens, prefixes of tokens, other schemes and an empty bearer', async () => {
      const wrong = await request('GET', '/api/jobs', { token: 'nope' });
      expect(wrong).toMatchObject({ status: 401, body: { detail: 'Invalid bearer token' } });
      expect(wrong.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect((await request('GET', '/api/jobs', { token: api.tokens.alice.slice(0, -1) })).status).toBe(401);
      for (const authorization of [`Basic ${api.tokens.alice}`, 'Bearer ', 'Bearer']) {
        const response = await fetch(`${api.url}/api/jobs`, { headers: { authorization } });
        expect(response.status, authorization).toBe(401);
        expect(await response.json()).toEqual({ detail: 'Bearer token required' });
      }
    });

    it("lets a viewer's token read everything and change nothing", async () => {
      await create('read-1');
      expect((await request('GET', '/api/jobs', { token: viewer })).body.total).toBeGreaterThan(0);
      expect((await request('GET', '/api/jobs/read-1', { token: viewer })).status).toBe(200);
      expect((await request('GET', '/api/events', { token: viewer })).status).toBe(200);
      for (const answer of [
        await create('read-2', {}, viewer),
        await update('read-1', { status: 'workers' }, viewer),
        await request('DELETE', '/api/jobs/read-1', { token: viewer }),
      ]) {
        expect(answer).toMatchObject({ status: 403, body: { detail: 'The read token cannot modify jobs' } });
      }
      expect((await detail('read-1')).status).toBe('submitted');
      expect((await request('GET', '/api/jobs/read-2')).status).toBe(404);
    });

    it("lets a user's token do everything to its own jobs, and nothing to another user's", async () => {
      expect((await create('write-1', {}, api.tokens.bob)).status).toBe(201);
      expect((await update('write-1', { status: 'workers' }, api.tokens.bob)).status).toBe(200);
      expect((await request('GET', '/api/jobs/write-1/events', { token: api.tokens.bob })).status).toBe(200);
      const foreign = await update('write-1', { status: 'failed' });
      expect(foreign).toMatchObject({ status: 403, body: { detail: 'Job write-1 belongs to another user' } });
      expect((await update('write-1', { status: 'benchmark' }, api.tokens.admin)).status).toBe(200);
      expect((await request('DELETE', '/api/jobs/write-1', { token: api.tokens.bob })).status).toBe(200);
    });
  });
});
