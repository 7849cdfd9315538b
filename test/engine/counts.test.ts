/**
 * Progress and counts are about items, not attempts: what a cancelled job shows as done.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEngine, type EngineBundle } from '../helpers/engine.js';

let bundle: EngineBundle;

beforeAll(async () => {
  bundle = await makeEngine('sqlite');
});

afterAll(async () => {
  await bundle.stop();
});

async function until(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('progress of a cancelled job', () => {
  it('counts the items that had finished, not 0%', async () => {
    const { engine } = bundle;
    // Items 0 and 1 finish at once, the others wait: one at a time, so the job is 2/9 when cancelled.
    const job = await engine.submit(
      {
        name: 'nine',
        tasks: [
          {
            name: 'items',
            each: {
              list: '{{ sequence(0, 9) }}',
              concurrency: 1,
              task: { name: 'item', env: { V: '{{ item.index }}' }, run: 'if [ "$V" -ge 2 ]; then sleep 60; fi' },
            },
          },
        ],
      },
      { owner: 'alice', origin: 'v1' },
    );
    await until('two items done', async () => (await engine.executionCounts(job.id)).SUCCEEDED === 2);
    await engine.cancelJob(job.id);
    const view = await engine.describeJob(job.id);
    expect(view.job.state).toBe('CANCELLED');
    expect(view.progress).toBeCloseTo((2 / 9) * 100, 1);
  });
});
