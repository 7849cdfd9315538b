/**
 * Big arrays on both stores: an each keeps its list once and makes its items a window at a time;
 * a million-item array is submitted, cancelled and deleted touching only its window; the longest
 * list is limited server-wide and per user, with a 400 naming the limit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import type { ExecutionRow } from '../../src/core/model.js';
import { makeEngine, type EngineBundle } from '../helpers/engine.js';
import { storeKinds } from '../helpers/stores.js';
import { pgAvailable } from '../helpers/pg.js';

function eachOver(list: string, task: object, extra: object = {}): object {
  return { name: 'array', tasks: [{ name: 'items', each: { list, task, ...extra } }] };
}

for (const kind of storeKinds) {
  describe.skipIf(kind === 'postgres' && !pgAvailable())(`big arrays on ${kind}`, () => {
    let bundle: EngineBundle | undefined;
    afterEach(async () => {
      await bundle?.stop();
      bundle = undefined;
    });

    it('runs every item of a list longer than the window, each with its own value, never more than the window at once', async () => {
      bundle = await makeEngine(kind, { cpus: 8, engine: { arrayWindow: 3 } });
      const words = Array.from({ length: 11 }, (_, i) => `w${i}`).join(',');
      const job = await bundle.engine.submit(
        { name: 'words', inputs: { words }, tasks: [{ name: 'items', each: { list: '{{ split(inputs.words, ",") }}', task: { name: 'item {{ item.index }}', env: { V: '{{ item.value }}' }, run: 'sleep 0.05; echo -n "$V" > $BARGE_OUTPUT' } } }] },
        { owner: 'alice' },
      );
      const parent = (await bundle.engine.store.executionList({ jobId: job.id, parentId: null, limit: 1 }))[0];
      // Right after submit: the window exists as rows, the rest is counted as PENDING.
      expect(await bundle.engine.store.executionCountByState({ parentId: parent.id })).not.toHaveProperty('PENDING');
      expect((await bundle.engine.executionCounts(job.id)).PENDING ?? 0).toBeGreaterThan(0);
      const done = await bundle.engine.waitForJob(job.id, 30_000);
      expect(done.state).toBe('SUCCEEDED');
      const children = (await bundle.engine.store.executionList({ parentId: parent.id, limit: 100 })).sort((a, b) => a.idx - b.idx);
      expect(children.map((c) => c.result)).toEqual(words.split(','));
      expect(maxOverlap(children)).toBeLessThanOrEqual(3);
      // The stored list goes with the array once it is done.
      expect(await bundle.engine.store.arrayItemsGet({ executionId: parent.id, chunks: [-1, 0] })).toEqual([]);
    });

    it('submits, cancels and deletes a 1,000,000-item array touching only its window', async () => {
      bundle = await makeEngine(kind, { startWorker: false, engine: { arrayWindow: 1_000 } });
      const { engine } = bundle;
      const job = await engine.submit(eachOver('{{ sequence(0, 1000000) }}', { name: 'item', env: { V: '{{ item.value }}' }, run: 'echo $V' }), { owner: 'alice' });
      const counts = await engine.executionCounts(job.id);
      // Items only: the each that holds them is not one.
      expect(counts).toEqual({ RUNNABLE: 100, PENDING: 999_900 });
      const [first] = await engine.claim({ nodeId: 'n', cpus: 1, memoryMb: 1024, queues: ['default'], kinds: ['shell'], max: 1 });
      expect(first.spec.env).toEqual({ V: '0' });
      // The first 100 are made at submit; one item done, the window (1,000) fills by up to 100 more.
      expect(await engine.start('n', first.id)).toBe(true);
      expect(await engine.finish('n', first.id, { state: 'SUCCEEDED', exitCode: 0, result: null, error: null, reason: null })).toBe(true);
      const made = await engine.store.executionList({ jobId: job.id, states: ['RUNNABLE'], orderByIdx: true, limit: 2_000 });
      expect(made.at(-1)).toMatchObject({ idx: 199, spec: expect.objectContaining({ env: { V: '199' } }) });

      await engine.cancelJob(job.id);
      expect((await engine.getJob(job.id)).state).toBe('CANCELLED');
      expect(await engine.executionCounts(job.id)).toEqual({ CANCELLED: 199, SUCCEEDED: 1 });

      await engine.deleteJob(job.id);
      expect(await engine.store.jobGet(job.id)).toBeUndefined();
      expect(await engine.store.executionList({ jobId: job.id, limit: 1 })).toEqual([]);
    });

    it('refuses a list longer than the limit with a 400 naming it, and lets a user with a higher limit through', async () => {
      bundle = await makeEngine(kind, { startWorker: false, engine: { maxArrayItems: 10, maxArrayItemsFor: (owner) => (owner === 'bob' ? 20 : undefined) } });
      const spec = eachOver('{{ sequence(0, 11) }}', { name: 'item', run: 'true' });
      const refused = await bundle.engine.submit(spec, { owner: 'alice' }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ValidationError);
      expect((refused as Error).message).toMatch(/11 items, more than the 10 allowed \(maxArrayItems\)/);
      expect(await bundle.engine.store.jobList({ limit: 10 })).toEqual([]);
      const accepted = await bundle.engine.submit(spec, { owner: 'bob' });
      expect(accepted.state).toBe('RUNNING');
    });
  });
}

/** The most children that were running at the same moment. */
function maxOverlap(rows: ExecutionRow[]): number {
  const edges = rows.flatMap((r) => [
    { at: Date.parse(r.startedAt ?? ''), d: 1 },
    { at: Date.parse(r.completedAt ?? ''), d: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const edge of edges) {
    now += edge.d;
    max = Math.max(max, now);
  }
  return max;
}
