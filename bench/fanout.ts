/**
 * bench/fanout: 2,000 `true` commands at concurrency 8, through barge's engine (SQLite store, a
 * real worker, the shell runtime) and through `xargs -P 8`, in the same run. Prints both times and
 * the ratio barge/xargs (lower is better; 1.0 would be as fast as xargs).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderArtifactStore } from '../src/artifacts/artifacts.js';
import { Engine } from '../src/engine/engine.js';
import { newId } from '../src/engine/ids.js';
import { openStore } from '../src/store/open.js';
import { createShellRuntime } from '../src/worker/runtimes/index.js';
import { engineSource } from '../src/worker/source.js';
import { Worker } from '../src/worker/worker.js';

export interface FanoutResult {
  items: number;
  concurrency: number;
  isolation: string;
  bargeMs: number;
  xargsMs: number;
  ratio: number;
}

export async function fanout(items = 2_000, concurrency = 8, isolation: 'none' | 'auto' = 'none'): Promise<FanoutResult> {
  const dir = mkdtempSync(join(tmpdir(), 'barge-bench-'));
  const store = await openStore(`sqlite:${join(dir, 'barge.db')}`);
  const engine = new Engine({ store, artifacts: new FolderArtifactStore(join(dir, 'artifacts')) });
  const shell = createShellRuntime({ isolation });
  const worker = new Worker({
    source: engineSource(engine),
    artifacts: engine.artifacts,
    nodeId: newId(),
    version: 'bench',
    workRoot: join(dir, 'work'),
    runtimes: { shell },
    cpus: concurrency,
    memoryMb: 64 * 1024,
  });
  worker.start();
  try {
    const began = performance.now();
    const job = await engine.submit(
      { name: 'fanout', tasks: [{ name: 'items', each: { list: `{{ sequence(0, ${items}) }}`, concurrency, task: { name: 'true', run: 'true' } } }] },
      { owner: 'bench' },
    );
    const done = await engine.waitForJob(job.id, 600_000);
    const bargeMs = performance.now() - began;
    if (done.state !== 'SUCCEEDED') throw new Error(`fanout job ended ${done.state}: ${done.error}`);

    const xargsBegan = performance.now();
    const xargs = spawnSync('bash', ['-c', `seq ${items} | xargs -P ${concurrency} -I{} bash -c true`]);
    const xargsMs = performance.now() - xargsBegan;
    if (xargs.status !== 0) throw new Error(`xargs failed: ${xargs.stderr.toString()}`);
    return { items, concurrency, isolation: String(shell.describe().isolation), bargeMs, xargsMs, ratio: bargeMs / xargsMs };
  } finally {
    await worker.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
