/**
 * A task printing 200 MB of tiny lines, on both stores: the log is stored in chunks, bounded by
 * the cap counted in stored bytes (overhead included), says it was truncated, and goes with its
 * job. Figures (stored bytes and chunks' lines, the longest event-loop block) are printed.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { makeEngine, type EngineBundle } from '../helpers/engine.js';
import { storeKinds } from '../helpers/stores.js';
import { pgAvailable } from '../helpers/pg.js';

/** The worker's default cap on what one execution's log takes in storage. */
const CAP_BYTES = 10 * 1024 * 1024;

for (const kind of storeKinds) {
  describe.skipIf(kind === 'postgres' && !pgAvailable())(`a 200 MB log of tiny lines on ${kind}`, () => {
    let bundle: EngineBundle | undefined;
    afterEach(async () => {
      await bundle?.stop();
      bundle = undefined;
    });

    it('is stored in chunks within the cap, says it was truncated, and is deleted with its job', { timeout: 180_000 }, async () => {
      bundle = await makeEngine(kind);
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const job = await bundle.run({
        name: 'chatty',
        tasks: [{ name: 'print', run: "head -c 200000000 /dev/zero | tr '\\0' x | fold -w 39" }],
      });
      loop.disable();
      expect(job.state).toBe('SUCCEEDED');
      const [execution] = await bundle.engine.store.executionList({ jobId: job.id, limit: 1 });
      const size = await bundle.engine.store.logSize({ executionId: execution.id });
      console.log(
        `200 MB of 40-byte lines on ${kind}: ${size.lines} lines kept in ${size.bytes} stored bytes (cap ${CAP_BYTES}); ` +
          `event loop blocked at most ${Math.round(loop.max / 1e6)} ms`,
      );
      expect(size.bytes).toBeLessThanOrEqual(CAP_BYTES);
      expect(size.lines).toBeGreaterThan(100_000);
      const [last] = await bundle.engine.store.logList({ executionId: execution.id, afterNumber: size.lines - 1, limit: 1 });
      expect(last.stream).toBe('system');
      expect(last.line).toMatch(/^log truncated: \d+ lines \(\d+ bytes\) past the 10485760-byte cap were not kept$/);
      const first = await bundle.engine.store.logList({ executionId: execution.id, limit: 2 });
      expect(first.map((l) => [l.number, l.line])).toEqual([
        [1, 'x'.repeat(39)],
        [2, 'x'.repeat(39)],
      ]);

      await bundle.engine.deleteJob(job.id);
      expect(await bundle.engine.store.logSize({ executionId: execution.id })).toEqual({ lines: 0, bytes: 0 });
    });
  });
}
