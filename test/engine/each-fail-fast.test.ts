/**
 * `each.failFast: false` (SlideRule's independent elements): an item that fails or is cancelled
 * leaves the others running, windowed items still get made, and the each fails once all settled.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeEngine, type EngineBundle } from '../helpers/engine.js';

describe('an each that is not fail-fast', () => {
  let bundle: EngineBundle | undefined;
  afterEach(async () => {
    await bundle?.stop();
    bundle = undefined;
  });

  it('runs every item despite failures, then fails the each and the job naming how many did not succeed', async () => {
    bundle = await makeEngine('sqlite', { cpus: 4, engine: { arrayWindow: 2 } });
    const spec = {
      name: 'tolerant',
      tasks: [{ name: 'items', each: { list: '{{ sequence(0, 6) }}', failFast: false, task: { name: 'item', env: { V: '{{ item.value }}' }, run: 'test $((V % 3)) -ne 1 && echo -n ok$V > $BARGE_OUTPUT' } } }],
    };
    const job = await bundle.engine.submit(spec, { owner: 'alice' });
    const done = await bundle.engine.waitForJob(job.id, 30_000);
    expect(done.state).toBe('FAILED');
    const [parent] = await bundle.engine.store.executionList({ jobId: job.id, parentId: null, limit: 1 });
    expect(parent).toMatchObject({ state: 'FAILED', error: '2 of 6 items did not succeed', reason: 'child failed' });
    const items = (await bundle.engine.store.executionList({ parentId: parent.id, limit: 10 })).sort((a, b) => a.idx - b.idx);
    expect(items.map((i) => i.state)).toEqual(['SUCCEEDED', 'FAILED', 'SUCCEEDED', 'SUCCEEDED', 'FAILED', 'SUCCEEDED']);
    expect(items.filter((i) => i.state === 'SUCCEEDED').map((i) => i.result)).toEqual(['ok0', 'ok2', 'ok3', 'ok5']);
  });

  it('succeeds when every item does, and a fail-fast each (the default) still stops at the first failure', async () => {
    bundle = await makeEngine('sqlite', { cpus: 1 });
    const ok = await bundle.engine.submit({ name: 'fine', tasks: [{ name: 'items', each: { list: '{{ sequence(0, 3) }}', failFast: false, task: { name: 'item', run: 'true' } } }] }, { owner: 'alice' });
    expect((await bundle.engine.waitForJob(ok.id, 30_000)).state).toBe('SUCCEEDED');
    const strict = await bundle.engine.submit({ name: 'strict', tasks: [{ name: 'items', each: { list: '{{ sequence(0, 5) }}', task: { name: 'item', run: 'exit 1' } } }] }, { owner: 'alice' });
    expect((await bundle.engine.waitForJob(strict.id, 30_000)).state).toBe('FAILED');
    const [parent] = await bundle.engine.store.executionList({ jobId: strict.id, parentId: null, limit: 1 });
    const states = (await bundle.engine.store.executionList({ parentId: parent.id, limit: 10 })).map((i) => i.state);
    expect(states.filter((s) => s === 'CANCELLED').length + states.filter((s) => s === 'FAILED').length).toBe(states.length);
    expect(states).not.toContain('SUCCEEDED');
  });

  it('refuses a failFast that is not a boolean', async () => {
    bundle = await makeEngine('sqlite', { startWorker: false });
    await expect(bundle.engine.submit({ name: 'bad', tasks: [{ name: 'items', each: { list: '{{ [1] }}', failFast: 'no', task: { name: 'i', run: 'true' } } }] }, { owner: 'alice' })).rejects.toThrow(/failFast/);
  });
});
