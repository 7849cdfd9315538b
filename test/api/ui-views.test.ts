/**
 * The /v1 routes the web UI reads beyond the CLI's: job counts by state for the list's filters,
 * the origin filter, top-level and per-task execution lists, an execution's outputs, an array's
 * item states and one item, and throughput per minute. One API (real engine, worker and SQLite
 * store) for the file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRow } from '../../src/core/model.js';
import { STATES } from '../../src/core/states.js';
import { startApi, type ApiUnderTest, type ExecutionBody, type Page } from './helpers.js';

let api: ApiUnderTest;
let succeeded: JobRow;
let failed: JobRow;
let array: JobRow;

beforeAll(async () => {
  api = await startApi();
  succeeded = await api.runJob({ name: 'writes outputs', tags: ['ui'], tasks: [{ name: 'out', run: 'mkdir -p outputs; printf hi > outputs/a.txt' }] });
  failed = await api.runJob({ name: 'fails', tasks: [{ name: 'boom', run: 'exit 3' }] });
  // One item at a time, so the last (value 5, idx 4) fails after the others succeeded.
  array = await api.runJob({
    name: 'array',
    tasks: [{ name: 'items', each: { list: '{{ sequence(1, 6) }}', concurrency: 1, task: { name: 'item', env: { V: '{{ item.value }}' }, run: 'test "$V" != 5' } } }],
  });
});

afterAll(async () => {
  await api?.close();
});

const letter = (state: string) => String(STATES.indexOf(state as (typeof STATES)[number]));

describe('GET /v1/jobs/counts', () => {
  it("counts the caller's jobs by state under the list's filters", async () => {
    const all = await api.json<{ total: number; counts: Record<string, number> }>('/v1/jobs/counts');
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ total: 3, counts: { SUCCEEDED: 1, FAILED: 2 } });
    expect((await api.json('/v1/jobs/counts?tag=ui')).body).toEqual({ total: 1, counts: { SUCCEEDED: 1 } });
    expect((await api.json('/v1/jobs/counts?state=FAILED')).body).toEqual({ total: 2, counts: { FAILED: 2 } });
    expect((await api.json('/v1/jobs/counts', { as: 'bob' })).body).toEqual({ total: 0, counts: {} });
  });

  it("refuses a non-admin counting someone else's jobs, and bad filters, by name", async () => {
    expect((await api.json('/v1/jobs/counts?owner=alice', { as: 'bob' })).status).toBe(403);
    expect((await api.json('/v1/jobs/counts?owner=alice', { as: 'admin' })).body).toMatchObject({ total: 3 });
    const bad = await api.json('/v1/jobs/counts?state=DONE');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('DONE');
  });
});

describe('the origin filter', () => {
  it('lists and counts only the jobs an API created', async () => {
    const v1 = await api.json<Page<{ id: string }>>('/v1/jobs?origin=v1');
    expect(v1.body.items.map((job) => job.id).sort()).toEqual([succeeded.id, failed.id, array.id].sort());
    expect((await api.json<Page<unknown>>('/v1/jobs?origin=tork')).body.items).toEqual([]);
    expect((await api.json('/v1/jobs/counts?origin=tork')).body).toEqual({ total: 0, counts: {} });
  });
});

describe("a job's executions: top level and per task", () => {
  it('lists only the steps with topLevel=1, and one task’s executions with taskId', async () => {
    const top = await api.json<Page<ExecutionBody>>(`/v1/jobs/${array.id}/executions?topLevel=1`);
    expect(top.body.items.map((execution) => execution.kind)).toEqual(['each']);
    const all = await api.json<Page<ExecutionBody>>(`/v1/jobs/${array.id}/executions`);
    expect(all.body.items).toHaveLength(6);
    const item = all.body.items.find((execution) => execution.parentId !== null)!;
    const items = await api.json<Page<ExecutionBody>>(`/v1/jobs/${array.id}/executions?taskId=${item.taskId}&parentId=${item.parentId}`);
    expect(items.body.items.map((execution) => execution.idx).sort()).toEqual([0, 1, 2, 3, 4]);
    const [step] = (await api.json<Page<ExecutionBody>>(`/v1/jobs/${failed.id}/executions`)).body.items;
    const attempts = await api.json<Page<ExecutionBody>>(`/v1/jobs/${failed.id}/executions?taskId=${step.taskId}`);
    expect(attempts.body.items.map((execution) => execution.id)).toEqual([step.id]);
  });
});

describe('GET /v1/executions/{id}/items', () => {
  it("answers one digit per item, the state's place in the vocabulary", async () => {
    const [each] = (await api.json<Page<ExecutionBody>>(`/v1/jobs/${array.id}/executions?topLevel=1`)).body.items;
    const items = await api.json<{ count: number; states: string }>(`/v1/executions/${each.id}/items`);
    expect(items.status).toBe(200);
    const ok = letter('SUCCEEDED');
    expect(items.body).toEqual({ count: 5, states: `${ok.repeat(4)}${letter('FAILED')}` });
  });

  it('answers one item’s latest attempt, 404 past the end and for others’ jobs', async () => {
    const [each] = (await api.json<Page<ExecutionBody>>(`/v1/jobs/${array.id}/executions?topLevel=1`)).body.items;
    const item = await api.json<ExecutionBody>(`/v1/executions/${each.id}/items/4`);
    expect(item.body).toMatchObject({ parentId: each.id, idx: 4, state: 'FAILED', exitCode: 1 });
    expect((await api.json(`/v1/executions/${each.id}/items/5`)).status).toBe(404);
    expect((await api.json(`/v1/executions/${each.id}/items`, { as: 'bob' })).status).toBe(404);
    expect((await api.json(`/v1/executions/${each.id}/items/-1`)).status).toBe(400);
  });

  it('answers an empty string for an execution that is not a composite', async () => {
    const [step] = (await api.json<Page<ExecutionBody>>(`/v1/jobs/${failed.id}/executions`)).body.items;
    expect((await api.json(`/v1/executions/${step.id}/items`)).body).toEqual({ count: 0, states: '' });
  });
});

describe('GET /v1/executions/{id}/outputs', () => {
  it('lists the files an execution left in outputs/', async () => {
    const [step] = (await api.json<Page<ExecutionBody>>(`/v1/jobs/${succeeded.id}/executions`)).body.items;
    const outputs = await api.json<{ items: Array<{ path: string; size: number }> }>(`/v1/executions/${step.id}/outputs`);
    expect(outputs.body.items.map(({ path, size }) => ({ path, size }))).toEqual([{ path: 'a.txt', size: 2 }]);
    expect((await api.json(`/v1/executions/${step.id}/outputs`, { as: 'bob' })).status).toBe(404);
  });
});

describe('GET /v1/stats/throughput', () => {
  it('counts the executions that ended in each of the last 60 minutes, in total and per queue', async () => {
    const { status, body } = await api.json<{ minutes: number; since: string; total: number[]; queues: Record<string, number[]> }>('/v1/stats/throughput');
    expect(status).toBe(200);
    expect(body.minutes).toBe(60);
    expect(body.total).toHaveLength(60);
    // Two single steps and five items; the array's composite is not counted.
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    expect(sum(body.total)).toBe(7);
    expect(Object.keys(body.queues)).toEqual(['default']);
    expect(sum(body.queues.default)).toBe(7);
    expect(Date.now() - Date.parse(body.since)).toBeLessThanOrEqual(60 * 60_000);
  });
});
