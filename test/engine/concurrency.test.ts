/**
 * Four worker processes drain 20,000 executions from one store: every execution runs exactly
 * once and none is lost. On SQLite they share one file; on PostgreSQL each has its own connections.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FolderArtifactStore } from '../../src/artifacts/artifacts.js';
import { Engine } from '../../src/engine/engine.js';
import { makeTestStore, storeKinds } from '../helpers/stores.js';
import { pgAvailable } from '../helpers/pg.js';

const ITEMS = 20_000;
const WORKERS = 4;

function runWorker(url: string, recordFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/drain-worker.ts', url, recordFile], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

for (const kind of storeKinds) {
  describe.skipIf(kind === 'postgres' && !pgAvailable())(`concurrency on ${kind}`, () => {
    it(`${WORKERS} worker processes drain ${ITEMS} executions exactly once`, { timeout: 300_000 }, async () => {
      const db = await makeTestStore(kind);
      try {
        const engine = new Engine({ store: db.store, artifacts: new FolderArtifactStore(join(db.dir, 'artifacts')) });
        const job = await engine.submit(
          { name: 'drain', tasks: [{ name: 'items', each: { list: `{{ sequence(0, ${ITEMS}) }}`, task: { name: 'item', run: 'true' } } }] },
          { owner: 'load' },
        );
        const files = Array.from({ length: WORKERS }, (_, i) => join(db.dir, `ran-${i}.txt`));
        const codes = await Promise.all(files.map((file) => runWorker(db.url, file)));
        expect(codes).toEqual(Array(WORKERS).fill(0));

        const ran = files.flatMap((file) => readFileSync(file, 'utf8').split('\n').filter(Boolean));
        expect(ran).toHaveLength(ITEMS);
        expect(new Set(ran).size).toBe(ITEMS);
        // Work was shared: every process ran some.
        for (const file of files) expect(readFileSync(file, 'utf8').length).toBeGreaterThan(0);

        const counts = await db.store.executionCountByState({ jobId: job.id });
        expect(counts).toEqual({ SUCCEEDED: ITEMS + 1 });
        const done = await engine.getJob(job.id);
        expect(done.state).toBe('SUCCEEDED');
      } finally {
        await db.close();
      }
    });
  });
}
