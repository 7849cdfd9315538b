/**
 * bench/fanout: 2,000 `true` commands at concurrency 8, through barge's engine (SQLite store, a
 * real worker, the shell runtime) and through `xargs -P 8`, in the same run. With isolation
 * `bwrap`, xargs runs the very bubblewrap command line barge's sandbox builds, so both sides pay
 * for the sandbox. Prints both times and the ratio barge/xargs (lower is better; 1.0 would be as
 * fast as xargs).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createShellRuntime } from '../src/worker/runtimes/index.js';
import { chooseSandbox } from '../src/worker/runtimes/sandbox.js';
import { timeArrayThroughEngine } from './engine-array.js';

export interface FanoutResult {
  items: number;
  concurrency: number;
  isolation: string;
  bargeMs: number;
  xargsMs: number;
  ratio: number;
}

export async function fanout(items = 2_000, concurrency = 8, isolation: 'none' | 'bwrap' = 'none'): Promise<FanoutResult> {
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
    const command = isolation === 'bwrap' ? sandboxedTrue(dir) : ['bash', '-c', 'true'];
    const xargsBegan = performance.now();
    const xargs = spawnSync('bash', ['-c', `seq ${items} | xargs -P ${concurrency} -I{} ${command.map(shellQuote).join(' ')}`]);
    const xargsMs = performance.now() - xargsBegan;
    if (xargs.status !== 0) throw new Error(`xargs failed: ${xargs.stderr.toString()}`);
    return { items, concurrency, isolation: String(shell.describe().isolation), bargeMs, xargsMs, ratio: bargeMs / xargsMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `bash -c true` in the sandbox barge gives a task, in a work folder of its own. */
function sandboxedTrue(dir: string): string[] {
  const workDir = join(dir, 'xargs-work');
  // The task user (nobody, for a root worker) must be able to enter it, as barge's handOver allows.
  mkdirSync(workDir, { mode: 0o777 });
  return chooseSandbox('bwrap').wrap(['bash', '-c', 'true'], { workDir, cwd: workDir, network: false });
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
