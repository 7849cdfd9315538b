/** A Lua task without its own `timeout` stops at the worker's default limit; its own timeout wins. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEngine, type EngineBundle } from '../helpers/engine.js';

let bundle: EngineBundle;

beforeAll(async () => {
  bundle = await makeEngine('sqlite', { defaultTimeoutMs: { lua: 500 } });
});

afterAll(async () => {
  await bundle.stop();
});

describe('Lua default time limit', () => {
  it('fails an endless loop with reason timeout, and leaves shell tasks alone', async () => {
    const job = await bundle.run({
      name: 'loops',
      tasks: [
        { name: 'shell', run: 'sleep 1; echo ok' },
        { name: 'spin', lua: 'while true do end' },
      ],
    });
    expect(job.state).toBe('FAILED');
    const executions = await bundle.engine.store.executionList({ jobId: job.id, limit: 10 });
    expect(executions.find((execution) => execution.kind === 'shell')?.state).toBe('SUCCEEDED');
    expect(executions.find((execution) => execution.kind === 'lua')).toMatchObject({ state: 'FAILED', reason: 'timeout' });
  });

  it("keeps a task's own timeout over the default", async () => {
    const job = await bundle.run({ name: 'short', tasks: [{ name: 'sleepy', lua: 'local t = os.clock() while os.clock() - t < 1 do end return "done"', timeout: '10s' }] });
    expect(job.state).toBe('SUCCEEDED');
  });
});
