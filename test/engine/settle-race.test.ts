/**
 * Issue 17: branches of a `needs` graph that finish at the same moment, each in its own
 * transaction, must still settle the job (PostgreSQL runs them concurrently under READ COMMITTED).
 * No processes run here: the test claims, starts and finishes executions through the engine, so a
 * whole batch of branches reports within a millisecond or two, many rounds over (a finish that
 * deadlocked past the store's retries would throw here). No reaper runs:
 * the repair safety net must not hide a settling bug.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderArtifactStore } from '../../src/artifacts/artifacts.js';
import type { JobRow } from '../../src/core/model.js';
import { isFinal } from '../../src/core/states.js';
import { Engine } from '../../src/engine/engine.js';
import { newId } from '../../src/engine/ids.js';
import { pgAvailable } from '../helpers/pg.js';
import { makeTestStore, type TestStore } from '../helpers/stores.js';

/** Jobs driven at once, each on its own queue so their claims never take each other's work. */
const LANES = 4;

const GRAPH = [
  { name: 'a', run: 'true' },
  { name: 'b', run: 'exit 3', needs: ['a'] },
  { name: 'c', run: 'true', needs: ['a'] },
  { name: 'd', run: 'true', needs: ['b', 'c'] },
];

const FAN_IN = [
  ...Array.from({ length: 20 }, (_, i) => ({ name: `branch${i}`, run: i % 2 === 0 ? 'exit 1' : 'true' })),
  { name: 'join', run: 'true', needs: Array.from({ length: 20 }, (_, i) => `branch${i}`) },
];

const PARALLEL = [{ name: 'p', parallel: { tasks: Array.from({ length: 10 }, (_, i) => ({ name: `child${i}`, run: 'true' })) } }];

type Outcome = 'SUCCEEDED' | 'FAILED';

