/**
 * The store conformance suite: one set of cases, run against every Store implementation
 * (sqlite.test.ts, postgres.test.ts). A store change starts by changing this file.
 *
 * Each case gets a fresh, migrated, empty store from `makeStore` and closes it after.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderArtifactStore } from '../../src/artifacts/artifacts.js';
import { Engine } from '../../src/engine/engine.js';
import { Reaper } from '../../src/engine/reaper.js';
import type { EventRow, ExecutionRow, JobRow, LogLine, OutboxRow, OutsideJobRow, PubkeyRow, State, TokenRow, UserRow } from '../../src/core/model.js';
import type { Store } from '../../src/store/store.js';
import {
  at,
  makeExecution,
  makeJob,
  makeNode,
  makeOutbox,
  makeSchedule,
  makeTask,
  newTestId,
} from './fixtures.js';
import { registryCases } from './registry-conformance.js';

export function runStoreConformance(name: string, makeStore: () => Promise<Store>): void {
  describe(`${name} store conformance`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await makeStore();
    });

    afterEach(async () => {
      await store.close();
    });

    /** Inserts jobs one at a time so their insertion order (seq) is the array order. */
    async function insertJobs(jobs: JobRow[]): Promise<JobRow[]> {
      for (const job of jobs) await store.jobInsert(job);
      return jobs;
    }

    async function insertJobWithExecutions(
      count: number,
      overrides: Partial<ExecutionRow> = {},
      jobOverrides: Partial<JobRow> = {},
    ): Promise<{ job: JobRow; executions: ExecutionRow[] }> {
      const job = makeJob(jobOverrides);
      await store.jobInsert(job);
      const executions = Array.from({ length: count }, (_, i) => makeExecution(job, { idx: i, ...overrides }));
      await store.executionInsertMany(executions);
      return { job, executions };
    }

    const ids = (rows: Array<{ id: string }>) => rows.map((row) => row.id);

    /** Deletes a whole job the way the engine does: step after step until the job row goes. */
    async function deleteJob(id: string): Promise<'deleted' | 'missing'> {
      for (;;) {
        const outcome = await store.jobDeleteSome({ id, executions: 1, logChunks: 1, events: 1 });
        if (outcome !== 'more') return outcome;
      }
    }

    describe('jobs: insert and read', () => {
      it('reads back exactly what was inserted, JSON fields and nulls included', async () => {
        const job = makeJob({
          description: 'described',
          tags: ['a', 'b'],
          inputs: { size: '3' },
          secrets: { token: 's3cret' },
          metadata: { nested: { list: [1, 'two', null], flag: true } },
          priority: 7,
          progress: 42.5,
          vars: { out: 'x' },
          parentExecutionId: 'parent-exec',
        });
        await store.jobInsert(job);
        expect(await store.jobGet(job.id)).toEqual(job);
      });

      it('answers undefined for an unknown id', async () => {
        expect(await store.jobGet(newTestId())).toBeUndefined();
      });

      it('sets vars one key at a time, concurrent writers all kept, odd key names included', async () => {
        const job = makeJob({ vars: { first: '1' } });
        await store.jobInsert(job);
        await Promise.all(
          ['a', 'b.c', 'd[0]', 'e"f'].map((name, i) => store.tx((tx) => tx.jobSetVar({ id: job.id, name, value: `v${i}` }))),
        );
        await store.jobSetVar({ id: job.id, name: 'first', value: 'replaced' });
        expect((await store.jobGet(job.id))?.vars).toEqual({ first: 'replaced', a: 'v0', 'b.c': 'v1', 'd[0]': 'v2', 'e"f': 'v3' });
      });

      it('refuses a second job with the same id', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        await expect(store.jobInsert({ ...job, name: 'again' })).rejects.toMatchObject({ code: 'BARGE_E_CONFLICT' });
        expect((await store.jobGet(job.id))?.name).toBe(job.name);
      });
    });

    describe('ids by prefix', () => {
      it('answers the ids starting with a prefix, in id order, within the limit, and none of their neighbours', async () => {
        const names = ['abcdef00', 'abcdef01', 'abcdef1f', 'abcdee99', 'abcdf000', 'ffffff00'];
        const jobs = await insertJobs(names.map((start) => makeJob({ id: start.padEnd(32, '0') })));
        const [first, second, third] = jobs;
        expect(await store.idsByPrefix({ table: 'jobs', prefix: 'abcdef', limit: 10 })).toEqual(ids([first!, second!, third!]));
        expect(await store.idsByPrefix({ table: 'jobs', prefix: 'abcdef0', limit: 10 })).toEqual(ids([first!, second!]));
        expect(await store.idsByPrefix({ table: 'jobs', prefix: 'abcdef', limit: 2 })).toEqual(ids([first!, second!]));
        expect(await store.idsByPrefix({ table: 'jobs', prefix: 'ffffff', limit: 10 })).toEqual([jobs[5]!.id]);
        expect(await store.idsByPrefix({ table: 'jobs', prefix: first!.id, limit: 10 })).toEqual([first!.id]);
        expect(await store.idsByPrefix({ table: 'jobs', prefix: '012345', limit: 10 })).toEqual([]);
      });

      it('looks executions up in their own table', async () => {
        const job = makeJob({ id: 'aaaaaa'.padEnd(32, '1') });
        await store.jobInsert(job);
        const executions = ['aaaaaa', 'aaaaab'].map((start, idx) => makeExecution(job, { id: start.padEnd(32, '2'), idx }));
        await store.executionInsertMany(executions);
        expect(await store.idsByPrefix({ table: 'executions', prefix: 'aaaaaa', limit: 10 })).toEqual([executions[0]!.id]);
        expect(await store.idsByPrefix({ table: 'jobs', prefix: 'aaaaaa', limit: 10 })).toEqual([job.id]);
      });
    });

    describe('jobs: list, paging, cursor, filters', () => {
      it('lists newest first with limit and offset', async () => {
        const jobs = await insertJobs(Array.from({ length: 5 }, (_, i) => makeJob({ name: `job ${i}` })));
        const newestFirst = ids(jobs).reverse();
        expect(ids(await store.jobList({ limit: 10 }))).toEqual(newestFirst);
        expect(ids(await store.jobList({ limit: 2 }))).toEqual(newestFirst.slice(0, 2));
        expect(ids(await store.jobList({ limit: 2, offset: 2 }))).toEqual(newestFirst.slice(2, 4));
        expect(ids(await store.jobList({ limit: 2, offset: 4 }))).toEqual(newestFirst.slice(4));
      });

      it('pages by cursor (beforeId) without gaps or repeats', async () => {
        const jobs = await insertJobs(Array.from({ length: 7 }, () => makeJob()));
        const seen: string[] = [];
        let beforeId: string | undefined;
        for (;;) {
          const page = await store.jobList({ limit: 3, beforeId });
          if (page.length === 0) break;
          seen.push(...ids(page));
          beforeId = page[page.length - 1].id;
        }
        expect(seen).toEqual(ids(jobs).reverse());
      });

      it('filters by owner, states, queue, origin, creation window and sub-jobs, and counts alike', async () => {
        const [a, b, c, d] = await insertJobs([
          makeJob({ owner: 'alice', state: 'RUNNING', queue: 'default', origin: 'v1', createdAt: at(1_000) }),
          makeJob({ owner: 'bob', state: 'FAILED', queue: 'gpu', origin: 'tork', createdAt: at(2_000) }),
          makeJob({ owner: 'alice', state: 'SUCCEEDED', queue: 'gpu', origin: 'tork', createdAt: at(3_000) }),
          makeJob({ owner: 'alice', state: 'RUNNING', parentExecutionId: 'exec-1', createdAt: at(4_000) }),
        ]);
        const cases: Array<[Parameters<Store['jobList']>[0], JobRow[]]> = [
          [{ limit: 10, owner: 'alice' }, [d, c, a]],
          [{ limit: 10, states: ['FAILED', 'SUCCEEDED'] }, [c, b]],
          [{ limit: 10, queue: 'gpu' }, [c, b]],
          [{ limit: 10, origin: 'tork' }, [c, b]],
          [{ limit: 10, createdAfter: at(2_000), createdBefore: at(4_000) }, [c, b]],
          [{ limit: 10, includeSubjobs: false }, [c, b, a]],
          [{ limit: 10, owner: 'alice', states: ['RUNNING'], includeSubjobs: false }, [a]],
          [{ limit: 10, states: [] }, [d, c, b, a]],
        ];
        for (const [params, expected] of cases) {
          expect(ids(await store.jobList(params)), JSON.stringify(params)).toEqual(ids(expected));
          expect(await store.jobCount(params), JSON.stringify(params)).toBe(expected.length);
        }
      });

      it('counts jobs by state under a filter', async () => {
        await insertJobs([
          makeJob({ state: 'RUNNING' }),
          makeJob({ state: 'RUNNING' }),
          makeJob({ state: 'FAILED' }),
          makeJob({ state: 'FAILED', owner: 'bob' }),
        ]);
        expect(await store.jobCountByState({})).toEqual({ RUNNING: 2, FAILED: 2 });
        expect(await store.jobCountByState({ owner: 'alice' })).toEqual({ RUNNING: 2, FAILED: 1 });
      });

      it('lists the sub-jobs of given executions', async () => {
        const [, child1, child2] = await insertJobs([
          makeJob(),
          makeJob({ parentExecutionId: 'exec-1' }),
          makeJob({ parentExecutionId: 'exec-2' }),
          makeJob({ parentExecutionId: 'exec-3' }),
        ]);
        const found = await store.jobListByParentExecution(['exec-1', 'exec-2', 'exec-9']);
        expect(ids(found).sort()).toEqual([child1.id, child2.id].sort());
        expect(await store.jobListByParentExecution([])).toEqual([]);
      });
    });

    describe('jobs: search (Tork fixture)', () => {
      beforeEach(async () => {
        // 101 RUNNING jobs "Job 1".."Job 101", tagged tag-0..tag-100.
        const jobs = Array.from({ length: 101 }, (_, i) =>
          makeJob({ name: `Job ${i + 1}`, tags: [`tag-${i}`], state: 'RUNNING' }),
        );
        await insertJobs(jobs);
      });

      it('finds jobs by name words, stemmed state and tags', async () => {
        expect(await store.jobCount({ q: '101' })).toBe(1);
        expect((await store.jobList({ limit: 5, q: '101' }))[0].name).toBe('Job 101');
        expect(await store.jobCount({ q: 'Job' })).toBe(101);
        expect(await store.jobCount({ q: 'running' })).toBe(101);
        expect(await store.jobCount({ tags: ['tag-1'] })).toBe(1);
        expect((await store.jobList({ limit: 5, tags: ['tag-1'] }))[0].name).toBe('Job 2');
        expect(await store.jobCount({ tags: ['not-a-tag', 'tag-1'] })).toBe(1);
        expect(await store.jobCount({ tags: ['not-a-tag'] })).toBe(0);
      });

      it('stems English words', async () => {
        expect(await store.jobCount({ q: 'run' })).toBe(101);
        expect(await store.jobCount({ q: 'jobs' })).toBe(101);
        expect(await store.jobCount({ q: 'runner' })).toBe(0);
      });

      it('requires every word and ignores blank queries', async () => {
        expect(await store.jobCount({ q: 'job 101' })).toBe(1);
        expect(await store.jobCount({ q: 'job nowhere' })).toBe(0);
        expect(await store.jobCount({ q: '   ' })).toBe(101);
      });

      it('treats search syntax in user input as plain text', async () => {
        for (const q of ['"unbalanced', 'NEAR(job', 'job*', 'tag:x', 'job AND', 'OR', "it's", '-job', 'a:b:c', '(', '^job']) {
          await expect(store.jobCount({ q }), q).resolves.toBeGreaterThanOrEqual(0);
        }
      });

      it('follows state changes', async () => {
        const [job] = await store.jobList({ limit: 1, q: '101' });
        expect(await store.jobSetState({ id: job.id, from: ['RUNNING'], to: 'SUCCEEDED' })).toBe(true);
        expect(await store.jobCount({ q: 'succeeded' })).toBe(1);
        expect(await store.jobCount({ q: 'running' })).toBe(100);
      });

      it('combines search with other filters and paging', async () => {
        expect(await store.jobCount({ q: 'job', tags: ['tag-5'] })).toBe(1);
        const page = await store.jobList({ limit: 10, offset: 95, q: 'job' });
        expect(page.map((j) => j.name)).toEqual(['Job 6', 'Job 5', 'Job 4', 'Job 3', 'Job 2', 'Job 1']);
      });
    });

    describe('jobs: guarded writes, updates, delete', () => {
      it('writes the state and patch only from an allowed state', async () => {
        const job = makeJob({ state: 'RUNNING' });
        await store.jobInsert(job);
        const wrong = await store.jobSetState({ id: job.id, from: ['PENDING'], to: 'FAILED', patch: { error: 'no' } });
        expect(wrong).toBe(false);
        expect(await store.jobGet(job.id)).toEqual(job);

        const patch = { completedAt: at(5_000), result: 'done', progress: 100, vars: { v: '1' } };
        expect(await store.jobSetState({ id: job.id, from: ['PENDING', 'RUNNING'], to: 'SUCCEEDED', patch })).toBe(true);
        expect(await store.jobGet(job.id)).toEqual({ ...job, ...patch, state: 'SUCCEEDED' });
        expect(await store.jobSetState({ id: newTestId(), from: ['RUNNING'], to: 'FAILED' })).toBe(false);
      });

      it('updates fields without a guard and merges metadata shallowly', async () => {
        const job = makeJob({ metadata: { keep: 1, replace: 'old' } });
        await store.jobInsert(job);
        await store.jobUpdate({ id: job.id, patch: { progress: 50, error: 'partial' }, metadata: { replace: 'new', added: [1] } });
        expect(await store.jobGet(job.id)).toEqual({
          ...job,
          progress: 50,
          error: 'partial',
          metadata: { keep: 1, replace: 'new', added: [1] },
        });
        await store.jobUpdate({ id: job.id, patch: { error: null } });
        expect((await store.jobGet(job.id))?.error).toBeNull();
      });

      it('deletes a job with its tasks, executions, log lines, events and artifacts, and nothing else', async () => {
        const seed = async () => {
          const { job, executions } = await insertJobWithExecutions(2);
          await store.taskInsertMany([makeTask(job)]);
          await store.logAppendMany(executions.map((e) => logLine(e.id, 1)));
          await store.eventInsertMany([event(job.id, executions[0].id)]);
          await store.artifactInsertMany([{ executionId: executions[0].id, jobId: job.id, path: 'out.txt', size: 3, createdAt: at(0) }]);
          return { job, executions };
        };
        const doomed = await seed();
        const kept = await seed();

        expect(await deleteJob(doomed.job.id)).toBe('deleted');
        expect(await store.jobGet(doomed.job.id)).toBeUndefined();
        expect(await store.taskList(doomed.job.id)).toEqual([]);
        expect(await store.executionList({ jobId: doomed.job.id, limit: 10 })).toEqual([]);
        expect(await store.logCount({ executionId: doomed.executions[0].id })).toBe(0);
        expect(await store.eventList({ jobId: doomed.job.id, limit: 10 })).toEqual([]);
        expect(await store.artifactList({ jobId: doomed.job.id })).toEqual([]);

        expect(await store.jobGet(kept.job.id)).toBeDefined();
        expect(await store.taskList(kept.job.id)).toHaveLength(1);
        expect(await store.executionList({ jobId: kept.job.id, limit: 10 })).toHaveLength(2);
        expect(await store.logCount({ jobId: kept.job.id })).toBe(2);
        expect(await store.eventList({ jobId: kept.job.id, limit: 10 })).toHaveLength(1);
        expect(await store.artifactList({ jobId: kept.job.id })).toHaveLength(1);

        expect(await deleteJob(doomed.job.id)).toBe('missing');
      });

      it('deletes a big job in bounded steps: logs, then executions, then events, then the job', async () => {
        const { job, executions } = await insertJobWithExecutions(5);
        await store.taskInsertMany([makeTask(job)]);
        await store.logAppendMany([1, 2, 3].map((n) => logLine(executions[0].id, n)));
        await store.logAppendMany([4, 5].map((n) => logLine(executions[0].id, n)));
        await store.logAppendMany([6].map((n) => logLine(executions[0].id, n)));
        await store.eventInsertMany([1, 2, 3].map(() => event(job.id, executions[0].id)));
        await store.arrayItemsInsert({ executionId: executions[0].id, chunks: [{ chunk: 0, items: '[1]' }] });
        const limits = { executions: 2, logChunks: 2, events: 2 };
        const counts = async () => ({
          lines: await store.logCount({ jobId: job.id }),
          executions: (await store.executionList({ jobId: job.id, limit: 10 })).length,
          events: (await store.eventList({ jobId: job.id, limit: 10 })).length,
        });
        // Two of the three log chunks go first, and nothing else.
        expect(await store.jobDeleteSome({ id: job.id, ...limits })).toBe('more');
        expect(await counts()).toEqual({ lines: 1, executions: 5, events: 3 });
        // The last chunk, then the first two executions with their stored list.
        expect(await store.jobDeleteSome({ id: job.id, ...limits })).toBe('more');
        expect(await counts()).toEqual({ lines: 0, executions: 3, events: 3 });
        expect(await store.arrayItemsGet({ executionId: executions[0].id, chunks: [0] })).toEqual([]);
        const outcomes = [];
        for (let step = 0; step < 10; step += 1) {
          const outcome = await store.jobDeleteSome({ id: job.id, ...limits });
          outcomes.push(outcome);
          if (outcome !== 'more') break;
        }
        // 3 executions in two steps, 3 events in two steps, then the job.
        expect(outcomes).toEqual(['more', 'more', 'more', 'more', 'deleted']);
        expect(await store.jobGet(job.id)).toBeUndefined();
        expect(await store.taskList(job.id)).toEqual([]);
      });

      it('lists the sub-jobs started by a job\'s executions', async () => {
        const { job, executions } = await insertJobWithExecutions(2, { kind: 'subjob' });
        const sub = makeJob({ parentExecutionId: executions[1].id });
        const unrelated = makeJob({ parentExecutionId: 'elsewhere' });
        await insertJobs([sub, unrelated]);
        expect(ids(await store.jobListSubjobs(job.id))).toEqual([sub.id]);
      });
    });

    describe('tasks', () => {
      it('inserts many, lists by position, reads one, guards state, resets', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        const tasks = [
          makeTask(job, { position: 1, name: 'second', needs: ['x'], state: 'FAILED' }),
          makeTask(job, { position: 0, name: 'first', state: 'SUCCEEDED' }),
          makeTask(job, { position: 2, name: 'third', state: 'PENDING' }),
        ];
        await store.taskInsertMany(tasks);
        expect(await store.taskList(job.id)).toEqual([tasks[1], tasks[0], tasks[2]]);
        expect(await store.taskGet(tasks[0].id)).toEqual(tasks[0]);
        expect(await store.taskGet(newTestId())).toBeUndefined();

        expect(await store.taskSetState({ id: tasks[2].id, from: ['RUNNING'], to: 'SUCCEEDED' })).toBe(false);
        expect(await store.taskSetState({ id: tasks[2].id, from: ['PENDING'], to: 'RUNNING' })).toBe(true);
        expect((await store.taskGet(tasks[2].id))?.state).toBe('RUNNING');

        await store.taskReset({ ids: [tasks[0].id, tasks[1].id] });
        expect((await store.taskList(job.id)).map((t) => t.state)).toEqual(['PENDING', 'PENDING', 'RUNNING']);
        await store.taskReset({ ids: [] });
      });
    });

    describe('executions: insert, read, count', () => {
      it('inserts 10,000 in one call and counts them by state', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        const states: State[] = ['RUNNABLE', 'PENDING', 'SUCCEEDED', 'FAILED'];
        const rows = Array.from({ length: 10_000 }, (_, i) =>
          makeExecution(job, { idx: i, state: states[i % 4], spec: { name: `item ${i}`, run: 'true', args: [`${i}`] } }),
        );
        const started = performance.now();
        await store.executionInsertMany(rows);
        const ms = performance.now() - started;
        console.info(`[${name}] executionInsertMany 10,000 rows: ${ms.toFixed(0)} ms`);
        expect(ms).toBeLessThan(5_000);
        expect(await store.executionCountByState({ jobId: job.id })).toEqual({
          RUNNABLE: 2_500,
          PENDING: 2_500,
          SUCCEEDED: 2_500,
          FAILED: 2_500,
        });
        const last = await store.executionGet(rows[9_999].id);
        expect(last).toEqual({ ...rows[9_999], seq: expect.any(Number) });
      });

      it('reads back exactly what was inserted, with an increasing seq', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        const rows = [
          makeExecution(job, {
            parentId: 'parent',
            idx: 3,
            attempt: 2,
            kind: 'lua',
            cpus: 0.5,
            memoryMb: 128,
            nodeId: 'node',
            leaseExpiresAt: at(1),
            notBefore: at(2),
            timeoutMs: 3_600_000,
            scheduledAt: at(3),
            startedAt: at(4),
            completedAt: at(5),
            exitCode: 3,
            result: 'r',
            error: 'e',
            reason: 'timeout',
            progress: 12.5,
            childCount: 4,
            childDone: 1,
          }),
          makeExecution(job),
        ];
        await store.executionInsertMany(rows);
        const [first, second] = await Promise.all(rows.map((row) => store.executionGet(row.id)));
        expect(first).toEqual({ ...rows[0], seq: expect.any(Number) });
        expect(second?.seq).toBeGreaterThan(first?.seq ?? Infinity);
        expect(await store.executionGet(newTestId())).toBeUndefined();
        await store.executionInsertMany([]);
      });

      it('lists by job, task, parent, node and state; pages by seq; orders by idx', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        const parent = makeExecution(job, { kind: 'each', state: 'RUNNING', taskId: 'each-task' });
        const children = [2, 0, 1].map((idx) =>
          makeExecution(job, { parentId: parent.id, idx, taskId: 'each-task', state: idx === 1 ? 'PENDING' : 'RUNNABLE' }),
        );
        const other = makeExecution(job, { taskId: 'other', state: 'RUNNING', nodeId: 'node-1' });
        await store.executionInsertMany([parent, ...children, other]);

        expect(ids(await store.executionList({ jobId: job.id, limit: 10 }))).toEqual(ids([parent, ...children, other]));
        expect(ids(await store.executionList({ taskId: 'each-task', parentId: null, limit: 10 }))).toEqual([parent.id]);
        expect(ids(await store.executionList({ parentId: parent.id, limit: 10, orderByIdx: true }))).toEqual(
          ids([children[1], children[2], children[0]]),
        );
        expect(ids(await store.executionList({ parentId: parent.id, states: ['PENDING'], limit: 10 }))).toEqual([children[2].id]);
        expect(ids(await store.executionList({ nodeId: 'node-1', limit: 10 }))).toEqual([other.id]);
        const [firstPage] = await store.executionList({ jobId: job.id, limit: 2 });
        expect(ids(await store.executionList({ jobId: job.id, limit: 2, afterSeq: firstPage.seq }))).toEqual(
          ids(children.slice(0, 2)),
        );
        expect(await store.executionCountByState({ parentId: parent.id })).toEqual({ RUNNABLE: 2, PENDING: 1 });
      });

      it('lists the unfinished executions of a job or a parent', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        const rows = (['PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'SKIPPED'] as State[]).map(
          (state) => makeExecution(job, { state, parentId: 'p' }),
        );
        await store.executionInsertMany(rows);
        expect(ids(await store.executionListActive({ jobId: job.id }))).toEqual(ids(rows.slice(0, 4)));
        expect(ids(await store.executionListActive({ parentId: 'p' }))).toEqual(ids(rows.slice(0, 4)));
        expect(await store.executionListActive({ parentId: 'none' })).toEqual([]);
      });

      it('lists unfinished executions by kind, locking them for a transaction that skips rows others hold', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        const [shell, each, lua] = (['shell', 'each', 'lua'] as const).map((kind) => makeExecution(job, { kind, state: 'RUNNING' }));
        await store.executionInsertMany([shell, each, lua]);
        expect(ids(await store.executionListActive({ jobId: job.id, kinds: ['shell', 'lua'] }))).toEqual(ids([shell, lua]));
        expect(ids(await store.executionListActive({ jobId: job.id, kinds: ['each'] }))).toEqual(ids([each]));
        const locked = await store.tx((tx) => tx.executionListActive({ jobId: job.id, kinds: ['shell', 'lua'], skipLocked: true }));
        expect(ids(locked)).toEqual(ids([shell, lua]));
        expect(await store.tx((tx) => tx.executionLock({ id: each.id, mode: 'share' }))).toEqual(await store.executionGet(each.id));
      });

      it('counts settled children atomically', async () => {
        const { executions } = await insertJobWithExecutions(1, { kind: 'each', childCount: 25, state: 'RUNNING' });
        const id = executions[0].id;
        await Promise.all(Array.from({ length: 20 }, () => store.tx((tx) => tx.executionAddChildDone({ id, by: 1 }))));
        const parent = await store.executionAddChildDone({ id, by: 5 });
        expect(parent).toMatchObject({ id, childDone: 25, childCount: 25, state: 'RUNNING' });
        expect(await store.executionAddChildDone({ id: newTestId(), by: 1 })).toBeUndefined();
        await store.executionSetState({ id, from: ['RUNNING'], to: 'FAILED' });
        expect(await store.executionAddChildDone({ id, by: 1 })).toBeUndefined();
        expect((await store.executionGet(id))?.childDone).toBe(25);
      });
    });

    describe('executions: arrays made a window at a time', () => {
      it('stores a list in chunks, reads chosen chunks, and deletes it', async () => {
        const { executions } = await insertJobWithExecutions(2, { kind: 'each' });
        const [a, b] = executions;
        const chunks = [0, 1, 2].map((chunk) => ({ chunk, items: JSON.stringify([chunk, 'x']) }));
        await store.arrayItemsInsert({ executionId: a.id, chunks });
        await store.arrayItemsInsert({ executionId: a.id, chunks: [{ chunk: 0, items: '["again"]' }] });
        await store.arrayItemsInsert({ executionId: b.id, chunks: [{ chunk: -1, items: '{"start":0,"step":1}' }] });
        expect(await store.arrayItemsGet({ executionId: a.id, chunks: [2, 0, 7] })).toEqual([chunks[0], chunks[2]]);
        expect(await store.arrayItemsGet({ executionId: b.id, chunks: [-1, 0] })).toEqual([{ chunk: -1, items: '{"start":0,"step":1}' }]);
        await store.arrayItemsDelete({ executionId: a.id });
        expect(await store.arrayItemsGet({ executionId: a.id, chunks: [0, 1, 2] })).toEqual([]);
        expect(await store.arrayItemsGet({ executionId: b.id, chunks: [-1] })).toHaveLength(1);
      });

      it('takes items up to the count, only from a RUNNING windowed each, and counts those not made', async () => {
        const { job, executions } = await insertJobWithExecutions(1, { kind: 'each', state: 'RUNNING', childCount: 5, childCreated: 2 });
        const { job: other } = await insertJobWithExecutions(1, { kind: 'each', state: 'RUNNING', childCount: 5, childCreated: null });
        const { job: done } = await insertJobWithExecutions(1, { kind: 'each', state: 'SUCCEEDED', childCount: 5, childCreated: 1 });
        const id = executions[0].id;
        expect(await store.executionCountUnmade({ jobIds: [job.id, other.id, done.id] })).toEqual({ [job.id]: 3 });
        expect(await store.executionTakeItems({ id, max: 2 })).toEqual({ first: 2, count: 2 });
        expect(await store.executionTakeItems({ id, max: 2 })).toEqual({ first: 4, count: 1 });
        expect(await store.executionTakeItems({ id, max: 2 })).toBeUndefined();
        expect((await store.executionGet(id))?.childCreated).toBe(5);
        expect(await store.executionCountUnmade({ jobIds: [job.id] })).toEqual({});
        const legacy = (await store.executionList({ jobId: other.id, limit: 1 }))[0];
        expect(await store.executionTakeItems({ id: legacy.id, max: 1 })).toBeUndefined();
      });

      it('never hands the same item to two concurrent takers', async () => {
        const { executions } = await insertJobWithExecutions(1, { kind: 'each', state: 'RUNNING', childCount: 40, childCreated: 0 });
        const id = executions[0].id;
        const taken = await Promise.all(Array.from({ length: 40 }, () => store.tx((tx) => tx.executionTakeItems({ id, max: 1 }))));
        expect(taken.map((t) => t?.first).sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(Array.from({ length: 40 }, (_, i) => i));
      });
    });

    describe('executions: counts for many jobs', () => {
      it('counts each job by state in one call, leaving out jobs with none', async () => {
        const first = await insertJobWithExecutions(3, { state: 'RUNNABLE' });
        const second = await insertJobWithExecutions(2, { state: 'SUCCEEDED' });
        await store.executionSetState({ id: first.executions[0].id, from: ['RUNNABLE'], to: 'STARTING' });
        const empty = makeJob();
        await store.jobInsert(empty);
        expect(await store.executionCountByStateMany({ jobIds: [first.job.id, second.job.id, empty.id] })).toEqual({
          [first.job.id]: { RUNNABLE: 2, STARTING: 1 },
          [second.job.id]: { SUCCEEDED: 2 },
        });
        expect(await store.executionCountByStateMany({ jobIds: [] })).toEqual({});
      });
    });

    describe('executions: guarded state writes', () => {
      it('moves a row and answers it as it is after the move, or nothing from a wrong state', async () => {
        const { executions } = await insertJobWithExecutions(1, { state: 'RUNNING', nodeId: 'node-1' });
        const [row] = executions;
        expect(await store.executionMove({ id: row.id, from: ['RUNNING'], to: 'SUCCEEDED', nodeId: 'node-2' })).toBeUndefined();
        const moved = await store.executionMove({ id: row.id, from: ['RUNNING'], to: 'SUCCEEDED', patch: { exitCode: 0 }, nodeId: 'node-1' });
        expect(moved).toMatchObject({ id: row.id, state: 'SUCCEEDED', exitCode: 0, nodeId: 'node-1' });
        expect(await store.executionMove({ id: row.id, from: ['RUNNING'], to: 'FAILED' })).toBeUndefined();
      });

      it('changes nothing from a wrong state, and applies the patch from a right one', async () => {
        const { executions } = await insertJobWithExecutions(1, { state: 'RUNNING', nodeId: 'node-1' });
        const [row] = executions;
        expect(await store.executionSetState({ id: row.id, from: ['RUNNABLE'], to: 'STARTING' })).toBe(false);
        expect(await store.executionGet(row.id)).toEqual({ ...row, seq: expect.any(Number) });

        const patch = { completedAt: at(9), exitCode: 0, result: '{"ok":true}', progress: 100, leaseExpiresAt: null };
        expect(await store.executionSetState({ id: row.id, from: ['STARTING', 'RUNNING'], to: 'SUCCEEDED', patch })).toBe(true);
        expect(await store.executionGet(row.id)).toEqual({ ...row, ...patch, state: 'SUCCEEDED', seq: expect.any(Number) });
        expect(await store.executionSetState({ id: row.id, from: ['STARTING', 'RUNNING'], to: 'FAILED' })).toBe(false);
      });

      it('requires the lease holder when nodeId is given', async () => {
        const { executions } = await insertJobWithExecutions(1, { state: 'RUNNING', nodeId: 'node-1' });
        const [row] = executions;
        expect(await store.executionSetState({ id: row.id, from: ['RUNNING'], to: 'FAILED', nodeId: 'node-2' })).toBe(false);
        expect((await store.executionGet(row.id))?.state).toBe('RUNNING');
        expect(await store.executionSetState({ id: row.id, from: ['RUNNING'], to: 'FAILED', nodeId: 'node-1' })).toBe(true);
      });

      it('writes many and returns only the ids that changed', async () => {
        const { job, executions } = await insertJobWithExecutions(4);
        const finished = makeExecution(job, { state: 'SUCCEEDED' });
        await store.executionInsertMany([finished]);
        await store.executionSetState({ id: executions[0].id, from: ['RUNNABLE'], to: 'CANCELLED' });
        const changed = await store.executionSetStateMany({
          ids: [...ids(executions), finished.id, newTestId()],
          from: ['RUNNABLE'],
          to: 'STARTING',
          patch: { nodeId: 'node-1', leaseExpiresAt: at(30_000) },
        });
        expect(changed.sort()).toEqual(ids(executions.slice(1)).sort());
        const after = await store.executionGet(executions[1].id);
        expect(after).toMatchObject({ state: 'STARTING', nodeId: 'node-1', leaseExpiresAt: at(30_000) });
        expect((await store.executionGet(finished.id))?.state).toBe('SUCCEEDED');
        expect(await store.executionSetStateMany({ ids: [], from: ['RUNNABLE'], to: 'STARTING' })).toEqual([]);
      });

      it('refuses a patch field that is not a column', async () => {
        const { executions } = await insertJobWithExecutions(1);
        const patch = { notAColumn: 1 } as unknown as { progress: number };
        await expect(store.executionSetState({ id: executions[0].id, from: ['RUNNABLE'], to: 'STARTING', patch })).rejects.toThrow(
          /notAColumn/,
        );
      });
    });

    describe('executions: claim candidates', () => {
      const claimAll = { queues: ['default'], kinds: ['shell', 'lua', 'container'], now: at(0), perOwner: 10 };

      it('returns only RUNNABLE rows, highest priority then oldest first', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        const low = makeExecution(job, { priority: 0 });
        const high = makeExecution(job, { priority: 5 });
        const lowLater = makeExecution(job, { priority: 0 });
        const highLater = makeExecution(job, { priority: 5 });
        const notRunnable = (['PENDING', 'STARTING', 'RUNNING', 'SUCCEEDED'] as State[]).map((state) =>
          makeExecution(job, { state, priority: 9 }),
        );
        await store.executionInsertMany([low, high, lowLater, ...notRunnable, highLater]);
        const candidates = await store.tx((tx) => tx.executionClaimCandidates(claimAll));
        expect(ids(candidates)).toEqual(ids([high, highLater, low, lowLater]));
      });

      it('is fair between owners: a huge backlog does not hide another owner', async () => {
        await insertJobWithExecutions(1_000, {}, { owner: 'ann' });
        const { executions: bobs } = await insertJobWithExecutions(1, {}, { owner: 'bob' });
        const candidates = await store.tx((tx) => tx.executionClaimCandidates({ ...claimAll, perOwner: 3 }));
        expect(candidates.map((c) => c.owner).sort()).toEqual(['ann', 'ann', 'ann', 'bob']);
        expect(ids(candidates)).toContain(bobs[0].id);
      });

      it('filters by queue, kind and backoff (notBefore)', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        const inQueue = makeExecution(job);
        const otherQueue = makeExecution(job, { queue: 'gpu' });
        const container = makeExecution(job, { kind: 'container' });
        const backedOff = makeExecution(job, { notBefore: at(1) });
        const due = makeExecution(job, { notBefore: at(0) });
        await store.executionInsertMany([inQueue, otherQueue, container, backedOff, due]);

        const shellOnly = await store.tx((tx) => tx.executionClaimCandidates({ ...claimAll, kinds: ['shell'] }));
        expect(ids(shellOnly)).toEqual(ids([inQueue, due]));
        const gpu = await store.tx((tx) => tx.executionClaimCandidates({ ...claimAll, queues: ['gpu'] }));
        expect(ids(gpu)).toEqual([otherQueue.id]);
        const later = await store.tx((tx) => tx.executionClaimCandidates({ ...claimAll, queues: ['default', 'gpu'], now: at(1) }));
        expect(ids(later).sort()).toEqual(ids([inQueue, otherQueue, container, backedOff, due]).sort());
        expect(await store.tx((tx) => tx.executionClaimCandidates({ ...claimAll, queues: [] }))).toEqual([]);
      });

      it('passes over rows that need more than fits, so rows that fit are found behind them', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        const wide = [makeExecution(job, { cpus: 4 }), makeExecution(job, { cpus: 4 })];
        const heavy = makeExecution(job, { cpus: 1, memoryMb: 8192 });
        const narrow = makeExecution(job, { cpus: 2, memoryMb: 1024 });
        await store.executionInsertMany([...wide, heavy, narrow]);
        const fitting = await store.tx((tx) =>
          tx.executionClaimCandidates({ ...claimAll, perOwner: 2, fits: { cpus: 2, memoryMb: 2048 } }),
        );
        expect(ids(fitting)).toEqual([narrow.id]);
        const any = await store.tx((tx) => tx.executionClaimCandidates({ ...claimAll, perOwner: 2 }));
        expect(ids(any)).toEqual(ids(wide));
      });

      it('lists runnable work needing more than a size, or carrying a reason to clear', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        const wide = makeExecution(job, { cpus: 4 });
        const heavy = makeExecution(job, { memoryMb: 8192 });
        const explained = makeExecution(job, { cpus: 1, reason: 'too big: 4 cpus' });
        const fits = makeExecution(job, { cpus: 2 });
        const running = makeExecution(job, { cpus: 8, state: 'RUNNING' });
        await store.executionInsertMany([wide, heavy, explained, fits, running]);
        const found = await store.executionListRunnableExceeding({ cpus: 2, memoryMb: 2048, orReasonPrefix: 'too big', limit: 10 });
        expect(ids(found)).toEqual(ids([wide, heavy, explained]));
      });

      it('keeps rows under claim from a second claimer (PostgreSQL: skipped at once; SQLite: after the first commits)', async () => {
        await insertJobWithExecutions(20);
        let releaseFirst!: () => void;
        const firstMayCommit = new Promise<void>((resolve) => {
          releaseFirst = resolve;
        });
        let firstCommitted = false;
        let firstHasCandidates!: () => void;
        const firstReady = new Promise<void>((resolve) => {
          firstHasCandidates = resolve;
        });
        const first = store.tx(async (tx) => {
          const candidates = await tx.executionClaimCandidates({ ...claimAll, perOwner: 5 });
          firstHasCandidates();
          await firstMayCommit;
          await tx.executionSetStateMany({ ids: ids(candidates), from: ['RUNNABLE'], to: 'STARTING' });
          return ids(candidates);
        }).finally(() => {
          firstCommitted = true;
        });
        await firstReady;
        let secondResolvedBeforeFirstCommitted: boolean | undefined;
        const second = store
          .tx((tx) => tx.executionClaimCandidates({ ...claimAll, perOwner: 5 }))
          .then((rows) => {
            secondResolvedBeforeFirstCommitted = !firstCommitted;
            return ids(rows);
          });
        await new Promise((resolve) => setTimeout(resolve, 200));
        releaseFirst();
        const [firstIds, secondIds] = await Promise.all([first, second]);
        expect(firstIds).toHaveLength(5);
        expect(secondIds).toHaveLength(5);
        expect(secondIds.filter((id) => firstIds.includes(id))).toEqual([]);
        expect(secondResolvedBeforeFirstCommitted).toBe(store.dialect === 'postgres');
      });

      it('never hands the same row to two concurrent claims', async () => {
        await insertJobWithExecutions(60, {}, { owner: 'ann' });
        await insertJobWithExecutions(60, {}, { owner: 'bob' });
        const claim = (node: string) =>
          store.tx(async (tx) => {
            const candidates = await tx.executionClaimCandidates({ ...claimAll, perOwner: 5 });
            return tx.executionSetStateMany({ ids: ids(candidates), from: ['RUNNABLE'], to: 'STARTING', patch: { nodeId: node } });
          });
        const rounds = await Promise.all(Array.from({ length: 12 }, (_, i) => claim(`node-${i}`)));
        const claimed = rounds.flat();
        expect(claimed.length).toBe(120);
        expect(new Set(claimed).size).toBe(120);
      });
    });

    describe('executions: leases, timeouts, queues', () => {
      it('renews only the leases a node still holds', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        const mineStarting = makeExecution(job, { state: 'STARTING', nodeId: 'n1', leaseExpiresAt: at(10) });
        const mineRunning = makeExecution(job, { state: 'RUNNING', nodeId: 'n1', leaseExpiresAt: at(10) });
        const mineDone = makeExecution(job, { state: 'SUCCEEDED', nodeId: 'n1', leaseExpiresAt: at(10) });
        const theirs = makeExecution(job, { state: 'RUNNING', nodeId: 'n2', leaseExpiresAt: at(10) });
        await store.executionInsertMany([mineStarting, mineRunning, mineDone, theirs]);
        const held = await store.executionRenewLeases({ nodeId: 'n1', ids: ids([mineStarting, mineRunning, mineDone, theirs]), until: at(99) });
        expect(held.sort()).toEqual(ids([mineStarting, mineRunning]).sort());
        expect((await store.executionGet(mineRunning.id))?.leaseExpiresAt).toBe(at(99));
        expect((await store.executionGet(mineDone.id))?.leaseExpiresAt).toBe(at(10));
        expect((await store.executionGet(theirs.id))?.leaseExpiresAt).toBe(at(10));
        expect(await store.executionRenewLeases({ nodeId: 'n1', ids: [], until: at(99) })).toEqual([]);
      });

      it('lists active executions whose lease ran out', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        const expired = makeExecution(job, { state: 'RUNNING', nodeId: 'n1', leaseExpiresAt: at(5) });
        const expiredStarting = makeExecution(job, { state: 'STARTING', nodeId: 'n1', leaseExpiresAt: at(1) });
        const live = makeExecution(job, { state: 'RUNNING', nodeId: 'n1', leaseExpiresAt: at(20) });
        const finished = makeExecution(job, { state: 'FAILED', nodeId: 'n1', leaseExpiresAt: at(1) });
        await store.executionInsertMany([expired, expiredStarting, live, finished]);
        expect(ids(await store.executionListLeaseExpired({ now: at(10), limit: 10 }))).toEqual(ids([expiredStarting, expired]));
        expect(await store.executionListLeaseExpired({ now: at(10), limit: 1 })).toHaveLength(1);
      });

      it('lists RUNNING executions past their timeout plus grace', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        const late = makeExecution(job, { state: 'RUNNING', startedAt: at(0), timeoutMs: 1_000 });
        const inGrace = makeExecution(job, { state: 'RUNNING', startedAt: at(500), timeoutMs: 1_000 });
        const noTimeout = makeExecution(job, { state: 'RUNNING', startedAt: at(0), timeoutMs: null });
        const notRunning = makeExecution(job, { state: 'STARTING', startedAt: at(0), timeoutMs: 1_000 });
        await store.executionInsertMany([late, inGrace, noTimeout, notRunning]);
        expect(ids(await store.executionListPastTimeout({ now: at(1_800), graceMs: 500, limit: 10 }))).toEqual([late.id]);
        expect(await store.executionListPastTimeout({ now: at(1_400), graceMs: 500, limit: 10 })).toEqual([]);
      });

      it('counts runnable and running work per queue', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        await store.executionInsertMany([
          makeExecution(job, { state: 'RUNNABLE' }),
          makeExecution(job, { state: 'RUNNABLE' }),
          makeExecution(job, { state: 'STARTING' }),
          makeExecution(job, { state: 'RUNNING', queue: 'gpu' }),
          makeExecution(job, { state: 'SUCCEEDED', queue: 'gpu' }),
          makeExecution(job, { state: 'PENDING', queue: 'idle' }),
        ]);
        const stats = await store.queueStats();
        expect(stats.sort((a, b) => a.queue.localeCompare(b.queue))).toEqual([
          { queue: 'default', runnable: 2, running: 1 },
          { queue: 'gpu', runnable: 0, running: 1 },
        ]);
      });
    });

    describe("executions: the web UI's views", () => {
      it("reads an array's item states in item order, attempts in write order, and an item's latest attempt", async () => {
        const { job, executions } = await insertJobWithExecutions(1, { kind: 'each', state: 'RUNNING', childCount: 4 });
        const parent = executions[0];
        const first = makeExecution(job, { parentId: parent.id, idx: 1, attempt: 1, state: 'FAILED' });
        const items = [
          makeExecution(job, { parentId: parent.id, idx: 2, state: 'RUNNING' }),
          makeExecution(job, { parentId: parent.id, idx: 0, state: 'SUCCEEDED' }),
          first,
        ];
        await store.executionInsertMany(items);
        const retry = makeExecution(job, { parentId: parent.id, idx: 1, attempt: 2, state: 'RUNNABLE' });
        await store.executionInsertMany([retry]);
        await insertJobWithExecutions(2, { state: 'SUCCEEDED' });
        expect(await store.executionItemStates({ parentId: parent.id })).toEqual([
          { idx: 0, state: 'SUCCEEDED' },
          { idx: 1, state: 'FAILED' },
          { idx: 1, state: 'RUNNABLE' },
          { idx: 2, state: 'RUNNING' },
        ]);
        expect((await store.executionItemLatest({ parentId: parent.id, idx: 1 }))?.id).toBe(retry.id);
        expect((await store.executionItemLatest({ parentId: parent.id, idx: 2 }))?.state).toBe('RUNNING');
        expect(await store.executionItemLatest({ parentId: parent.id, idx: 3 })).toBeUndefined();
        expect(await store.executionItemStates({ parentId: retry.id })).toEqual([]);
      });

      it('counts executions that ended since a time, per queue and minute, leaving out composites', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        const minute = (m: number, s = 0) => at(m * 60_000 + s * 1000);
        await store.executionInsertMany([
          makeExecution(job, { state: 'SUCCEEDED', completedAt: minute(1, 5) }),
          makeExecution(job, { state: 'FAILED', completedAt: minute(1, 59) }),
          makeExecution(job, { state: 'SUCCEEDED', completedAt: minute(2, 1), queue: 'gpu' }),
          makeExecution(job, { state: 'SUCCEEDED', completedAt: minute(3) }),
          makeExecution(job, { state: 'SUCCEEDED', completedAt: minute(0, 30) }),
          makeExecution(job, { state: 'SUCCEEDED', kind: 'each', completedAt: minute(2) }),
          makeExecution(job, { state: 'RUNNING' }),
        ]);
        const rows = await store.executionFinishedPerMinute({ since: minute(1) });
        const start = Math.floor(Date.parse(minute(1)) / 60_000) * 60_000;
        const minuteAt = (m: number) => new Date(start + (m - 1) * 60_000).toISOString();
        expect(rows.sort((a, b) => a.minute.localeCompare(b.minute) || a.queue.localeCompare(b.queue))).toEqual([
          { queue: 'default', minute: minuteAt(1), count: 2 },
          { queue: 'gpu', minute: minuteAt(2), count: 1 },
          { queue: 'default', minute: minuteAt(3), count: 1 },
        ]);
      });
    });

    describe('logs', () => {
      it('appends, lists after a number, and counts per execution and job', async () => {
        const { job, executions } = await insertJobWithExecutions(2);
        const [a, b] = executions;
        await store.logAppendMany([1, 2, 3].map((n) => logLine(a.id, n)));
        await store.logAppendMany([logLine(b.id, 1, 'stderr')]);
        expect(await store.logList({ executionId: a.id, limit: 10 })).toEqual([1, 2, 3].map((n) => logLine(a.id, n)));
        expect((await store.logList({ executionId: a.id, afterNumber: 1, limit: 1 })).map((l) => l.number)).toEqual([2]);
        expect(await store.logCount({ executionId: a.id })).toBe(3);
        expect(await store.logCount({ jobId: job.id })).toBe(4);
      });

      it('ignores a retried batch and drops lines of executions that are gone', async () => {
        const { executions } = await insertJobWithExecutions(1);
        const id = executions[0].id;
        await store.logAppendMany([logLine(id, 1), logLine(id, 2)]);
        await store.logAppendMany([logLine(id, 2, 'stdout', 'changed'), logLine(id, 3), logLine('gone', 1)]);
        expect((await store.logList({ executionId: id, limit: 10 })).map((l) => l.line)).toEqual(['line 1', 'line 2', 'line 3']);
        expect(await store.logCount({ executionId: 'gone' })).toBe(0);
      });

      it('lists a job’s lines oldest first across executions, with a text filter', async () => {
        const { job, executions } = await insertJobWithExecutions(2);
        const [a, b] = executions;
        await store.logAppendMany([
          { ...logLine(a.id, 1), at: at(30), line: 'third' },
          { ...logLine(b.id, 1), at: at(10), line: 'first 100%' },
          { ...logLine(a.id, 2), at: at(40), line: 'FOURTH' },
          { ...logLine(b.id, 2), at: at(20), line: 'second_x' },
        ]);
        const all = await store.logListByJob({ jobId: job.id, limit: 10 });
        expect(all.map((l) => l.line)).toEqual(['first 100%', 'second_x', 'third', 'FOURTH']);
        expect((await store.logListByJob({ jobId: job.id, limit: 2, offset: 1 })).map((l) => l.line)).toEqual(['second_x', 'third']);
        expect((await store.logListByJob({ jobId: job.id, limit: 10, q: 'fourth' })).map((l) => l.line)).toEqual(['FOURTH']);
        expect((await store.logListByJob({ jobId: job.id, limit: 10, q: '%' })).map((l) => l.line)).toEqual(['first 100%']);
        expect((await store.logListByJob({ jobId: job.id, limit: 10, q: 'd_' })).map((l) => l.line)).toEqual(['second_x']);
      });

      it('keeps lines holding NUL and other awkward text readable', async () => {
        const { executions } = await insertJobWithExecutions(1);
        const id = executions[0].id;
        await store.logAppendMany([{ ...logLine(id, 1), line: 'a\u0000b' }, { ...logLine(id, 2), line: 'ünïcødé 🚀 \'quotes\' "and" \\' }]);
        const lines = await store.logList({ executionId: id, limit: 10 });
        expect(lines.map((l) => l.line)).toEqual(['a\uFFFDb', 'ünïcødé 🚀 \'quotes\' "and" \\']);
      });
    });

    describe('events', () => {
      it('inserts many with increasing ids and lists after an id', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        await store.eventInsertMany([event(job.id, null, 'a'), event(job.id, 'exec', 'b'), event('other-job', null, 'c')]);
        await store.eventInsertMany([{ ...event(job.id, null, 'd'), data: { nested: { n: 1 } } }]);
        const events = await store.eventList({ jobId: job.id, limit: 10 });
        expect(events.map((e) => e.message)).toEqual(['a', 'b', 'd']);
        expect(events[1]).toEqual({ ...event(job.id, 'exec', 'b'), id: expect.any(Number) });
        expect(events[2].data).toEqual({ nested: { n: 1 } });
        const ids = events.map((e) => e.id ?? 0);
        expect([...ids].sort((x, y) => x - y)).toEqual(ids);
        expect((await store.eventList({ jobId: job.id, afterId: ids[0], limit: 1 })).map((e) => e.message)).toEqual(['b']);
      });
    });

    describe('outbox', () => {
      it('takes due rows once, leases them, and takes them again when the lease runs out', async () => {
        await store.outboxInsertMany([
          makeOutbox({ nextAt: at(0), url: 'http://127.0.0.1:9/a' }),
          makeOutbox({ nextAt: at(5), url: 'http://127.0.0.1:9/b' }),
          makeOutbox({ nextAt: at(50), url: 'http://127.0.0.1:9/later' }),
          makeOutbox({ nextAt: at(0), status: 'done', url: 'http://127.0.0.1:9/done' }),
        ]);
        const taken = await store.outboxTakeDue({ now: at(10), limit: 10, leaseMs: 1_000 });
        expect(taken.map((r) => r.url)).toEqual(['http://127.0.0.1:9/a', 'http://127.0.0.1:9/b']);
        expect(taken[0]).toMatchObject({ headers: { 'content-type': 'application/json' }, body: { event: 'job.StateChange', ok: true } });
        expect(await store.outboxTakeDue({ now: at(10), limit: 10, leaseMs: 1_000 })).toEqual([]);
        const again = await store.outboxTakeDue({ now: at(1_010), limit: 10, leaseMs: 1_000 });
        expect(again.map((r) => r.url)).toEqual(['http://127.0.0.1:9/a', 'http://127.0.0.1:9/b', 'http://127.0.0.1:9/later']);
      });

      it('never gives one row to two concurrent dispatchers', async () => {
        await store.outboxInsertMany(Array.from({ length: 40 }, () => makeOutbox()));
        const takes = await Promise.all(
          Array.from({ length: 8 }, () => store.tx((tx) => tx.outboxTakeDue({ now: at(0), limit: 7, leaseMs: 60_000 }))),
        );
        const taken = takes.flat().map((r) => r.id);
        expect(taken).toHaveLength(40);
        expect(new Set(taken).size).toBe(40);
      });

      it('records attempts, errors and the final status', async () => {
        await store.outboxInsertMany([makeOutbox()]);
        const [row] = await store.outboxTakeDue({ now: at(0), limit: 1, leaseMs: 1_000 });
        await store.outboxUpdate({ id: row.id ?? 0, status: 'pending', attempts: 1, nextAt: at(2), lastError: 'HTTP 500' });
        const [retried] = await store.outboxTakeDue({ now: at(2), limit: 1, leaseMs: 1_000 });
        expect(retried).toMatchObject({ attempts: 1, lastError: 'HTTP 500' });
        await store.outboxUpdate({ id: row.id ?? 0, status: 'done', attempts: 2, nextAt: at(3), lastError: null });
        expect(await store.outboxTakeDue({ now: at(100_000), limit: 1, leaseMs: 1_000 })).toEqual([]);
      });
    });

    describe('ordered outbox rows', () => {
      it('takes one row per ordering key at a time, oldest first, until it is settled', async () => {
        await store.outboxInsertMany([
          makeOutbox({ url: 'http://127.0.0.1:9/k1', orderingKey: 'k', method: 'POST' }),
          makeOutbox({ url: 'http://127.0.0.1:9/k2', orderingKey: 'k', method: 'PUT' }),
          makeOutbox({ url: 'http://127.0.0.1:9/other', orderingKey: 'other' }),
          makeOutbox({ url: 'http://127.0.0.1:9/free' }),
        ]);
        const first = await store.outboxTakeDue({ now: at(0), limit: 10, leaseMs: 1_000 });
        expect(first.map((r) => [r.url, r.method])).toEqual([
          ['http://127.0.0.1:9/k1', 'POST'],
          ['http://127.0.0.1:9/other', 'POST'],
          ['http://127.0.0.1:9/free', 'POST'],
        ]);
        // The first of k failed and waits for its retry: the second still waits behind it.
        await store.outboxUpdate({ id: first[0].id ?? 0, status: 'pending', attempts: 1, nextAt: at(5_000), lastError: 'HTTP 503' });
        const keyed = (rows: OutboxRow[]): unknown[] => rows.filter((r) => r.orderingKey === 'k').map((r) => [r.url, r.method]);
        expect(keyed(await store.outboxTakeDue({ now: at(2_000), limit: 10, leaseMs: 60_000 }))).toEqual([]);
        await store.outboxUpdate({ id: first[0].id ?? 0, status: 'dead', attempts: 2, nextAt: at(5_000), lastError: 'HTTP 503' });
        expect(keyed(await store.outboxTakeDue({ now: at(2_000), limit: 10, leaseMs: 60_000 }))).toEqual([['http://127.0.0.1:9/k2', 'PUT']]);
      });
    });

    describe('outside jobs', () => {
      const outside = (externalId: string, jobId: string, overrides: Partial<OutsideJobRow> = {}): OutsideJobRow => ({
        origin: 'srtslurm',
        externalId,
        jobId,
        status: 'submitted',
        cluster: null,
        submittedAt: '2026-01-01T00:00:00Z',
        record: { job_name: externalId, nested: { a: [1, 'two'] } },
        ...overrides,
      });

      it('inserts, reads, locks and rewrites a record beside its job, and goes with the job', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        await store.outsideJobInsert(outside('12345', job.id));
        expect(await store.outsideJobGet({ origin: 'srtslurm', externalId: '12345' })).toEqual(outside('12345', job.id));
        expect(await store.outsideJobGet({ origin: 'other', externalId: '12345' })).toBeUndefined();
        const locked = await store.tx((tx) => tx.outsideJobLock({ origin: 'srtslurm', externalId: '12345' }));
        expect(locked?.jobId).toBe(job.id);
        expect(await store.tx((tx) => tx.outsideJobLock({ origin: 'srtslurm', externalId: 'none' }))).toBeUndefined();
        const changed = outside('12345', job.id, { status: 'workers', cluster: 'c', submittedAt: 'x', record: { merged: true } });
        await store.outsideJobUpdate(changed);
        expect(await store.outsideJobGet({ origin: 'srtslurm', externalId: '12345' })).toEqual(changed);
        while ((await store.jobDeleteSome({ id: job.id, executions: 10, logChunks: 10, events: 10 })) === 'more');
        expect(await store.outsideJobGet({ origin: 'srtslurm', externalId: '12345' })).toBeUndefined();
      });

      it('lists newest first by text, filtered exactly, paged, and counts the filtered rows', async () => {
        const rows: Array<[string, string, string, string | null]> = [
          ['a', '2026-01-01T00:00:01Z', 'submitted', 'c1'],
          ['b', '2026-01-01T00:00:02Z', 'failed', 'c1'],
          ['c', '2026-01-01T00:00:02Z', 'submitted', 'c2'],
          ['Z', '2026-01-01T00:00:02Z', 'submitted', null],
        ];
        for (const [id, submittedAt, status, cluster] of rows) {
          const job = makeJob();
          await store.jobInsert(job);
          await store.outsideJobInsert(outside(id, job.id, { submittedAt, status, cluster }));
        }
        const list = await store.outsideJobList({ origin: 'srtslurm', limit: 10, offset: 0 });
        // Byte order, as SQLite compares text: 'c' > 'b' > 'Z'.
        expect(list.map((r) => r.externalId)).toEqual(['c', 'b', 'Z', 'a']);
        expect((await store.outsideJobList({ origin: 'srtslurm', cluster: 'c1', limit: 10, offset: 0 })).map((r) => r.externalId)).toEqual(['b', 'a']);
        expect((await store.outsideJobList({ origin: 'srtslurm', status: 'submitted', limit: 1, offset: 1 })).map((r) => r.externalId)).toEqual(['Z']);
        expect(await store.outsideJobCount({ origin: 'srtslurm', status: 'submitted' })).toBe(3);
        expect(await store.outsideJobCount({ origin: 'srtslurm', status: 'submitted', cluster: 'c2' })).toBe(1);
        expect(await store.outsideJobCount({ origin: 'other' })).toBe(0);
      });

      it("lists one kind of events of an origin's outside jobs, with their outside ids", async () => {
        const [one, two] = [makeJob(), makeJob()];
        for (const [job, id] of [[one, 'j1'], [two, 'j2']] as const) {
          await store.jobInsert(job);
          await store.outsideJobInsert(outside(id, job.id));
        }
        const status = (jobId: string, state: string): EventRow => ({
          jobId, executionId: null, at: at(0), kind: 'status', state, stage: null, message: null, data: { created_at: 'verbatim' },
        });
        await store.eventInsertMany([status(one.id, 'submitted'), status(two.id, 'submitted'), { ...status(one.id, 'RUNNING'), kind: 'job.state' }, status(one.id, 'workers')]);
        const all = await store.outsideEventList({ origin: 'srtslurm', kind: 'status', afterId: 0, limit: 10 });
        expect(all.map((e) => [e.externalId, e.state])).toEqual([['j1', 'submitted'], ['j2', 'submitted'], ['j1', 'workers']]);
        expect(all[0].data).toEqual({ created_at: 'verbatim' });
        const after = await store.outsideEventList({ origin: 'srtslurm', kind: 'status', externalId: 'j1', afterId: all[0].id ?? 0, limit: 10 });
        expect(after.map((e) => e.state)).toEqual(['workers']);
        expect(await store.outsideEventList({ origin: 'srtslurm', kind: 'status', afterId: 0, limit: 1 })).toHaveLength(1);
      });
    });

    describe('artifacts', () => {
      it('lists by job and execution, and replaces a re-collected path', async () => {
        const { job, executions } = await insertJobWithExecutions(2);
        const [a, b] = executions;
        await store.artifactInsertMany([
          { executionId: a.id, jobId: job.id, path: 'b.txt', size: 2, createdAt: at(0) },
          { executionId: a.id, jobId: job.id, path: 'a.txt', size: 1, createdAt: at(0) },
          { executionId: b.id, jobId: job.id, path: 'big.bin', size: 5_000_000_000, createdAt: at(0) },
        ]);
        await store.artifactInsertMany([{ executionId: a.id, jobId: job.id, path: 'a.txt', size: 10, createdAt: at(1) }]);
        expect(await store.artifactList({ executionId: a.id })).toEqual([
          { executionId: a.id, jobId: job.id, path: 'a.txt', size: 10, createdAt: at(1) },
          { executionId: a.id, jobId: job.id, path: 'b.txt', size: 2, createdAt: at(0) },
        ]);
        expect(await store.artifactList({ jobId: job.id })).toHaveLength(3);
        expect((await store.artifactList({ executionId: b.id }))[0].size).toBe(5_000_000_000);
      });
    });

    describe('nodes', () => {
      it('upserts, reads and lists by heartbeat', async () => {
        const node = makeNode();
        await store.nodeUpsert(node);
        expect(await store.nodeGet(node.id)).toEqual(node);
        const beat = { ...node, lastHeartbeatAt: at(100), cpuPercent: 80, usedCpus: 3, queues: ['default', 'gpu'], info: { n: 2 } };
        await store.nodeUpsert(beat);
        expect(await store.nodeGet(node.id)).toEqual(beat);
        const quiet = makeNode({ name: 'quiet', lastHeartbeatAt: at(10) });
        await store.nodeUpsert(quiet);
        expect(ids(await store.nodeList({}))).toHaveLength(2);
        expect(ids(await store.nodeList({ heartbeatAfter: at(50) }))).toEqual([node.id]);
        expect(await store.nodeGet(newTestId())).toBeUndefined();
      });

      it('marks silent UP nodes DOWN and returns them', async () => {
        const silent = makeNode({ lastHeartbeatAt: at(0) });
        const alive = makeNode({ lastHeartbeatAt: at(100) });
        const alreadyDown = makeNode({ lastHeartbeatAt: at(0), status: 'DOWN' });
        for (const node of [silent, alive, alreadyDown]) await store.nodeUpsert(node);
        expect(await store.nodeMarkDown({ silentSince: at(50) })).toEqual([silent.id]);
        expect((await store.nodeGet(silent.id))?.status).toBe('DOWN');
        expect((await store.nodeGet(alive.id))?.status).toBe('UP');
        expect(await store.nodeMarkDown({ silentSince: at(50) })).toEqual([]);
      });
    });

    describe('leadership', () => {
      it('grants a free lease, refuses others while it holds, renews for the holder, hands over when it lapses', async () => {
        expect(await store.leaderAcquire({ name: 'reaper', holder: 'a', now: at(0), until: at(10) })).toBe(true);
        expect(await store.leaderAcquire({ name: 'reaper', holder: 'b', now: at(5), until: at(15) })).toBe(false);
        expect(await store.leaderAcquire({ name: 'cron', holder: 'b', now: at(5), until: at(15) })).toBe(true);
        expect(await store.leaderAcquire({ name: 'reaper', holder: 'a', now: at(8), until: at(20) })).toBe(true);
        expect(await store.leaderAcquire({ name: 'reaper', holder: 'b', now: at(15), until: at(25) })).toBe(false);
        expect(await store.leaderAcquire({ name: 'reaper', holder: 'b', now: at(21), until: at(31) })).toBe(true);
        expect(await store.leaderAcquire({ name: 'reaper', holder: 'a', now: at(22), until: at(32) })).toBe(false);
      });

      it('elects exactly one of many concurrent candidates', async () => {
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.leaderAcquire({ name: 'cron', holder: `h${i}`, now: at(0), until: at(10) })),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('users and credentials', () => {
      const makeUser = (overrides: Partial<UserRow> = {}): UserRow => ({
        id: newTestId(),
        name: 'alice',
        role: 'user',
        createdAt: at(0),
        disabled: false,
        passwordHash: null,
        quotas: {},
        ...overrides,
      });
      const makeToken = (user: UserRow, overrides: Partial<TokenRow> = {}): TokenRow => ({
        id: newTestId(),
        userId: user.id,
        hash: newTestId() + newTestId(),
        name: 'cli',
        kind: 'token',
        prefix: 'barge_t_abcd',
        createdAt: at(0),
        expiresAt: null,
        lastUsedAt: null,
        ...overrides,
      });

      it('stores users and finds a token by hash, touching its last use', async () => {
        const user = makeUser({ role: 'admin', passwordHash: '$2a$10$hash', quotas: { runningExecutions: 2, periodSeconds: 3600 } });
        const other = makeUser({ name: 'bob', disabled: true });
        await store.userInsert(user);
        await store.userInsert(other);
        expect(await store.userGet(user.id)).toEqual(user);
        expect(await store.userGetByName('bob')).toEqual(other);
        expect(await store.userGetByName('carol')).toBeUndefined();
        expect((await store.userList()).map((u) => u.name)).toEqual(['alice', 'bob']);
        await expect(store.userInsert({ ...other, id: newTestId() })).rejects.toMatchObject({ code: 'BARGE_E_CONFLICT' });

        const token = makeToken(user, { hash: 'ab'.repeat(32), expiresAt: at(1000) });
        await store.tokenInsert(token);
        const found = await store.tokenGetByHash(token.hash);
        expect(found?.user).toEqual(user);
        expect(found?.token).toEqual({ ...token, lastUsedAt: expect.any(String) });
        const touched = found?.token.lastUsedAt;
        expect((await store.tokenGetByHash(token.hash))?.token.lastUsedAt).toBe(touched);
        expect(await store.tokenGetByHash('cd'.repeat(32))).toBeUndefined();
      });

      it('updates role, disabled and quotas; deletes a user with its credentials and the shares granted to it', async () => {
        const user = makeUser({ name: 'carol' });
        await store.userInsert(user);
        expect(await store.userUpdate({ id: user.id, patch: { role: 'viewer', disabled: true, quotas: { queuedExecutions: 5 } } })).toBe(true);
        expect(await store.userGet(user.id)).toEqual({ ...user, role: 'viewer', disabled: true, quotas: { queuedExecutions: 5 } });
        expect(await store.userUpdate({ id: newTestId(), patch: { role: 'admin' } })).toBe(false);

        const token = makeToken(user);
        await store.tokenInsert(token);
        const job = makeJob({ owner: 'dave' });
        await store.jobInsert(job);
        await store.shareInsert({ jobId: job.id, userName: 'carol', createdAt: at(1) });
        expect(await store.userDelete(user.id)).toBe(true);
        expect(await store.userDelete(user.id)).toBe(false);
        expect(await store.tokenGetByHash(token.hash)).toBeUndefined();
        expect(await store.shareExists({ jobId: job.id, userName: 'carol' })).toBe(false);
      });

      it("lists and revokes one user's credentials one by one", async () => {
        const alice = makeUser();
        const bob = makeUser({ name: 'bob' });
        await store.userInsert(alice);
        await store.userInsert(bob);
        const first = makeToken(alice, { createdAt: at(1) });
        const key = makeToken(alice, { kind: 'apikey', prefix: 'barge_k_wxyz', createdAt: at(2) });
        const bobs = makeToken(bob);
        for (const token of [first, key, bobs]) await store.tokenInsert(token);
        expect(await store.tokenList({ userId: alice.id })).toEqual([first, key]);
        expect(await store.tokenDelete({ id: bobs.id, userId: alice.id })).toBe(false);
        expect(await store.tokenDelete({ id: first.id, userId: alice.id })).toBe(true);
        expect(await store.tokenList({ userId: alice.id })).toEqual([key]);
        expect(await store.tokenGetByHash(first.hash)).toBeUndefined();
        expect(await store.tokenGetByHash(bobs.hash)).toBeDefined();
      });

      it('registers public keys, finds one by fingerprint touching its last use, and removes it', async () => {
        const alice = makeUser();
        await store.userInsert(alice);
        const key: PubkeyRow = {
          id: newTestId(),
          userId: alice.id,
          name: 'laptop',
          keyType: 'ssh-ed25519',
          publicKey: 'AAAAC3NzaC1lZDI1NTE5AAAAIE',
          fingerprint: 'SHA256:abc',
          createdAt: at(0),
          expiresAt: null,
          lastUsedAt: null,
        };
        await store.pubkeyInsert(key);
        await expect(store.pubkeyInsert({ ...key, id: newTestId() })).rejects.toMatchObject({ code: 'BARGE_E_CONFLICT' });
        expect(await store.pubkeyList({ userId: alice.id })).toEqual([key]);
        const found = await store.pubkeyGetByFingerprint('SHA256:abc');
        expect(found?.user.name).toBe('alice');
        expect(found?.pubkey.lastUsedAt).toEqual(expect.any(String));
        expect(await store.pubkeyGetByFingerprint('SHA256:other')).toBeUndefined();
        expect(await store.pubkeyDelete({ id: key.id, userId: newTestId() })).toBe(false);
        expect(await store.pubkeyDelete({ id: key.id, userId: alice.id })).toBe(true);
        expect(await store.pubkeyList({ userId: alice.id })).toEqual([]);
      });

      it('shares a job idempotently, lists, unshares, and drops shares with the job', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        await store.shareInsert({ jobId: job.id, userName: 'bob', createdAt: at(1) });
        await store.shareInsert({ jobId: job.id, userName: 'bob', createdAt: at(2) });
        await store.shareInsert({ jobId: job.id, userName: 'carol', createdAt: at(3) });
        expect(await store.shareList({ jobId: job.id })).toEqual([
          { jobId: job.id, userName: 'bob', createdAt: at(1) },
          { jobId: job.id, userName: 'carol', createdAt: at(3) },
        ]);
        expect(await store.shareExists({ jobId: job.id, userName: 'bob' })).toBe(true);
        expect(await store.shareDelete({ jobId: job.id, userName: 'bob' })).toBe(true);
        expect(await store.shareExists({ jobId: job.id, userName: 'bob' })).toBe(false);
        await store.jobSetState({ id: job.id, from: ['RUNNING'], to: 'SUCCEEDED' });
        expect(await deleteJob(job.id)).toBe('deleted');
        expect(await store.shareList({ jobId: job.id })).toEqual([]);
      });

      it('lists the jobs a user owns or that are shared with them (visibleTo)', async () => {
        const own = makeJob({ owner: 'vera' });
        const shared = makeJob({ owner: 'alice' });
        const other = makeJob({ owner: 'alice' });
        for (const job of [own, shared, other]) await store.jobInsert(job);
        await store.shareInsert({ jobId: shared.id, userName: 'vera', createdAt: at(1) });
        const ids = (await store.jobList({ visibleTo: 'vera', limit: 100 })).map((job) => job.id).sort();
        expect(ids).toEqual([own.id, shared.id].sort());
        expect((await store.jobList({ visibleTo: 'vera', owner: 'alice', limit: 100 })).map((job) => job.id)).toEqual([shared.id]);
      });

      it('adds usage per owner and period, and counts executions and compute per owner', async () => {
        await Promise.all([
          store.usageAdd({ owner: 'alice', periodStart: at(0), computeMs: 0, resultBytes: 100 }),
          store.usageAdd({ owner: 'alice', periodStart: at(0), computeMs: 5, resultBytes: 20 }),
        ]);
        expect(await store.usageGet({ owner: 'alice', periodStart: at(0) })).toEqual({ computeMs: 5, resultBytes: 120 });
        expect(await store.usageGet({ owner: 'bob', periodStart: at(0) })).toEqual({ computeMs: 0, resultBytes: 0 });

        const { job } = await insertJobWithExecutions(2, { state: 'RUNNING', startedAt: at(0) });
        await store.executionInsertMany([
          makeExecution(job, { state: 'RUNNABLE' }),
          makeExecution(job, { state: 'RUNNING', kind: 'each' }),
          makeExecution(job, { state: 'SUCCEEDED', startedAt: at(1000), completedAt: at(3500) }),
          makeExecution(job, { state: 'FAILED', startedAt: at(4000), completedAt: at(5000) }),
          makeExecution(job, { state: 'SUCCEEDED', startedAt: at(-9000), completedAt: at(-1000) }),
        ]);
        const other = makeJob({ owner: 'bob' });
        await store.jobInsert(other);
        await store.executionInsertMany([makeExecution(other, { state: 'STARTING' })]);
        expect(await store.executionCountByOwner({ owners: ['alice', 'bob', 'carol'], states: ['STARTING', 'RUNNING'] })).toEqual({ alice: 2, bob: 1 });
        expect(await store.executionCountByOwner({ owners: ['alice'], states: ['RUNNABLE'] })).toEqual({ alice: 1 });
        expect(await store.executionComputeMs({ owner: 'alice', since: at(0) })).toBe(3500);
        await store.executionInsertMany([
          makeExecution(job, { state: 'RUNNING', kind: 'each', childCount: 10, childCreated: 3 }),
          makeExecution(job, { state: 'RUNNING', kind: 'each', childCount: 4, childCreated: null }),
        ]);
        expect(await store.executionCountUnmadeOf({ owner: 'alice' })).toBe(7);
        expect(await store.executionCountUnmadeOf({ owner: 'bob' })).toBe(0);
        expect(await store.executionComputeMs({ owner: 'bob', since: at(0) })).toBe(0);
      });
    });

    describe('schedules', () => {
      it('stores, lists newest first, pauses, finds due ones, advances once, deletes', async () => {
        const first = makeSchedule({ name: 'first', nextAt: at(100) });
        const second = makeSchedule({ name: 'second', owner: 'bob', nextAt: at(200) });
        await store.scheduleInsert(first);
        await store.scheduleInsert(second);
        expect(await store.scheduleGet(first.id)).toEqual(first);
        expect(ids(await store.scheduleList({ limit: 10 }))).toEqual([second.id, first.id]);
        expect(ids(await store.scheduleList({ limit: 1, offset: 1 }))).toEqual([first.id]);
        expect(await store.scheduleCount({ owner: 'bob' })).toBe(1);

        expect(ids(await store.scheduleListDue({ now: at(150), limit: 10 }))).toEqual([first.id]);
        expect(await store.scheduleSetState({ id: first.id, from: 'PAUSED', to: 'ACTIVE' })).toBe(false);
        expect(await store.scheduleSetState({ id: first.id, from: 'ACTIVE', to: 'PAUSED' })).toBe(true);
        expect(await store.scheduleListDue({ now: at(150), limit: 10 })).toEqual([]);

        const advance = { id: second.id, expectedNextAt: at(200), nextAt: at(300), firedAt: at(201) };
        const results = await Promise.all([store.scheduleAdvance(advance), store.scheduleAdvance(advance)]);
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.scheduleGet(second.id)).toMatchObject({ nextAt: at(300), lastFiredAt: at(201) });

        expect(await store.scheduleDelete(first.id)).toBe(true);
        expect(await store.scheduleDelete(first.id)).toBe(false);
        expect(await store.scheduleGet(first.id)).toBeUndefined();
      });
    });

    describe('stranded jobs and the reaper repair', () => {
      /**
       * The end state of issue 17: b FAILED and c SUCCEEDED at once, d SKIPPED, every execution
       * final, and the job still RUNNING. With `bothSucceeded`, d never started instead.
       */
      async function strandedGraph(options: { bothSucceeded?: boolean } = {}): Promise<JobRow> {
        const spec = {
          name: 'graph',
          tasks: [
            { name: 'a', run: 'true' },
            { name: 'b', run: 'exit 3', needs: ['a'] },
            { name: 'c', run: 'true', needs: ['a'] },
            { name: 'd', run: 'true', needs: ['b', 'c'] },
          ],
        } as JobRow['spec'];
        const job = makeJob({ spec, taskCount: 4, progress: 50 });
        await store.jobInsert(job);
        const [a, b, c, d] = spec.tasks.map((task, position) => makeTask(job, { name: task.name, spec: task, position }));
        b.needs = [a.id];
        c.needs = [a.id];
        d.needs = [b.id, c.id];
        a.state = 'SUCCEEDED';
        b.state = options.bothSucceeded ? 'SUCCEEDED' : 'FAILED';
        c.state = 'SUCCEEDED';
        d.state = options.bothSucceeded ? 'PENDING' : 'SKIPPED';
        await store.taskInsertMany([a, b, c, d]);
        await store.executionInsertMany(
          [a, b, c].map((task) => makeExecution(job, { taskId: task.id, name: task.name, state: task.state, completedAt: at(10) })),
        );
        return job;
      }

      it('lists open jobs with top-level executions, none of them unfinished, narrowed by ids', async () => {
        const stranded = await strandedGraph();
        const { job: busy } = await insertJobWithExecutions(1, { state: 'RUNNING' });
        const { job: done } = await insertJobWithExecutions(1, { state: 'SUCCEEDED' }, { state: 'SUCCEEDED' });
        const [empty] = await insertJobs([makeJob({ state: 'PENDING' })]);
        const { job: child } = await insertJobWithExecutions(1, { state: 'SUCCEEDED', parentId: 'p' });
        const later = await strandedGraph();
        // No execution at all (a record for an outside runner), or only children: not stranded.
        expect(await store.jobListStranded({ limit: 10 })).toEqual([stranded.id, later.id]);
        expect(await store.jobListStranded({ limit: 1 })).toEqual([stranded.id]);
        expect(await store.jobListStranded({ limit: 10, ids: [empty.id, busy.id, done.id, child.id, later.id] })).toEqual([later.id]);
        expect(await store.jobListStranded({ limit: 10, ids: [] })).toEqual([]);
      });

      it('reads a job for a decision in a transaction, under its lock', async () => {
        const [job] = await insertJobs([makeJob({ state: 'RUNNING', progress: 5 })]);
        for (const mode of ['update', 'share'] as const) {
          const read = await store.tx((tx) => tx.jobLock({ id: job.id, mode }));
          expect(read).toEqual(job);
        }
        expect(await store.tx((tx) => tx.jobLock({ id: 'nope', mode: 'update' }))).toBeUndefined();
      });

      it('the reaper settles a stranded job and records the repair', async () => {
        const job = await strandedGraph();
        const { engine, reaper, cleanup } = engineOn(store);
        try {
          expect((await reaper.sweep()).repaired).toBe(1);
          const settled = await engine.getJob(job.id);
          expect(settled.state).toBe('FAILED');
          expect(settled.progress).toBe(100);
          const events = await store.eventList({ jobId: job.id, limit: 10 });
          expect(events.map((e) => e.kind)).toEqual(['job.repair', 'job.state']);
          expect(events[0].message).toMatch(/repaired by the reaper/);
          expect(await store.jobListStranded({ limit: 10 })).toEqual([]);
        } finally {
          await cleanup();
        }
      });

      it('the reaper starts a task whose dependencies all succeeded but which never started', async () => {
        const job = await strandedGraph({ bothSucceeded: true });
        const { engine, reaper, cleanup } = engineOn(store);
        try {
          expect((await reaper.sweep()).repaired).toBe(1);
          expect((await engine.getJob(job.id)).state).toBe('RUNNING');
          const d = (await store.taskList(job.id)).find((t) => t.name === 'd');
          expect(d?.state).toBe('RUNNING');
          expect(await store.executionCountByState({ jobId: job.id })).toEqual({ SUCCEEDED: 3, RUNNABLE: 1 });
          expect(await store.jobListStranded({ limit: 10 })).toEqual([]);
        } finally {
          await cleanup();
        }
      });

      it('the reaper leaves alone a job with unfinished work', async () => {
        const { job } = await insertJobWithExecutions(1, { state: 'RUNNING' });
        const { reaper, cleanup } = engineOn(store);
        try {
          expect((await reaper.sweep()).repaired).toBe(0);
          expect((await store.jobGet(job.id))?.state).toBe('RUNNING');
        } finally {
          await cleanup();
        }
      });
    });

    describe('transactions', () => {
      it('commits what the function wrote', async () => {
        const job = makeJob();
        const result = await store.tx(async (tx) => {
          await tx.jobInsert(job);
          return 'ok';
        });
        expect(result).toBe('ok');
        expect(await store.jobGet(job.id)).toEqual(job);
      });

      it('rolls everything back when the function throws', async () => {
        const job = makeJob();
        await expect(
          store.tx(async (tx) => {
            await tx.jobInsert(job);
            await tx.executionInsertMany([makeExecution(job)]);
            expect(await tx.jobGet(job.id)).toBeDefined();
            throw new Error('boom');
          }),
        ).rejects.toThrow('boom');
        expect(await store.jobGet(job.id)).toBeUndefined();
        expect(await store.executionList({ jobId: job.id, limit: 10 })).toEqual([]);
      });

      it('reuses the open transaction for a nested tx, so the outer rollback undoes it', async () => {
        const outer = makeJob();
        const inner = makeJob();
        await expect(
          store.tx(async (tx) => {
            await tx.jobInsert(outer);
            await tx.tx(async (nested) => {
              expect(await nested.jobGet(outer.id)).toBeDefined();
              await nested.jobInsert(inner);
            });
            expect(await tx.jobGet(inner.id)).toBeDefined();
            throw new Error('undo both');
          }),
        ).rejects.toThrow('undo both');
        expect(await store.jobGet(outer.id)).toBeUndefined();
        expect(await store.jobGet(inner.id)).toBeUndefined();
      });

      it('lets a store call made inside a transaction join it, and later calls run on their own', async () => {
        const joined = makeJob();
        let later: Promise<JobRow | undefined> | undefined;
        await expect(
          store.tx(async () => {
            await store.jobInsert(joined);
            expect(await store.jobGet(joined.id)).toBeDefined();
            later = new Promise((resolve) => setTimeout(resolve, 50)).then(() => store.jobGet(joined.id));
            throw new Error('undo');
          }),
        ).rejects.toThrow('undo');
        expect(await store.jobGet(joined.id)).toBeUndefined();
        expect(await later).toBeUndefined();
      });

      it('keeps a failed statement from leaving the transaction half-done', async () => {
        const job = makeJob();
        await store.jobInsert(job);
        const other = makeJob();
        await expect(
          store.tx(async (tx) => {
            await tx.jobInsert(other);
            await tx.jobInsert(job);
          }),
        ).rejects.toMatchObject({ code: 'BARGE_E_CONFLICT' });
        expect(await store.jobGet(other.id)).toBeUndefined();
        const again = makeJob();
        await store.tx((tx) => tx.jobInsert(again));
        expect(await store.jobGet(again.id)).toBeDefined();
      });

      it('runs many concurrent transactions without losing one', async () => {
        const jobs = Array.from({ length: 25 }, () => makeJob());
        await Promise.all(
          jobs.map((job) =>
            store.tx(async (tx) => {
              await tx.jobInsert(job);
              await tx.taskInsertMany([makeTask(job)]);
            }),
          ),
        );
        expect(await store.jobCount({})).toBe(25);
      });

      it('says so when a transaction object is used after its end', async () => {
        let leaked: Parameters<Parameters<Store['tx']>[0]>[0] | undefined;
        await store.tx(async (tx) => {
          leaked = tx;
        });
        await expect(leaked?.jobGet(newTestId())).rejects.toThrow();
      });
    });

    registryCases(() => store);

    describe('notify, listen, ping', () => {
      it('delivers notifications to listeners until they stop listening', async () => {
        const received: string[] = [];
        const stop = await store.listen('work', (payload) => received.push(payload));
        await store.notify('work', 'one');
        await waitFor(() => received.length === 1);
        await stop();
        await store.notify('work', 'two');
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(received).toEqual(['one']);
      });

      it('answers a ping', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });

      it('reports the dialect', () => {
        expect(['sqlite', 'postgres']).toContain(store.dialect);
      });
    });
  });
}

/** An engine and its reaper over the suite's store (the repair is the engine's rule, run on each store). */
function engineOn(store: Store): { engine: Engine; reaper: Reaper; cleanup: () => Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'barge-conformance-'));
  const engine = new Engine({ store, artifacts: new FolderArtifactStore(dir) });
  const reaper = new Reaper(engine, { nodeId: 'conformance-reaper' });
  return { engine, reaper, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

function logLine(executionId: string, number: number, stream: LogLine['stream'] = 'stdout', line = `line ${number}`): LogLine {
  return { executionId, number, stream, at: at(number), line };
}

function event(jobId: string, executionId: string | null, message = 'm') {
  return {
    jobId,
    executionId,
    at: at(0),
    kind: 'job.state',
    state: 'RUNNING',
    stage: null,
    message,
    data: null,
  };
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
