/**
 * The Batches face over PostgreSQL: a batch's whole life as the SDK lives it (tools, a filesystem
 * written by one batch and read by another, status, jobs, delete while running, clear), on the
 * store a fleet uses. The full route-by-route checks run on SQLite in http.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../api/helpers.js';
import { pgAvailable } from '../../helpers/pg.js';
import { startBatches, type BatchesUnderTest } from './helpers.js';

describe.skipIf(!pgAvailable())('batches on postgres', () => {
  let t: BatchesUnderTest;
  beforeAll(async () => {
    t = await startBatches('postgres');
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = async <T,>(path: string, data: unknown): Promise<T> => {
    const answer = await t.sdk('POST', path, { data });
    expect(answer.status, answer.text).toBe(200);
    return answer.json<T>();
  };
  const status = async (id: string): Promise<Record<string, number>> => (await t.sdk('GET', `/v1/batches/${id}`)).json();

  it('runs, counts, lists and deletes batches that share a filesystem', async () => {
    const fs = await post<{ filesystem_id: string; filesystem_name: string }>('/v1/filesystems', { filesystem_name: 'pg-data' });
    const writer = await post<{ tool_id: string }>('/v1/tools', { tool_name: 'pg-writer', program: { kind: 'bash', script: 'echo "$word" > "/mnt/efs/$i"' } });
    const reader = await post<{ tool_id: string }>('/v1/tools', { tool_name: 'pg-reader', program: { kind: 'bash', script: 'cat /mnt/efs/1 /mnt/efs/2' } });
    const hardware = { filesystem_list: [fs], cpu: 1, memory: 128 };
    const wrote = await post<{ batch_id: string; n_jobs: number }>(`/v1/tools/${writer.tool_id}`, { fixed_args: { word: 'pg' }, variable_args: [{ i: 1 }, { i: 2 }], hardware });
    expect(wrote.n_jobs).toBe(2);
    await waitFor(async () => (await status(wrote.batch_id)).succeeded === 2, 20_000);
    const read = await post<{ batch_id: string }>(`/tools/${reader.tool_id}`, { fixed_args: {}, variable_args: [], hardware });
    await waitFor(async () => (await status(read.batch_id)).succeeded === 1, 20_000);
    const [job] = (await t.sdk('GET', `/batches/${read.batch_id}/jobs`)).json<Array<{ job_id: string; log_id: string }>>();
    const logs = await t.api.json<{ items: Array<{ line: string }> }>(`/v1/executions/${job.log_id}/logs`);
    expect(logs.body.items.map((item) => item.line)).toEqual(['pg', 'pg']);
    expect((await t.sdk('GET', `/batches/${read.batch_id}/jobs/${job.job_id}`)).json()).toMatchObject({ status: 'SUCCEEDED' });

    const sleeper = await post<{ tool_id: string }>('/v1/tools', { tool_name: 'pg-sleeper', program: { kind: 'bash', script: 'sleep 60' } });
    const running = await post<{ batch_id: string }>(`/v1/tools/${sleeper.tool_id}`, { fixed_args: {}, variable_args: [], hardware: { cpu: 1, memory: 128 } });
    await waitFor(async () => (await status(running.batch_id)).running === 1, 20_000);
    expect((await t.sdk('DELETE', `/batches/${running.batch_id}`)).status).toBe(200);
    expect((await t.sdk('GET', `/batches/${running.batch_id}`)).status).toBe(403);
    expect((await t.sdk('GET', '/batches')).json<Array<{ batch_id: string }>>().map((b) => b.batch_id)).toEqual([wrote.batch_id, read.batch_id]);
    expect((await t.sdk('DELETE', '/v1/batches')).status).toBe(200);
    expect((await t.sdk('GET', '/v1/batches')).json()).toEqual([]);
  });
});
