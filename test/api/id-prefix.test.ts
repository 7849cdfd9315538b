/**
 * Ids shortened to a unique prefix (as git's hashes) wherever /v1 takes a job or execution id in
 * its path: resolved among what the caller may see, refused with the candidates when ambiguous.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution, makeJob } from '../store/fixtures.js';
import { startApi, type ApiUnderTest, type ExecutionBody, type JobBody } from './helpers.js';

let api: ApiUnderTest;

beforeAll(async () => {
  api = await startApi();
});

afterAll(async () => {
  await api.close();
});

/** Final jobs (nothing to run) with chosen ids, owned by alice unless said otherwise. */
async function insertJob(id: string, owner = 'alice') {
  const job = makeJob({ id, owner, state: 'SUCCEEDED' });
  await api.bundle.engine.store.jobInsert(job);
  return job;
}

describe('/v1 id prefixes', () => {
  it('resolves a unique prefix of a job id on every job route', async () => {
    const job = await insertJob('c0ffee01'.padEnd(32, '0'));
    const { status, body } = await api.json<JobBody>(`/v1/jobs/${job.id.slice(0, 8)}`);
    expect(status).toBe(200);
    expect(body.id).toBe(job.id);
    expect((await api.json(`/v1/jobs/${job.id.slice(0, 6)}/events`)).status).toBe(200);
    expect((await api.json(`/v1/jobs/${job.id.slice(0, 6)}/executions`)).status).toBe(200);
  });

  it('refuses an ambiguous prefix with a 400 listing the candidates, and accepts a longer one', async () => {
    const first = await insertJob('dead0001'.padEnd(32, '1'));
    const second = await insertJob('dead0002'.padEnd(32, '2'));
    const { status, body } = await api.json('/v1/jobs/dead00');
    expect(status).toBe(400);
    expect(body.error).toBe('BARGE_E_VALIDATION');
    expect(body.message).toContain('ambiguous');
    expect(body.message).toContain(first.id);
    expect(body.message).toContain(second.id);
    expect((await api.json<JobBody>('/v1/jobs/dead0002')).body.id).toBe(second.id);
  });

  it("neither matches nor lists another owner's jobs", async () => {
    const mine = await insertJob('beef0001'.padEnd(32, '1'));
    const bobs = await insertJob('beef0002'.padEnd(32, '2'), 'bob');
    const asAlice = await api.json<JobBody>('/v1/jobs/beef00');
    expect(asAlice.status).toBe(200);
    expect(asAlice.body.id).toBe(mine.id);
    const asBob = await api.json<JobBody>('/v1/jobs/beef00', { as: 'bob' });
    expect(asBob.body.id).toBe(bobs.id);
    const asAdmin = await api.json('/v1/jobs/beef00', { as: 'admin' });
    expect(asAdmin.status).toBe(400);
    expect((await api.json('/v1/jobs/beef0002')).status).toBe(404);
  });

  it('resolves execution id prefixes', async () => {
    const job = await insertJob('face0001'.padEnd(32, '0'));
    const execution = makeExecution(job, { id: 'face0002'.padEnd(32, '9'), state: 'SUCCEEDED' });
    await api.bundle.engine.store.executionInsertMany([execution]);
    const { status, body } = await api.json<ExecutionBody>('/v1/executions/face0002');
    expect(status).toBe(200);
    expect(body.id).toBe(execution.id);
    expect((await api.json('/v1/executions/face0002/logs')).status).toBe(200);
    expect((await api.json('/v1/executions/face0003')).status).toBe(404);
  });

  it('refuses a prefix shorter than 6 characters, saying so', async () => {
    const { status, body } = await api.json('/v1/jobs/abcde');
    expect(status).toBe(400);
    expect(body.message).toMatch(/at least 6/);
  });
});
