/**
 * Work that fits passes work that cannot: tasks asking for more cpus than the worker has wait,
 * with a reason saying so, while their owner's later jobs run.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { explainWaiting, TOO_BIG } from '../../src/engine/waiting.js';
import { makeEngine, type EngineBundle } from '../helpers/engine.js';
import { storeKinds } from '../helpers/stores.js';
import { pgAvailable } from '../helpers/pg.js';

for (const kind of storeKinds) {
  describe.skipIf(kind === 'postgres' && !pgAvailable())(`oversized tasks on ${kind}`, () => {
    let bundle: EngineBundle;
    beforeEach(async () => {
      bundle = await makeEngine(kind, { cpus: 2, memoryMb: 2048 });
    });
    afterEach(async () => {
      await bundle.stop();
    });

    it('runs the owner\'s later job past two tasks asking 4 cpus of a 2-cpu worker, and says why those wait', async () => {
      const { engine } = bundle;
      const big = [];
      for (const name of ['big-1', 'big-2']) {
        big.push(await engine.submit({ name, tasks: [{ name: 'wide', run: 'true', limits: { cpus: 4 } }] }, { owner: 'alice' }));
      }
      const small = await bundle.run({ name: 'small', tasks: [{ name: 'narrow', run: 'echo ok' }] }, 'alice');
      expect(small.state).toBe('SUCCEEDED');

      // The worker has said it is UP with 2 cpus (its first heartbeat); the reaper's explainer reads that.
      await waitFor(async () => (await engine.store.nodeList({})).some((n) => n.id === bundle.worker.nodeId));
      await explainWaiting(engine);
      // `barge nodes` (GET /v1/nodes) shows the reasons, counted.
      expect(await engine.store.executionWaitingReasons({ limit: 10 })).toEqual([{ reason: `${TOO_BIG}: 4 cpus (largest worker: 2)`, count: 2 }]);
      for (const job of big) {
        const [execution] = await engine.store.executionList({ jobId: job.id, limit: 10 });
        expect(execution.state).toBe('RUNNABLE');
        expect(execution.reason).toBe(`${TOO_BIG}: 4 cpus (largest worker: 2)`);
        await engine.cancelJob(job.id);
      }
      expect(await engine.store.executionWaitingReasons({ limit: 10 })).toEqual([]);
    });
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
