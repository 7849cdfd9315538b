/**
 * Counts are about items, not attempts (issue 13): each task and array element counts once, in its
 * latest attempt's state. A retried item is not also a failure; a restarted job's first run is not
 * counted again; the each that holds items is not an item. `attempts` keeps every execution.
 * Both stores: the counting query is SQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEngine, type EngineBundle } from '../helpers/engine.js';
import { pgAvailable } from '../helpers/pg.js';
import { storeKinds } from '../helpers/stores.js';

const FOUR_ITEMS_LAST_FAILS = {
  name: 'four',
  tasks: [
    {
      name: 'items',
      each: {
        list: '{{ sequence(0, 4) }}',
        // One at a time, the last failing: the job ends with every item ended.
        concurrency: 1,
        task: { name: 'item', env: { V: '{{ item.index }}' }, run: 'test "$V" != 3' },
      },
    },
  ],
};

for (const kind of storeKinds) {
  describe.skipIf(kind === 'postgres' && !pgAvailable())(`item counts on ${kind}`, () => {
    let bundle: EngineBundle;
    beforeAll(async () => {
      bundle = await makeEngine(kind);
    });
    afterAll(async () => {
      await bundle?.stop();
    });

    it('a retried item counts once, in its last attempt; attempts keep the failed one', async () => {
      const job = await bundle.run({
        name: 'retry',
        tasks: [
          {
            name: 'items',
            each: { list: '{{ sequence(0, 3) }}', task: { name: 'item', env: { V: '{{ item.index }}' }, retry: { limit: 1 }, run: 'test "$V" != 1 || test "$BARGE_ATTEMPT" = 2' } },
          },
        ],
      });
      expect(job.state).toBe('SUCCEEDED');
      const view = await bundle.engine.describeJob(job.id);
      expect(view.counts).toEqual({ SUCCEEDED: 3 });
      // 3 items + 1 retry + the each that holds them.
      expect(view.attempts).toEqual({ SUCCEEDED: 4, FAILED: 1 });
    });

    it('a restarted job counts its items once, not its first run again', async () => {
      const first = await bundle.run(FOUR_ITEMS_LAST_FAILS);
      expect(first.state).toBe('FAILED');
      expect(await bundle.engine.executionCounts(first.id)).toEqual({ SUCCEEDED: 3, FAILED: 1 });
      await bundle.engine.restartJob(first.id);
      const again = await bundle.engine.waitForJob(first.id, 30_000);
      expect(again.state).toBe('FAILED');
      // 4 items, not 8: the first run's items are under the earlier attempt of the each.
      expect(await bundle.engine.executionCounts(first.id)).toEqual({ SUCCEEDED: 3, FAILED: 1 });
      const view = await bundle.engine.describeJob(first.id);
      expect(view.attempts).toEqual({ SUCCEEDED: 6, FAILED: 4 });
    });

    it('top-level tasks retried count once', async () => {
      const job = await bundle.run({ name: 'plain', tasks: [{ name: 'flaky', retry: { limit: 2 }, run: 'test "$BARGE_ATTEMPT" = 3' }, { name: 'next', run: 'true' }] });
      expect(job.state).toBe('SUCCEEDED');
      expect(await bundle.engine.executionCounts(job.id)).toEqual({ SUCCEEDED: 2 });
      expect((await bundle.engine.describeJob(job.id)).attempts).toEqual({ SUCCEEDED: 2, FAILED: 2 });
    });
  });
}
