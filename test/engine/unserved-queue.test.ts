/**
 * Work in a queue no worker serves waits with a reason saying so (issue 13), on both stores; it
 * runs, and the reason goes, once a worker for that queue comes.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/engine/ids.js';
import { explainWaiting } from '../../src/engine/waiting.js';
import { createShellRuntime } from '../../src/worker/runtimes/index.js';
import { engineSource } from '../../src/worker/source.js';
import { Worker } from '../../src/worker/worker.js';
import { makeEngine, type EngineBundle } from '../helpers/engine.js';
import { pgAvailable } from '../helpers/pg.js';
import { storeKinds } from '../helpers/stores.js';

for (const kind of storeKinds) {
  describe.skipIf(kind === 'postgres' && !pgAvailable())(`unserved queue on ${kind}`, () => {
    let bundle: EngineBundle;
    let gpuWorker: Worker | undefined;
    beforeAll(async () => {
      bundle = await makeEngine(kind);
    });
    afterAll(async () => {
      await gpuWorker?.stop();
      await bundle?.stop();
    });

    it('says no worker serves the queue, then runs once one does', async () => {
      const { engine } = bundle;
      const job = await engine.submit({ name: 'gpu', tasks: [{ name: 'train', queue: 'gpu', run: 'true' }] }, { owner: 'alice' });
      // The default worker is up (its first heartbeat is written at start) but serves only 'default'.
      const deadline = Date.now() + 20_000;
      let reason: string | null = null;
      while (reason === null && Date.now() < deadline) {
        await explainWaiting(engine);
        await new Promise((resolve) => setTimeout(resolve, 50));
        [{ reason }] = await engine.store.executionList({ jobId: job.id, limit: 1 });
      }
      expect(reason).toBe('no worker serves queue "gpu"');
      expect(await explainWaiting(engine)).toEqual({ explained: 0, cleared: 0 });

      gpuWorker = new Worker({
        source: engineSource(engine),
        artifacts: engine.artifacts,
        nodeId: newId(),
        version: 'test',
        workRoot: join(bundle.db.dir, 'gpu-work'),
        runtimes: { shell: createShellRuntime({ killGraceMs: 500 }) },
        cpus: 1,
        memoryMb: 1024,
        queues: ['gpu'],
        idlePollMs: 100,
      });
      gpuWorker.start();
      const done = await engine.waitForJob(job.id, 20_000);
      expect(done.state).toBe('SUCCEEDED');
      const [execution] = await engine.store.executionList({ jobId: job.id, limit: 1 });
      expect(execution.reason).toBeNull();
    });
  });
}
