/**
 * bench/claim-quotas: what per-user quotas add to the claim path. 2,000 array items are claimed 8
 * at a time (each then started and finished at once, no process run) for an owner without quotas
 * and for one with a running and a compute quota that never bind, on one SQLite store, in the same
 * run. Prints both times and the ratio with/without (1.0 would be free).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUser } from '../src/api/auth/index.js';
import { FolderArtifactStore } from '../src/artifacts/artifacts.js';
import { Engine } from '../src/engine/engine.js';
import { openStore } from '../src/store/open.js';

export interface ClaimQuotasResult {
  items: number;
  batch: number;
  freeMs: number;
  limitedMs: number;
  ratio: number;
}

const DONE = { state: 'SUCCEEDED' as const, exitCode: 0, result: null, error: null, reason: null };

export async function claimQuotas(items = 2_000, batch = 8): Promise<ClaimQuotasResult> {
  const dir = mkdtempSync(join(tmpdir(), 'barge-bench-'));
  const store = await openStore(`sqlite:${join(dir, 'barge.db')}`);
  try {
    const engine = new Engine({ store, artifacts: new FolderArtifactStore(join(dir, 'artifacts')) });
    await createUser(store, { name: 'free', role: 'user' });
    await createUser(store, { name: 'limited', role: 'user', quotas: { runningExecutions: batch, computeSecondsPerPeriod: 1_000_000 } });
    const drain = async (owner: string): Promise<number> => {
      const spec = { name: owner, tasks: [{ name: 'items', each: { list: `{{ sequence(1, ${items + 1}) }}`, task: { name: 'item', run: 'true' } } }] };
      await engine.submit(spec, { owner });
      const started = performance.now();
      for (let claimed = 0; claimed < items; ) {
        const executions = await engine.claim({ nodeId: 'bench', cpus: batch, memoryMb: 1 << 20, queues: ['default'], kinds: ['shell'], max: batch });
        if (executions.length === 0) throw new Error(`nothing to claim for ${owner} after ${claimed}`);
        for (const execution of executions) {
          await engine.start('bench', execution.id);
          await engine.finish('bench', execution.id, DONE);
        }
        claimed += executions.length;
      }
      return performance.now() - started;
    };
    const freeMs = await drain('free');
    const limitedMs = await drain('limited');
    return { items, batch, freeMs, limitedMs, ratio: limitedMs / freeMs };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
