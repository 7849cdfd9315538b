/**
 * Issue 7, faults: PostgreSQL goes away for 10 s while a worker runs an array. Executions that
 * finish during the outage keep their end and their log tail and report them once the database is
 * back, so none runs again; the process survives connections cut under it. The test starts its
 * own throwaway cluster (the shared one serves other test files at the same time).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FolderArtifactStore } from '../../src/artifacts/artifacts.js';
import { isFinal } from '../../src/core/states.js';
import { Engine } from '../../src/engine/engine.js';
import { newId } from '../../src/engine/ids.js';
import { Reaper } from '../../src/engine/reaper.js';
import { openStore } from '../../src/store/open.js';
import { createShellRuntime } from '../../src/worker/runtimes/index.js';
import { Worker } from '../../src/worker/worker.js';
import { engineSource } from '../../src/worker/source.js';
import { pgAvailable, startPostgres } from '../helpers/pg.js';

const ITEMS = 40;
const OUTAGE_MS = 10_000;

describe.skipIf(!pgAvailable())('a PostgreSQL restart under load', () => {
  it('runs nothing twice that finished during a 10 s outage, and keeps its end and its log', { timeout: 240_000 }, async () => {
    const cluster = await startPostgres();
    if (!cluster) throw new Error('PostgreSQL binaries vanished');
    const dir = mkdtempSync(join(tmpdir(), 'barge-outage-'));
    const runs = join(dir, 'runs.txt');
    const store = await openStore(cluster.url);
    // Production lease (30 s): longer than the outage, so only a lost report could make work run again.
    const engine = new Engine({ store, artifacts: new FolderArtifactStore(join(dir, 'artifacts')) });
    const worker = new Worker({
      source: engineSource(engine),
      artifacts: engine.artifacts,
      nodeId: newId(),
      version: 'test',
      workRoot: join(dir, 'work'),
      // No sandbox: each run appends to a file of the test's, which counts how often each item ran.
      runtimes: { shell: createShellRuntime({ killGraceMs: 500, isolation: 'none' }) },
      cpus: 8,
      memoryMb: 8192,
      renewMs: 500,
      idlePollMs: 200,
      drainGraceMs: 2_000,
    });
    const reaper = new Reaper(engine, { nodeId: worker.nodeId, intervalMs: 500 });
    try {
      worker.start();
      reaper.start();
      const job = await engine.submit(
        {
          name: 'outage',
          tasks: [
            {
              name: 'items',
              each: {
                list: `{{ sequence(0, ${ITEMS}) }}`,
                task: { name: 'item', env: { I: '{{ item.index }}' }, run: `echo "$I" >> ${runs}; echo "started $I"; sleep 2; echo "finished $I"` },
              },
            },
          ],
        },
        { owner: 'ops' },
      );
      // The outage starts while a wave of items is running: each of them ends during it.
      await waitFor(() => startedCount(runs) >= 12);
      cluster.pause();
      const pausedAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      const endedDuringOutage = startedCount(runs);
      cluster.resume();
      expect(Date.now() - pausedAt).toBeGreaterThanOrEqual(OUTAGE_MS);

      const done = await engine.waitForJob(job.id, 180_000);
      expect(isFinal(done.state)).toBe(true);
      expect(done.state).toBe('SUCCEEDED');
      expect(endedDuringOutage).toBeGreaterThanOrEqual(12);

      // Every item ran exactly once: none that ended during the outage ran again.
      const ran = readFileSync(runs, 'utf8').split('\n').filter(Boolean).map(Number);
      expect(ran.sort((a, b) => a - b)).toEqual(Array.from({ length: ITEMS }, (_, i) => i));
      expect(await engine.executionCounts(job.id)).toEqual({ SUCCEEDED: ITEMS });
      // Each kept its whole log, the tail written during the outage included.
      const items = await store.executionList({ jobId: job.id, parentId: undefined, limit: ITEMS + 1 });
      for (const item of items.filter((e) => e.parentId !== null)) {
        const lines = (await store.logList({ executionId: item.id, limit: 10 })).map((l) => l.line);
        expect(lines).toEqual([`started ${item.idx}`, `finished ${item.idx}`]);
      }
      const events = await store.eventList({ jobId: job.id, limit: 10_000 });
      expect(events.filter((e) => e.kind === 'execution.report_refused')).toEqual([]);
    } finally {
      await worker.stop();
      await reaper.stop();
      await store.close();
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function startedCount(file: string): number {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
