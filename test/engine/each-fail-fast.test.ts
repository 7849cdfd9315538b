/**
 * `each.failFast: false` (batches of independent jobs): every item runs to its end whatever its
 * siblings do, and the each fails once all have ended if any failed; made at once or a window at
 * a time. The default (Tork's) still cancels the rest at the first failure.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { JobRow, State } from '../../src/core/model.js';
import { makeEngine, type EngineBundle } from '../helpers/engine.js';
import { pgAvailable } from '../helpers/pg.js';
import { storeKinds } from '../helpers/stores.js';

/** Item 0 fails at once; the others succeed a little later. */
function spec(failFast: boolean | undefined): object {
  const each = { list: '{{ sequence(0, 5) }}', task: { name: 'item', env: { I: '{{ item.value }}' }, run: 'if [ "$I" = 0 ]; then exit 1; fi; sleep 0.3' } };
  return { name: 'independent', tasks: [{ name: 'items', each: failFast === undefined ? each : { ...each, failFast } }] };
}

async function itemStates(bundle: EngineBundle, job: JobRow): Promise<State[]> {
  const [each] = await bundle.engine.store.executionList({ jobId: job.id, parentId: null, limit: 1 });
  const items = await bundle.engine.store.executionList({ parentId: each.id, orderByIdx: true, limit: 100 });
  return items.map((item) => item.state);
}

for (const kind of storeKinds) {
  describe.skipIf(kind === 'postgres' && !pgAvailable())(`each failFast on ${kind}`, () => {
    let bundle: EngineBundle | undefined;
    afterEach(async () => {
      await bundle?.stop();
      bundle = undefined;
    });

    for (const window of [100, 2]) {
      it(`false: runs every item to its end, then fails the job (window ${window})`, async () => {
        bundle = await makeEngine(kind, { cpus: 8, engine: { arrayWindow: window } });
        const done = await bundle.run(spec(false));
        expect(done.state).toBe('FAILED');
        expect(await itemStates(bundle, done)).toEqual(['FAILED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
      });
    }

    it('default: the first failure cancels the items still running', async () => {
      bundle = await makeEngine(kind, { cpus: 8 });
      const done = await bundle.run(spec(undefined));
      expect(done.state).toBe('FAILED');
      expect(await itemStates(bundle, done)).toContain('CANCELLED');
    });
  });
}
