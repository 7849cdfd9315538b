/**
 * Items of an each with a concurrency that name no cpus reserve a 1/concurrency share of one cpu
 * (capped at a whole cpu of cpu time); a named cpus, the task's or the job's default, wins; a
 * retry reserves what its first attempt did.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRow } from '../../src/core/model.js';
import { makeEngine, type EngineBundle } from '../helpers/engine.js';

let bundle: EngineBundle;

beforeAll(async () => {
  bundle = await makeEngine('sqlite', { cpus: 2 });
});

afterAll(async () => {
  await bundle.stop();
});

async function items(spec: unknown): Promise<ExecutionRow[]> {
  const job = await bundle.run(spec);
  const all = await bundle.db.store.executionList({ jobId: job.id, limit: 1000 });
  return all.filter((execution) => execution.kind === 'shell');
}

const map = (task: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown => ({
  name: 'shares',
  ...extra,
  tasks: [{ name: 'map', each: { list: '{{ sequence(0, 3) }}', concurrency: 3, task: { name: 'item', ...task } } }],
});

describe('shared cpu reservation of array items', () => {
  it('reserves 1/concurrency of a cpu when nothing names cpus, and caps cpu time at one cpu', async () => {
    const rows = await items(map({ run: 'true' }));
    expect(rows.map((row) => row.cpus)).toEqual([0.33, 0.33, 0.33]);
    expect(rows.every((row) => row.spec.limits?.cpus === 1)).toBe(true);
  });

  it('keeps the cpus a task or the job defaults name', async () => {
    expect((await items(map({ run: 'true', limits: { cpus: '.5' } }))).map((row) => row.cpus)).toEqual([0.5, 0.5, 0.5]);
    expect((await items(map({ run: 'true' }, { defaults: { limits: { cpus: 2 } } }))).map((row) => row.cpus)).toEqual([2, 2, 2]);
  });

  it('keeps the share across retries', async () => {
    const rows = await items(map({ run: 'test "$BARGE_ATTEMPT" = 2', retry: { limit: 1 } }));
    expect(rows).toHaveLength(6);
    expect(rows.every((row) => row.cpus === 0.33)).toBe(true);
  });
});
