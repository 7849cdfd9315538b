/**
 * An engine with a real store, real runtimes (bash and Lua) and a real worker, tuned for tests:
 * short leases, short retry backoff, fast lease renewal.
 */
import { join } from 'node:path';
import { FolderArtifactStore } from '../../src/artifacts/artifacts.js';
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import { newId } from '../../src/engine/ids.js';
import { Reaper } from '../../src/engine/reaper.js';
import type { JobRow } from '../../src/core/model.js';
import { isFinal } from '../../src/core/states.js';
import { createLuaRuntime, createShellRuntime } from '../../src/worker/runtimes/index.js';
import type { LuaThreadPool } from '../../src/worker/runtimes/lua-pool.js';
import { engineSource } from '../../src/worker/source.js';
import { Worker, type WorkerOptions } from '../../src/worker/worker.js';
import { makeTestStore, type StoreKind, type TestStore } from './stores.js';

export interface EngineBundle {
  engine: Engine;
  worker: Worker;
  reaper: Reaper;
  db: TestStore;
  /** Submits and waits for the job to be final. */
  run(spec: unknown, owner?: string): Promise<JobRow>;
  stop(): Promise<void>;
}

export async function makeEngine(
  kind: StoreKind,
  options: {
    cpus?: number;
    memoryMb?: number;
    /** Lua threads the worker's lua runtime runs on. */
    luaPool?: LuaThreadPool;
    leaseMs?: number;
    startWorker?: boolean;
    /** Where artifacts go, under the test's folder. (Default: 'artifacts') */
    artifactsFolder?: string;
    outputLimits?: WorkerOptions['outputLimits'];
    defaultTimeoutMs?: WorkerOptions['defaultTimeoutMs'];
    engine?: Partial<EngineOptions>;
  } = {},
): Promise<EngineBundle> {
  const db = await makeTestStore(kind);
  const engine = new Engine({
    store: db.store,
    artifacts: new FolderArtifactStore(join(db.dir, options.artifactsFolder ?? 'artifacts')),
    leaseMs: options.leaseMs ?? 5_000,
    retryBaseMs: 20,
    retryMaxMs: 200,
    ...options.engine,
  });
  const worker = new Worker({
    source: engineSource(engine),
    artifacts: engine.artifacts,
    nodeId: newId(),
    version: 'test',
    workRoot: join(db.dir, 'work'),
    runtimes: { shell: createShellRuntime({ killGraceMs: 500 }), lua: createLuaRuntime({ pool: options.luaPool }) },
    cpus: options.cpus ?? 4,
    memoryMb: options.memoryMb ?? 4096,
    renewMs: 200,
    idlePollMs: 100,
    drainGraceMs: 2_000,
    outputLimits: options.outputLimits,
    defaultTimeoutMs: options.defaultTimeoutMs,
  });
  const reaper = new Reaper(engine, { nodeId: worker.nodeId, intervalMs: 200 });
  if (options.startWorker !== false) worker.start();
  reaper.start();
  return {
    engine,
    worker,
    reaper,
    db,
    async run(spec, owner = 'alice') {
      const job = await engine.submit(spec, { owner });
      const done = await engine.waitForJob(job.id, 30_000);
      if (!isFinal(done.state)) throw new Error(`job ${job.id} still ${done.state} after 30 s`);
      return done;
    },
    async stop() {
      await worker.stop();
      await reaper.stop();
      await db.close();
    },
  };
}
