/**
 * /v1/jobs over real HTTP, a real engine, worker and SQLite store: submit (JSON and YAML, ?wait),
 * list with filters and cursor paging, read, cancel, restart, delete, events, executions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hello, startApi, waitFor, type ApiUnderTest, type EventBody, type ExecutionBody, type JobBody, type Page } from './helpers.js';

let api: ApiUnderTest;

beforeAll(async () => {
  api = await startApi();
});

afterAll(async () => {
  await api?.close();
});

describe('POST /v1/jobs', () => {
  it('accepts a JSON spec: 201, Location, the job with tasks, counts and its owner', async () => {
    const { status, body, headers } = await api.json<JobBody>('/v1/jobs', { method: 'POST', body: hello('json job') });
    expect(status).toBe(201);
    expect(headers.get('location')).toBe(`/v1/jobs/${body.id}`);
    expect(body).toMatchObject({ name: 'json job', owner: 'alice', origin: 'v1', taskCount: 1 });
    expect(body.id).toMatch(/^[0-9a-f]{32}$/);
    expect(body.tasks).toHaveLength(1);
    expect(body.tasks?.[0]).toMatchObject({ name: 'say', position: 0 });
    expect(body.counts).toBeTypeOf('object');
    expect(body.spec).toMatchObject({ name: 'json job' });
  });

  it('accepts YAML under each YAML media type, charset included', async () => {
    const yaml = 'name: yaml job\ntasks:\n  - name: say\n    run: echo from yaml\n';
    for (const type of ['application/yaml', 'text/yaml', 'application/x-yaml; charset=utf-8']) {
      const { status, body } = await api.json<JobBody>('/v1/jobs', {
        method: 'POST',
        body: yaml,
        headers: { 'content-type': type },
      });
      expect(status, type).toBe(201);
      expect(body.name).toBe('yaml job');
    }
  });

  it('never echoes secrets: values redacted in the spec, absent from the job', async () => {
    const { status, body } = await api.json<JobBody>('/v1/jobs', {
      method: 'POST',
      body: {
        name: 'with secrets',
        secrets: { API_KEY: 'hunter2-top-secret' },
        tasks: [{ name: 'use', env: { KEY: '{{ secrets.API_KEY }}' }, run: 'test -n "$KEY"' }],
      },
    });
    expect(status).toBe(201);
    expect(JSON.stringify(body)).not.toContain('hunter2');
    expect(body.spec).toMatchObject({ secrets: { API_KEY: '[REDACTED]' } });
    expect(body).not.toHaveProperty('secrets');
    const again = await api.call(`/v1/jobs/${body.id}`);
    expect(await again.text()).not.toContain('hunter2');
  });

  it('?wait=30s answers 201 with the finished job', async () => {
    const { status, body } = await api.json<JobBody>('/v1/jobs?wait=30s', { method: 'POST', body: hello('waited') });
    expect(status).toBe(201);
    expect(body.state).toBe('SUCCEEDED');
    expect(body.progress).toBe(100);
    expect(body.counts).toEqual({ SUCCEEDED: 1 });
  });

  it('?wait that runs out answers 202 with the job as it is', async () => {
    const started = Date.now();
    const { status, body } = await api.json<JobBody>('/v1/jobs?wait=300ms', {
      method: 'POST',
      body: { name: 'slow', tasks: [{ name: 'nap', run: 'sleep 30' }] },
    });
    expect(status).toBe(202);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(['PENDING', 'RUNNABLE', 'RUNNING']).toContain(body.state);
    await api.call(`/v1/jobs/${body.id}/cancel`, { method: 'POST' });
  });

  it('refuses a bad ?wait before creating anything', async () => {
    const before = await api.bundle.engine.store.jobCount({});
    const { status, body } = await api.json('/v1/jobs?wait=soon', { method: 'POST', body: hello() });
    expect(status).toBe(400);
    expect(body.details).toEqual([expect.objectContaining({ path: 'wait' })]);
    expect(await api.bundle.engine.store.jobCount({})).toBe(before);
  });
});

describe('GET /v1/jobs/{id}, cancel, restart, delete', () => {
  it('reads a job with its tasks, counts and live progress', async () => {
    const job = await api.runJob({
      name: 'two steps',
      tasks: [
        { name: 'a', run: 'echo a' },
        { name: 'b', run: 'echo b' },
      ],
    });
    const { status, body } = await api.json<JobBody>(`/v1/jobs/${job.id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: job.id, state: 'SUCCEEDED', progress: 100, taskCount: 2 });
    expect(body.tasks?.map((t) => t.name)).toEqual(['a', 'b']);
    expect(body.tasks?.[1].needs).toEqual([body.tasks?.[0].id]);
    expect(body.counts).toEqual({ SUCCEEDED: 2 });
    expect(body.completedAt).toBeTruthy();
  });

  it('cancels a running job (200) and refuses to cancel it again (409)', async () => {
    const { body: job } = await api.json<JobBody>('/v1/jobs', {
      method: 'POST',
      body: { name: 'long', tasks: [{ name: 'nap', run: 'sleep 30' }] },
    });
    const cancelled = await api.json<JobBody>(`/v1/jobs/${job.id}/cancel`, { method: 'POST' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('CANCELLED');
    const again = await api.json(`/v1/jobs/${job.id}/cancel`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: 'BARGE_E_CONFLICT' });
    expect(again.body.message).toMatch(/CANCELLED/);
  });

  it('restarts a failed job (200) and refuses to restart a succeeded one (409)', async () => {
    const failed = await api.runJob({
      name: 'flaky',
      // Fails on its first attempt only: a restart is a new attempt.
      tasks: [{ name: 'once', run: '[ "$BARGE_ATTEMPT" -gt 1 ] || exit 3' }],
    });
    expect(failed.state).toBe('FAILED');
    const restarted = await api.json<JobBody>(`/v1/jobs/${failed.id}/restart`, { method: 'POST' });
    expect(restarted.status).toBe(200);
    expect(['RUNNING', 'SUCCEEDED']).toContain(restarted.body.state);
    expect((await api.bundle.engine.waitForJob(failed.id, 30_000)).state).toBe('SUCCEEDED');

    const ok = await api.runJob(hello('fine'));
    const refused = await api.json(`/v1/jobs/${ok.id}/restart`, { method: 'POST' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('BARGE_E_CONFLICT');
  });

  it('deletes a final job (204, then 404) and refuses an unfinished one (409)', async () => {
    const job = await api.runJob(hello('to delete'));
    const deleted = await api.call(`/v1/jobs/${job.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    expect((await api.call(`/v1/jobs/${job.id}`)).status).toBe(404);

    const { body: running } = await api.json<JobBody>('/v1/jobs', {
      method: 'POST',
      body: { name: 'busy', tasks: [{ name: 'nap', run: 'sleep 30' }] },
    });
    const refused = await api.json(`/v1/jobs/${running.id}`, { method: 'DELETE' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('BARGE_E_CONFLICT');
    await api.call(`/v1/jobs/${running.id}/cancel`, { method: 'POST' });
  });
});

describe('GET /v1/jobs', () => {
  let mine: string[];

  beforeAll(async () => {
    // 120 jobs for bob; the worker runs them meanwhile, which paging must not disturb.
    mine = [];
    for (let i = 0; i < 120; i += 1) {
      const { body } = await api.json<JobBody>('/v1/jobs', {
        method: 'POST',
        as: 'bob',
        body: { name: `page ${i}`, tags: i % 2 === 0 ? ['even'] : ['odd'], tasks: [{ name: 't', run: 'true' }] },
      });
      mine.push(body.id);
    }
  });

  it('pages 120 jobs newest first with an opaque cursor, every job exactly once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/v1/jobs?limit=50${cursor ? `&cursor=${cursor}` : ''}`;
      const { status, body } = await api.json<Page<JobBody>>(query, { as: 'bob' });
      expect(status).toBe(200);
      seen.push(...body.items.map((j) => j.id));
      cursor = body.nextCursor;
      pages += 1;
      if (cursor) expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...mine].reverse());
  });

  it('list items carry counts but not tasks or spec', async () => {
    const { body } = await api.json<Page<JobBody>>('/v1/jobs?limit=1', { as: 'bob' });
    expect(body.items[0]).toHaveProperty('counts');
    expect(body.items[0]).not.toHaveProperty('tasks');
    expect(body.items[0]).not.toHaveProperty('spec');
  });

  it('filters by tag, state, q and created range', async () => {
    const even = await api.json<Page<JobBody>>('/v1/jobs?tag=even&limit=1000', { as: 'bob' });
    expect(even.body.items).toHaveLength(60);
    expect(even.body.items.every((j) => j.tags.includes('even'))).toBe(true);

    await waitFor(async () => {
      const done = await api.json<Page<JobBody>>('/v1/jobs?state=succeeded&limit=1000', { as: 'bob' });
      return done.body.items.length === 120;
    }, 60_000);
    const none = await api.json<Page<JobBody>>('/v1/jobs?state=FAILED,CANCELLED', { as: 'bob' });
    expect(none.body.items).toEqual([]);

    const search = await api.json<Page<JobBody>>('/v1/jobs?q=page', { as: 'bob' });
    expect(search.body.items.length).toBeGreaterThan(0);

    const future = new Date(Date.now() + 3_600_000).toISOString();
    const later = await api.json<Page<JobBody>>(`/v1/jobs?createdAfter=${encodeURIComponent(future)}`, { as: 'bob' });
    expect(later.body.items).toEqual([]);
    const before = await api.json<Page<JobBody>>(`/v1/jobs?createdBefore=${encodeURIComponent(future)}&limit=1000`, { as: 'bob' });
    expect(before.body.items).toHaveLength(120);
  });

  it('shows owners only their own jobs; admins all, filtered by owner on request', async () => {
    const alice = await api.json<Page<JobBody>>('/v1/jobs?limit=1000');
    expect(alice.body.items.length).toBeGreaterThan(0);
    expect(alice.body.items.every((j) => j.owner === 'alice')).toBe(true);

    const all = await api.json<Page<JobBody>>('/v1/jobs?limit=1000', { as: 'admin' });
    expect(new Set(all.body.items.map((j) => j.owner))).toEqual(new Set(['alice', 'bob']));
    const bobs = await api.json<Page<JobBody>>('/v1/jobs?owner=bob&limit=1000', { as: 'admin' });
    expect(bobs.body.items).toHaveLength(120);

    const snooping = await api.json('/v1/jobs?owner=bob');
    expect(snooping.status).toBe(403);
    expect(snooping.body.error).toBe('BARGE_E_FORBIDDEN');
    const self = await api.json<Page<JobBody>>('/v1/jobs?owner=alice');
    expect(self.status).toBe(200);
  });

  it('refuses bad query parameters with 400 naming them', async () => {
    const cases: Array<[string, string]> = [
      ['/v1/jobs?state=RUNNING,BOGUS', 'state'],
      ['/v1/jobs?limit=0', 'limit'],
      ['/v1/jobs?limit=1001', 'limit'],
      ['/v1/jobs?limit=ten', 'limit'],
      ['/v1/jobs?cursor=not-a-cursor', 'cursor'],
      ['/v1/jobs?createdAfter=yesterday', 'createdAfter'],
    ];
    for (const [path, parameter] of cases) {
      const { status, body } = await api.json(path);
      expect(status, path).toBe(400);
      expect(body.error).toBe('BARGE_E_VALIDATION');
      expect(body.details?.map((d) => d.path), path).toContain(parameter);
    }
    const both = await api.json('/v1/jobs?limit=0&createdBefore=nope');
    expect(both.body.details?.map((d) => d.path).sort()).toEqual(['createdBefore', 'limit']);
  });
});

describe('GET /v1/jobs/{id}/events and /executions', () => {
  it('lists the history oldest first, paged by after', async () => {
    const job = await api.runJob(hello('history'));
    const { status, body } = await api.json<{ items: EventBody[] }>(`/v1/jobs/${job.id}/events`);
    expect(status).toBe(200);
    const states = body.items.filter((e) => e.kind === 'job.state').map((e) => e.state);
    expect(states.at(-1)).toBe('SUCCEEDED');
    const ids = body.items.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const rest = await api.json<{ items: EventBody[] }>(`/v1/jobs/${job.id}/events?after=${ids[0]}&limit=2`);
    expect(rest.body.items.map((e) => e.id)).toEqual(ids.slice(1, 3));
  });

  it('pages the executions of a 150-item array by cursor and filters by state', async () => {
    const job = await api.runJob({
      name: 'array',
      tasks: [{ name: 'items', each: { list: '{{ sequence(0, 150) }}', task: { name: 'item', run: 'true' } } }],
    });
    expect(job.state).toBe('SUCCEEDED');
    const seen: ExecutionBody[] = [];
    let cursor: string | null = null;
    do {
      const path: string = `/v1/jobs/${job.id}/executions?limit=100${cursor ? `&cursor=${cursor}` : ''}`;
      const { status, body } = await api.json<Page<ExecutionBody>>(path);
      expect(status).toBe(200);
      seen.push(...body.items);
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(151);
    expect(new Set(seen.map((e) => e.id)).size).toBe(151);
    const parent = seen.find((e) => e.kind === 'each');
    expect(parent).toMatchObject({ childCount: 150, childDone: 150, state: 'SUCCEEDED' });

    const children = await api.json<Page<ExecutionBody>>(`/v1/jobs/${job.id}/executions?parentId=${parent?.id}&limit=1000`);
    expect(children.body.items).toHaveLength(150);
    const failed = await api.json<Page<ExecutionBody>>(`/v1/jobs/${job.id}/executions?state=FAILED`);
    expect(failed.body).toEqual({ items: [], nextCursor: null });

    const jobsCursor = (await api.json<Page<JobBody>>('/v1/jobs?limit=1')).body.nextCursor;
    const mixed = await api.json(`/v1/jobs/${job.id}/executions?cursor=${jobsCursor}`);
    expect(mixed.status).toBe(400);
    expect(mixed.body.details?.[0].path).toBe('cursor');
  });
});
