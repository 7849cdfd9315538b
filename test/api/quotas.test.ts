/**
 * Quotas and rate limits over real HTTP, with a real worker: a submit over a quota is refused with
 * 429 naming it (in each face's shape), work over the running quota waits RUNNABLE with a reason
 * and runs later, spent compute and result bytes are refused until the period ends, /v1/me
 * reports it all; a credential over its rate limit gets 429 with Retry-After, others do not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, waitFor, type ApiUnderTest, type ExecutionBody, type JobBody, type Page } from './helpers.js';

interface MeBody {
  name: string;
  quotas: Record<string, number>;
  usage: { runningExecutions: number; queuedExecutions: number; computeSeconds: number; resultBytes: number; periodStart: string; periodEnd: string };
}

const each = (name: string, items: number, script: string): Record<string, unknown> => ({
  name,
  tasks: [{ name: 'items', each: { list: `{{ sequence(1, ${items + 1}) }}`, task: { name: 'item', run: script } } }],
});

describe('quotas', () => {
  let api: ApiUnderTest;

  beforeAll(async () => {
    api = await startApi({ tork: { open: false } });
  });

  afterAll(async () => {
    await api?.close();
  });

  async function setQuotas(user: string, quotas: Record<string, number>): Promise<void> {
    const answer = await api.json(`/v1/users/${user}`, { method: 'PATCH', as: 'admin', body: { quotas } });
    expect(answer.status).toBe(200);
  }

  it('refuses a submit that would pass the queued quota, naming it, and keeps nothing of it', async () => {
    await setQuotas('bob', { queuedExecutions: 2 });
    const refused = await api.json('/v1/jobs', { method: 'POST', as: 'bob', body: each('too many', 3, 'true') });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error: 'BARGE_E_TOO_MANY' });
    expect(refused.body.message).toMatch(/queuedExecutions/);
    expect((await api.json<Page<JobBody>>('/v1/jobs', { as: 'bob' })).body.items).toEqual([]);

    // Tork's face answers in its own shape.
    const tork = await api.call('/jobs', { method: 'POST', as: 'bob', body: each('too many', 3, 'true') });
    expect(tork.status).toBe(429);
    expect(await tork.text()).toMatch(/^\{"message":"quota queuedExecutions exceeded: [^"]*"\}\n$/);

    const fits = await api.runJob(each('fits', 2, 'true'), 'bob');
    expect(fits.state).toBe('SUCCEEDED');
    await setQuotas('bob', {});
  });

  it('holds work over the running quota RUNNABLE with a reason, and runs it one at a time', async () => {
    await setQuotas('alice', { runningExecutions: 1 });
    const created = await api.json<JobBody>('/v1/jobs', { method: 'POST', body: each('one at a time', 3, 'sleep 0.3') });
    expect(created.status).toBe(201);
    await waitFor(async () => {
      const page = await api.json<Page<ExecutionBody>>(`/v1/jobs/${created.body.id}/executions?state=RUNNABLE`);
      return page.body.items.some((e) => /quota runningExecutions/.test(e.reason ?? ''));
    });
    const me = await api.json<MeBody>('/v1/me');
    expect(me.body.quotas).toEqual({ runningExecutions: 1 });
    expect(me.body.usage.runningExecutions).toBeLessThanOrEqual(1);

    const done = await api.bundle.engine.waitForJob(created.body.id, 30_000);
    expect(done.state).toBe('SUCCEEDED');
    const items = (await api.json<Page<ExecutionBody>>(`/v1/jobs/${created.body.id}/executions?limit=100`)).body.items.filter((e) => e.parentId !== null);
    expect(items).toHaveLength(3);
    // No two items ever ran at once: their start-to-end spans do not overlap.
    const spans = items.map((e) => [Date.parse(e.startedAt!), Date.parse(e.completedAt!)] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i += 1) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
    await setQuotas('alice', {});
  });

  it('refuses submits once the compute seconds of the period are spent, until the period ends', async () => {
    const used = await api.runJob({ name: 'burn', tasks: [{ name: 'burn', run: 'sleep 1.2' }] }, 'bob');
    expect(used.state).toBe('SUCCEEDED');
    await setQuotas('bob', { computeSecondsPerPeriod: 1, periodSeconds: 3600 });
    const me = await api.json<MeBody>('/v1/me', { as: 'bob' });
    expect(me.body.usage.computeSeconds).toBeGreaterThanOrEqual(1.2);
    expect(Date.parse(me.body.usage.periodEnd) - Date.parse(me.body.usage.periodStart)).toBe(3_600_000);

    const refused = await api.json('/v1/jobs', { method: 'POST', as: 'bob', body: { name: 'more', tasks: [{ name: 't', run: 'true' }] } });
    expect(refused.status).toBe(429);
    expect(refused.body.message).toMatch(/computeSecondsPerPeriod/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(3600);

    // Deleting the finished job does not hand its compute back.
    expect((await api.call(`/v1/jobs/${used.id}`, { method: 'DELETE', as: 'bob' })).status).toBe(204);
    expect((await api.json('/v1/jobs', { method: 'POST', as: 'bob', body: { name: 'more', tasks: [{ name: 't', run: 'true' }] } })).status).toBe(429);
    await setQuotas('bob', {});
  });

  it('meters result downloads against the result bytes of the period', async () => {
    const job = await api.runJob({ name: 'result', tasks: [{ name: 'r', run: 'echo "$(seq 1 200)" > "$BARGE_OUTPUT"' }] });
    expect(job.state).toBe('SUCCEEDED');
    await setQuotas('alice', { resultBytesPerPeriod: 50 });
    const first = await api.call(`/v1/jobs/${job.id}/results.tar.gz`);
    expect(first.status).toBe(200);
    const size = (await first.arrayBuffer()).byteLength;
    expect(size).toBeGreaterThan(50);
    await waitFor(async () => (await api.json<MeBody>('/v1/me')).body.usage.resultBytes === size);
    const second = await api.json(`/v1/jobs/${job.id}/results.tar.gz`);
    expect(second.status).toBe(429);
    expect(second.body.message).toMatch(/resultBytesPerPeriod/);
    // An admin downloading it spends the admin's bytes, not alice's.
    const admins = await api.call(`/v1/jobs/${job.id}/results.tar.gz`, { as: 'admin' });
    expect(admins.status).toBe(200);
    expect((await admins.arrayBuffer()).byteLength).toBe(size);
    await setQuotas('alice', {});
  });
});

describe('rate limits', () => {
  let api: ApiUnderTest;

  beforeAll(async () => {
    api = await startApi({ tork: { open: false }, rateLimit: { max: 3, windowMs: 60_000 } });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('answers 429 with Retry-After past the limit, per credential, on every face', async () => {
    for (let i = 0; i < 3; i += 1) expect((await api.call('/v1/me')).status).toBe(200);
    const refused = await api.json('/v1/me');
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error: 'BARGE_E_TOO_MANY' });
    expect(refused.body.message).toMatch(/rate limit/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // The budget is the credential's: alice is refused on Tork's face too, bob is not.
    const tork = await api.call('/jobs');
    expect(tork.status).toBe(429);
    expect(await tork.text()).toMatch(/^\{"message":"rate limit exceeded[^"]*"\}\n$/);
    expect((await api.call('/v1/me', { as: 'bob' })).status).toBe(200);
    // A second credential of alice's has its own budget.
    const created = await api.json<{ secret: string }>('/v1/keys', { method: 'POST', as: 'admin', body: { user: 'alice' } });
    expect((await api.call('/v1/me', { as: null, headers: { authorization: `Bearer ${created.body.secret}` } })).status).toBe(200);
  });
});
