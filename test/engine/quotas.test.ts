/**
 * Quotas in the engine, on both stores, with a clock the test moves: claims hold an owner's work
 * past its running quota or once its compute is spent (RUNNABLE, with a reason) and release it
 * when a slot frees or the period turns; other owners are not held; submits are refused by name.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderArtifactStore } from '../../src/artifacts/artifacts.js';
import { createUser } from '../../src/api/auth/index.js';
import { TooManyError } from '../../src/core/errors.js';
import { Engine } from '../../src/engine/engine.js';
import { Scheduler } from '../../src/engine/scheduler.js';
import { pgAvailable } from '../helpers/pg.js';
import { ManualClock } from '../helpers/clock.js';
import { makeTestStore, storeKinds, type TestStore } from '../helpers/stores.js';

const worker = { nodeId: 'node-1', cpus: 16, memoryMb: 65_536, queues: ['default'], kinds: ['shell' as const], max: 10 };
const SUCCEEDED = { state: 'SUCCEEDED' as const, exitCode: 0, result: null, error: null, reason: null };
const array = (name: string, items: number): Record<string, unknown> => ({
  name,
  tasks: [{ name: 'items', each: { list: `{{ sequence(1, ${items + 1}) }}`, task: { name: 'item', run: 'true' } } }],
});

for (const kind of storeKinds) {
  describe.skipIf(kind === 'postgres' && !pgAvailable())(`quotas on ${kind}`, () => {
    let db: TestStore;
    let clock: ManualClock;
    let engine: Engine;

    beforeEach(async () => {
      db = await makeTestStore(kind);
      clock = new ManualClock();
      engine = new Engine({ store: db.store, artifacts: new FolderArtifactStore(join(db.dir, 'a')), clock });
    });
    afterEach(async () => {
      await db.close();
    });

    it('holds work past the running quota with a reason and releases it as slots free; others are not held', async () => {
      await createUser(db.store, { name: 'alice', role: 'user', quotas: { runningExecutions: 2 } });
      const job = await engine.submit(array('five', 5), { owner: 'alice' });
      const first = await engine.claim(worker);
      expect(first).toHaveLength(2);
      const waiting = await db.store.executionList({ jobId: job.id, states: ['RUNNABLE'], limit: 10 });
      expect(waiting).toHaveLength(3);
      for (const execution of waiting) expect(execution.reason).toMatch(/^quota runningExecutions: 2 already running/);
      expect(await engine.claim(worker)).toEqual([]);

      // Another owner, without a quota, is not held by alice's.
      await engine.submit(array('bobs', 3), { owner: 'bob' });
      expect((await engine.claim(worker)).map((e) => e.owner)).toEqual(['bob', 'bob', 'bob']);

      expect(await engine.start('node-1', first[0].id)).toBe(true);
      expect(await engine.finish('node-1', first[0].id, SUCCEEDED)).toBe(true);
      const next = await engine.claim(worker);
      expect(next).toHaveLength(1);
      expect(next[0]).toMatchObject({ owner: 'alice', reason: null });
    });

    it('refuses a submit past the queued quota and keeps nothing of it', async () => {
      await createUser(db.store, { name: 'alice', role: 'user', quotas: { queuedExecutions: 3 } });
      await engine.submit(array('two', 2), { owner: 'alice' });
      await expect(engine.submit(array('two more', 2), { owner: 'alice' })).rejects.toThrow(/^quota queuedExecutions exceeded/);
      expect(await db.store.jobCount({ owner: 'alice' })).toBe(1);
      await engine.submit(array('one more', 1), { owner: 'alice' });
      await expect(engine.submit(array('any', 1), { owner: 'alice' })).rejects.toBeInstanceOf(TooManyError);
    });

    it('counts array items not made yet as queued', async () => {
      const windowed = new Engine({ store: db.store, artifacts: new FolderArtifactStore(join(db.dir, 'w')), clock, arrayWindow: 2 });
      await createUser(db.store, { name: 'alice', role: 'user', quotas: { queuedExecutions: 5 } });
      await expect(windowed.submit(array('eight', 8), { owner: 'alice' })).rejects.toThrow(/^quota queuedExecutions exceeded/);
      await windowed.submit(array('four', 4), { owner: 'alice' });
      expect((await windowed.quotas.usage('alice')).queuedExecutions).toBe(4);
      await expect(windowed.submit(array('two', 2), { owner: 'alice' })).rejects.toBeInstanceOf(TooManyError);
    });

    it('lets a cron firing over the queued quota wait for room instead of failing', async () => {
      const alice = await createUser(db.store, { name: 'alice', role: 'user', quotas: { queuedExecutions: 0 } });
      const scheduler = new Scheduler(engine);
      const schedule = await scheduler.create({ spec: array('cron', 1), cron: '* * * * *', owner: 'alice', origin: 'v1' });
      clock.advance(61_000);
      expect(await scheduler.tick()).toEqual([]);
      expect((await db.store.scheduleGet(schedule.id))?.nextAt).toBe(schedule.nextAt);
      expect(await db.store.jobCount({ owner: 'alice' })).toBe(0);

      await db.store.userUpdate({ id: alice.id, patch: { quotas: { queuedExecutions: 5 } } });
      engine.quotas.forget('alice');
      expect(await scheduler.tick()).toHaveLength(1);
      expect(await db.store.jobCount({ owner: 'alice' })).toBe(1);
    });

    it('holds and refuses once the compute seconds of the period are spent, until the next period', async () => {
      await createUser(db.store, { name: 'alice', role: 'user', quotas: { computeSecondsPerPeriod: 10, periodSeconds: 3600 } });
      await engine.submit(array('burn', 1), { owner: 'alice' });
      const [burning] = await engine.claim(worker);
      await engine.start('node-1', burning.id);
      clock.advance(11_000);
      await engine.finish('node-1', burning.id, SUCCEEDED);

      const error = await engine.submit(array('more', 1), { owner: 'alice' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TooManyError);
      expect((error as TooManyError).message).toMatch(/^quota computeSecondsPerPeriod exceeded: alice used 11 of 10/);
      expect((error as TooManyError).retryAfterSeconds).toBeGreaterThan(0);

      // Work already queued waits, with the reason, until the period turns.
      await db.store.userUpdate({ id: (await db.store.userGetByName('alice'))!.id, patch: { quotas: { computeSecondsPerPeriod: 20, periodSeconds: 3600 } } });
      engine.quotas.forget('alice');
      const queued = await engine.submit(array('queued', 1), { owner: 'alice' });
      await db.store.userUpdate({ id: (await db.store.userGetByName('alice'))!.id, patch: { quotas: { computeSecondsPerPeriod: 10, periodSeconds: 3600 } } });
      engine.quotas.forget('alice');
      expect(await engine.claim(worker)).toEqual([]);
      const [held] = await db.store.executionList({ jobId: queued.id, states: ['RUNNABLE'], limit: 10 });
      expect(held.reason).toMatch(/^quota computeSecondsPerPeriod/);

      clock.advance(3_600_000);
      expect((await engine.claim(worker)).map((e) => e.jobId)).toEqual([queued.id]);
      expect((await engine.quotas.usage('alice')).computeSeconds).toBe(0);
    });
  });
}
