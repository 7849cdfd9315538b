/**
 * The reaper on both stores: an execution whose worker vanished (its lease lapsed) comes back as a
 * new attempt, or fails once the rescue budget is spent; a timeout the worker missed is enforced;
 * a silent node is marked DOWN; only one reaper leads at a time.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderArtifactStore } from '../../src/artifacts/artifacts.js';
import { Engine } from '../../src/engine/engine.js';
import { Reaper } from '../../src/engine/reaper.js';
import type { NodeRow } from '../../src/core/model.js';
import { ManualClock } from '../helpers/clock.js';
import { makeTestStore, storeKinds, type TestStore } from '../helpers/stores.js';
import { pgAvailable } from '../helpers/pg.js';

const worker = { cpus: 4, memoryMb: 4096, queues: ['default'], kinds: ['shell' as const], max: 10 };

for (const kind of storeKinds) {
  describe.skipIf(kind === 'postgres' && !pgAvailable())(`reaper on ${kind}`, () => {
    let db: TestStore;
    let clock: ManualClock;
    let engine: Engine;
    let reaper: Reaper;

    beforeEach(async () => {
      db = await makeTestStore(kind);
      clock = new ManualClock();
      engine = new Engine({ store: db.store, artifacts: new FolderArtifactStore(join(db.dir, 'a')), clock, leaseMs: 1_000, rescueBudget: 1 });
      reaper = new Reaper(engine, { nodeId: 'reaper-1', heartbeatWindowMs: 5_000, timeoutGraceMs: 500 });
    });
    afterEach(async () => {
      await db.close();
    });

    it('accepts a finish sent again after its answer was lost, changing nothing and recording no refusal', async () => {
      const job = await engine.submit({ name: 'twice', tasks: [{ name: 't', run: 'true' }] }, { owner: 'o' });
      const [execution] = await engine.claim({ nodeId: 'node-1', ...worker });
      expect(await engine.start('node-1', execution.id)).toBe(true);
      const report = { state: 'SUCCEEDED' as const, exitCode: 0, result: 'r', error: null, reason: null };
      expect(await engine.finish('node-1', execution.id, report)).toBe(true);
      const eventsBefore = await db.store.eventList({ jobId: job.id, limit: 100 });
      expect(await engine.finish('node-1', execution.id, report)).toBe(true);
      expect(await db.store.eventList({ jobId: job.id, limit: 100 })).toEqual(eventsBefore);
      expect((await engine.getJob(job.id)).state).toBe('SUCCEEDED');
      // A different end from the same node is not the same report: refused.
      expect(await engine.finish('node-1', execution.id, { ...report, state: 'FAILED', exitCode: 2 })).toBe(false);
    });

    it('gives a lapsed lease to a new attempt, then fails it when the rescue budget is spent', async () => {
      const job = await engine.submit({ name: 'orphan', tasks: [{ name: 't', run: 'true' }] }, { owner: 'o' });
      const [first] = await engine.claim({ nodeId: 'dead-node', ...worker });
      expect(await engine.start('dead-node', first.id)).toBe(true);

      clock.advance(500);
      expect((await reaper.sweep()).rescued).toBe(0);
      clock.advance(1_000);
      expect((await reaper.sweep()).rescued).toBe(1);

      const rows = await db.store.executionList({ jobId: job.id, limit: 10 });
      expect(rows.map((r) => [r.attempt, r.state, r.reason])).toEqual([
        [1, 'FAILED', 'lease expired'],
        [2, 'RUNNABLE', null],
      ]);
      // The dead worker's late report changes nothing, and the job's history says it was refused.
      expect(await engine.finish('dead-node', first.id, { state: 'SUCCEEDED', exitCode: 0, result: null, error: null, reason: null })).toBe(false);
      const refused = (await db.store.eventList({ jobId: job.id, limit: 100 })).filter((e) => e.kind === 'execution.report_refused');
      expect(refused.map((e) => [e.executionId, e.state, e.data])).toEqual([[first.id, 'FAILED', { nodeId: 'dead-node', reported: 'SUCCEEDED', exitCode: 0 }]]);
      expect(refused[0].message).toMatch(/too late: the execution is already FAILED \(lease expired\)/);

      const [second] = await engine.claim({ nodeId: 'dead-again', ...worker });
      expect(second.attempt).toBe(2);
      clock.advance(2_000);
      await reaper.sweep();
      expect((await engine.getJob(job.id)).state).toBe('FAILED');
      expect((await db.store.executionList({ jobId: job.id, limit: 10 })).map((r) => r.state)).toEqual(['FAILED', 'FAILED']);
    });

    it('fails a running execution past its timeout when its worker did not', async () => {
      const job = await engine.submit({ name: 'slow', tasks: [{ name: 't', timeout: '2s', run: 'sleep 100' }] }, { owner: 'o' });
      const [row] = await engine.claim({ nodeId: 'stuck-node', ...worker });
      await engine.start('stuck-node', row.id);
      // The stuck worker keeps renewing its lease, so only the timeout can end it.
      clock.advance(2_000);
      await engine.renewLeases('stuck-node', [row.id]);
      expect((await reaper.sweep()).timedOut).toBe(0);
      clock.advance(600);
      await engine.renewLeases('stuck-node', [row.id]);
      expect((await reaper.sweep()).timedOut).toBe(1);
      const after = await engine.getExecution(row.id);
      expect([after.state, after.reason]).toEqual(['FAILED', 'timeout']);
      expect((await engine.getJob(job.id)).state).toBe('FAILED');
      expect(await engine.renewLeases('stuck-node', [row.id])).toEqual([]);
    });

    it('marks a silent node DOWN', async () => {
      const node = (id: string): NodeRow => ({
        id, name: id, role: 'worker', hostname: 'h', version: 't', startedAt: clock.now().toISOString(),
        lastHeartbeatAt: clock.now().toISOString(), cpuPercent: 0, cpus: 1, memoryMb: 1, usedCpus: 0,
        usedMemoryMb: 0, queues: ['default'], status: 'UP', info: {},
      });
      await engine.heartbeat(node('quiet'));
      clock.advance(4_000);
      await engine.heartbeat(node('chatty'));
      clock.advance(2_000);
      expect((await reaper.sweep()).down).toBe(1);
      const statuses = Object.fromEntries((await db.store.nodeList({})).map((n) => [n.id, n.status]));
      expect(statuses).toEqual({ quiet: 'DOWN', chatty: 'UP' });
    });

    it('deletes a finished job once its autoDelete time has passed', async () => {
      const job = await engine.submit({ name: 'ephemeral', autoDelete: { after: '1m' }, tasks: [{ name: 't', run: 'true' }] }, { owner: 'o' });
      const [row] = await engine.claim({ nodeId: 'n', ...worker });
      await engine.start('n', row.id);
      await engine.finish('n', row.id, { state: 'SUCCEEDED', exitCode: 0, result: null, error: null, reason: null });
      const done = await engine.getJob(job.id);
      expect(done.state).toBe('SUCCEEDED');
      expect(done.metadata.deleteAt).toBe(new Date(clock.now().getTime() + 60_000).toISOString());
      clock.advance(30_000);
      await new Reaper(engine, { nodeId: 'r' }).sweep();
      expect((await engine.getJob(job.id)).state).toBe('SUCCEEDED');
      clock.advance(31_000);
      await new Reaper(engine, { nodeId: 'r' }).sweep();
      await expect(engine.getJob(job.id)).rejects.toThrow(/not found/);
    });

    it('lets one reaper lead at a time', async () => {
      const other = new Reaper(engine, { nodeId: 'reaper-2' });
      await engine.submit({ name: 'x', tasks: [{ name: 't', run: 'true' }] }, { owner: 'o' });
      const [row] = await engine.claim({ nodeId: 'gone', ...worker });
      await reaper.sweep();
      clock.advance(1_500);
      expect((await other.sweep()).rescued).toBe(0);
      expect((await engine.getExecution(row.id)).state).toBe('STARTING');
      expect((await reaper.sweep()).rescued).toBe(1);
    });
  });
}
