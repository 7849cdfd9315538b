/**
 * bench/fanout: 2,000 `true` commands at concurrency 8, through barge's engine (SQLite store, a
 * real worker, the shell runtime) and through `xargs -P 8`, in the same run. Prints both times and
 * the ratio barge/xargs (lower is better; 1.0 would be as fast as xargs).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createShellRuntime } from '../src/worker/runtimes/index.js';
import { timeArrayThroughEngine } from './engine-array.js';

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
  const shell = createShellRuntime({ isolation });
  try {
    const bargeMs = await timeArrayThroughEngine({
      dir,
      name: 'fanout',
      items,
      concurrency,
      task: { name: 'true', run: 'true' },
      runtimes: { shell },
    });

    const xargsBegan = performance.now();
    const xargs = spawnSync('bash', ['-c', `seq ${items} | xargs -P ${concurrency} -I{} bash -c true`]);
    const xargsMs = performance.now() - xargsBegan;
    if (xargs.status !== 0) throw new Error(`xargs failed: ${xargs.stderr.toString()}`);
    return { items, concurrency, isolation: String(shell.describe().isolation), bargeMs, xargsMs, ratio: bargeMs / xargsMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
