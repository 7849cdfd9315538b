/**
 * One `each` over `sequence(0, items)` of one task, through barge's engine on a SQLite store in
 * `dir` (or the store given) and a real worker with the given runtimes: the end-to-end path the
 * benches compare.
 */
import { join } from 'node:path';
import { FolderArtifactStore } from '../src/artifacts/artifacts.js';
import type { TaskSpec } from '../src/core/spec-types.js';
import { Engine } from '../src/engine/engine.js';
import { newId } from '../src/engine/ids.js';
import { openStore } from '../src/store/open.js';
import { engineSource } from '../src/worker/source.js';
import { Worker, type WorkerOptions } from '../src/worker/worker.js';

export interface ArrayRun {
  dir: string;
  name: string;
  items: number;
  concurrency: number;
  task: TaskSpec;
  runtimes: WorkerOptions['runtimes'];
  /** (Default: a SQLite file in `dir`) */
  storeUrl?: string;
}

/** Answers the milliseconds from submit to the job's SUCCEEDED; throws if it ends otherwise. */
export async function timeArrayThroughEngine(run: ArrayRun): Promise<number> {
  const store = await openStore(run.storeUrl ?? `sqlite:${join(run.dir, 'barge.db')}`);
  const engine = new Engine({ store, artifacts: new FolderArtifactStore(join(run.dir, 'artifacts')) });
  const worker = new Worker({
    source: engineSource(engine),
    artifacts: engine.artifacts,
    nodeId: newId(),
    version: 'bench',
    workRoot: join(run.dir, 'work'),
    runtimes: run.runtimes,
    cpus: run.concurrency,
    memoryMb: 64 * 1024,
  });
  worker.start();
  try {
    const began = performance.now();
    const job = await engine.submit(
      {
        name: run.name,
        tasks: [{ name: 'items', each: { list: `{{ sequence(0, ${run.items}) }}`, concurrency: run.concurrency, task: run.task } }],
      },
      { owner: 'bench' },
    );
    const done = await engine.waitForJob(job.id, 600_000);
    if (done.state !== 'SUCCEEDED') throw new Error(`${run.name} job ended ${done.state}: ${done.error}`);
    return performance.now() - began;
  } finally {
    await worker.stop();
    await store.close();
  }
}