describe.skipIf(!pgAvailable())('settling a job when branches finish together (PostgreSQL)', () => {
  let db: TestStore;
  let engine: Engine;

  beforeAll(async () => {
    db = await makeTestStore('postgres');
    engine = new Engine({ store: db.store, artifacts: new FolderArtifactStore(join(db.dir, 'artifacts')) });
  });

  afterAll(async () => {
    await db?.close();
  });

  /**
   * Submits a job on its own queue and plays worker: every round claims all that is runnable,
   * starts it, and finishes it all at once (`outcome` by task name). Answers the job as it is
   * once nothing is left to claim.
   */
  async function drive(tasks: unknown[], outcome: (name: string) => Outcome): Promise<JobRow> {
    const queue = `q${newId()}`;
    const job = await engine.submit({ name: 'race', queue, tasks }, { owner: queue });
    const nodeId = newId();
    for (;;) {
      const claimed = await engine.claim({ nodeId, cpus: 64, memoryMb: 1 << 20, queues: [queue], kinds: ['shell'], max: 64 });
      if (claimed.length === 0) break;
      await Promise.all(claimed.map((e) => engine.start(nodeId, e.id)));
      await Promise.all(
        claimed.map((e) => {
          const state = outcome(e.name);
          const report = { state, exitCode: state === 'FAILED' ? 1 : 0, result: null, error: null, reason: null };
          return engine.finish(nodeId, e.id, report);
        }),
      );
    }
    return engine.getJob(job.id);
  }

  /** Runs `rounds` jobs, `LANES` at a time; answers the jobs as they ended. */
  async function many(rounds: number, run: () => Promise<JobRow>): Promise<JobRow[]> {
    const ended: JobRow[] = [];
    const lane = async (): Promise<void> => {
      while (ended.length < rounds) ended.push(await run());
    };
    await Promise.all(Array.from({ length: LANES }, lane));
    return ended;
  }

  async function expectAllFinal(jobs: JobRow[], state: JobRow['state']): Promise<void> {
    const stuck = jobs.filter((job) => !isFinal(job.state)).map((job) => `${job.id} ${job.state} ${job.progress}%`);
    expect(stuck).toEqual([]);
    expect(new Set(jobs.map((job) => job.state))).toEqual(new Set([state]));
    for (const job of jobs.slice(0, 20)) {
      const counts = await engine.executionCounts(job.id);
      expect(Object.keys(counts).every((s) => isFinal(s as JobRow['state']))).toBe(true);
    }
  }

  it('the issue graph: b fails while c succeeds; the job always ends FAILED with d skipped', { timeout: 240_000 }, async () => {
    const jobs = await many(240, () => drive(GRAPH, (name) => (name === 'b' ? 'FAILED' : 'SUCCEEDED')));
    await expectAllFinal(jobs, 'FAILED');
    const tasks = await db.store.taskList(jobs[0].id);
    expect(tasks.map((t) => [t.name, t.state])).toEqual([
      ['a', 'SUCCEEDED'],
      ['b', 'FAILED'],
      ['c', 'SUCCEEDED'],
      ['d', 'SKIPPED'],
    ]);
  });

  it('the issue graph: b and c succeed together; d runs exactly once and the job SUCCEEDS', { timeout: 240_000 }, async () => {
    const jobs = await many(120, () => drive(GRAPH, () => 'SUCCEEDED'));
    await expectAllFinal(jobs, 'SUCCEEDED');
    for (const job of jobs) expect(await engine.executionCounts(job.id)).toEqual({ SUCCEEDED: 4 });
  });

  it('20 branches into one, half failing, finishing together: the job always ends FAILED', { timeout: 240_000 }, async () => {
    const jobs = await many(120, () => drive(FAN_IN, (name) => (Number(name.slice(6)) % 2 === 0 ? 'FAILED' : 'SUCCEEDED')));
    await expectAllFinal(jobs, 'FAILED');
    for (const job of jobs.slice(0, 20)) expect(await engine.executionCounts(job.id)).toEqual({ FAILED: 10, SUCCEEDED: 10 });
  });

  it('children of a parallel failing together: the parent fails once, siblings stop, the job ends FAILED', { timeout: 240_000 }, async () => {
    const jobs = await many(60, () => drive(PARALLEL, () => 'FAILED'));
    await expectAllFinal(jobs, 'FAILED');
  });

  it('two restarts of a failed job at the same moment: one restarts it, the other is refused', { timeout: 120_000 }, async () => {
    for (let round = 0; round < 40; round += 1) {
      const failed = await drive([{ name: 'only', run: 'exit 1' }], () => 'FAILED');
      expect(failed.state).toBe('FAILED');
      const answers = await Promise.allSettled([engine.restartJob(failed.id), engine.restartJob(failed.id)]);
      expect(answers.map((a) => a.status).sort()).toEqual(['fulfilled', 'rejected']);
      const rows = await db.store.executionList({ jobId: failed.id, limit: 10 });
      expect(rows.map((r) => [r.attempt, r.state])).toEqual([
        [1, 'FAILED'],
        [2, 'RUNNABLE'],
      ]);
    }
  });

  it('two cancels of a running job at the same moment both see it CANCELLED (or are refused)', { timeout: 120_000 }, async () => {
    for (let round = 0; round < 30; round += 1) {
      const queue = `q${newId()}`;
      const job = await engine.submit({ name: 'cancel twice', queue, tasks: [{ name: 'a', run: 'true' }, { name: 'b', run: 'true' }] }, { owner: queue });
      const nodeId = newId();
      const [first] = await engine.claim({ nodeId, cpus: 4, memoryMb: 1024, queues: [queue], kinds: ['shell'], max: 4 });
      await engine.start(nodeId, first.id);
      const answers = await Promise.allSettled([engine.cancelJob(job.id), engine.cancelJob(job.id)]);
      for (const answer of answers) {
        if (answer.status === 'fulfilled') expect(answer.value.state).toBe('CANCELLED');
        else expect(String(answer.reason)).toMatch(/is CANCELLED and cannot be cancelled/);
      }
      expect((await engine.getJob(job.id)).state).toBe('CANCELLED');
      expect(await engine.executionCounts(job.id)).toEqual({ CANCELLED: 1 });
    }
  });
});
