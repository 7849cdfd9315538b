/**
 * End-to-end flows through the real engine, a real worker, real bash and real Lua, on both stores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRow } from '../../src/core/model.js';
import { makeEngine, type EngineBundle } from '../helpers/engine.js';
import { storeKinds } from '../helpers/stores.js';
import { pgAvailable } from '../helpers/pg.js';

async function executionsOf(bundle: EngineBundle, jobId: string): Promise<ExecutionRow[]> {
  return bundle.engine.store.executionList({ jobId, limit: 10_000 });
}

/** The most executions of `rows` that were running at the same moment. */
function maxOverlap(rows: ExecutionRow[]): number {
  const edges = rows.flatMap((row) => [
    { at: Date.parse(row.startedAt as string), delta: 1 },
    { at: Date.parse(row.completedAt as string), delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let max = 0;
  for (const edge of edges) {
    current += edge.delta;
    max = Math.max(max, current);
  }
  return max;
}

for (const kind of storeKinds) {
  describe.skipIf(kind === 'postgres' && !pgAvailable())(`flows on ${kind}`, () => {
    let bundle: EngineBundle;
    beforeAll(async () => {
      bundle = await makeEngine(kind);
    });
    afterAll(async () => {
      await bundle?.stop();
    });

    it('runs a sequential pipeline, passing results through var and output', async () => {
      const job = await bundle.run({
        name: 'pipeline',
        inputs: { who: 'world' },
        output: '{{ tasks.second }}',
        tasks: [
          { name: 'first', var: 'first', env: { WHO: '{{ inputs.who }}' }, run: 'echo -n "hello $WHO" > $BARGE_OUTPUT' },
          { name: 'second', var: 'second', env: { PREV: '{{ tasks.first }}' }, run: 'echo -n "$PREV!" > $TORK_OUTPUT' },
          { name: 'third', run: 'echo done' },
        ],
      });
      expect(job.state).toBe('SUCCEEDED');
      expect(job.result).toBe('hello world!');
      expect(job.progress).toBe(100);
      const rows = await executionsOf(bundle, job.id);
      expect(rows.map((r) => r.name)).toEqual(['first', 'second', 'third']);
      expect(rows.every((r) => r.state === 'SUCCEEDED' && r.exitCode === 0)).toBe(true);
      // Sequential: each starts after the one before it completed.
      expect(Date.parse(rows[1].startedAt as string)).toBeGreaterThanOrEqual(Date.parse(rows[0].completedAt as string));
      const logs = await bundle.engine.store.logList({ executionId: rows[2].id, limit: 10 });
      expect(logs.map((l) => l.line)).toEqual(['done']);
    });

    it('runs parallel tasks at the same time and waits for all of them', async () => {
      const job = await bundle.run({
        name: 'parallel',
        tasks: [
          {
            name: 'fan',
            parallel: {
              tasks: [
                { name: 'p1', run: 'sleep 0.4' },
                { name: 'p2', run: 'sleep 0.4' },
                { name: 'p3', run: 'sleep 0.4' },
              ],
            },
          },
          { name: 'after', run: 'true' },
        ],
      });
      expect(job.state).toBe('SUCCEEDED');
      const rows = await executionsOf(bundle, job.id);
      expect(rows).toHaveLength(5);
      const children = rows.filter((r) => r.parentId !== null);
      expect(children).toHaveLength(3);
      expect(maxOverlap(children)).toBeGreaterThanOrEqual(2);
      const parent = rows.find((r) => r.kind === 'parallel') as ExecutionRow;
      expect(parent.state).toBe('SUCCEEDED');
      expect(parent.childDone).toBe(3);
    });

    it('runs an each with concurrency 2, never more than 2 at once', async () => {
      const job = await bundle.run({
        name: 'each',
        tasks: [
          {
            name: 'items',
            each: {
              list: '{{ sequence(0, 6) }}',
              concurrency: 2,
              task: { name: 'item {{ item.index }}', env: { V: '{{ item.value }}' }, run: 'sleep 0.2; echo -n "v$V" > $BARGE_OUTPUT' },
            },
          },
        ],
      });
      expect(job.state).toBe('SUCCEEDED');
      const children = (await executionsOf(bundle, job.id)).filter((r) => r.parentId !== null);
      expect(children).toHaveLength(6);
      expect(children.map((c) => c.result).sort()).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
      expect(children.map((c) => c.name)).toContain('item 5');
      expect(maxOverlap(children)).toBeLessThanOrEqual(2);
      expect(maxOverlap(children)).toBe(2);
    });

    it('keeps the var of every array item that succeeds', async () => {
      const job = await bundle.run({
        name: 'each vars',
        output: '{{ tasks.item0 }}-{{ tasks.item3 }}',
        tasks: [
          {
            name: 'items',
            each: {
              list: '{{ sequence(0, 4) }}',
              task: { name: 'i', var: 'item{{ item.index }}', env: { V: '{{ item.value }}' }, run: 'echo -n "$V" > $BARGE_OUTPUT' },
            },
          },
        ],
      });
      expect(job.vars).toEqual({ item0: '0', item1: '1', item2: '2', item3: '3' });
      expect(job.result).toBe('0-3');
    });

    it('runs a sub-job and takes its result', async () => {
      const job = await bundle.run({
        name: 'parent',
        output: '{{ tasks.sub }}',
        tasks: [
          {
            name: 'call',
            var: 'sub',
            subjob: {
              name: 'child',
              output: '{{ tasks.inner }}',
              tasks: [{ name: 'inner', var: 'inner', run: 'echo -n from-child > $BARGE_OUTPUT' }],
            },
          },
        ],
      });
      expect(job.state).toBe('SUCCEEDED');
      expect(job.result).toBe('from-child');
      const [call] = await executionsOf(bundle, job.id);
      expect(call.kind).toBe('subjob');
      const [child] = await bundle.engine.store.jobListByParentExecution([call.id]);
      expect(child.state).toBe('SUCCEEDED');
      expect(child.name).toBe('child');
    });

    it('runs a needs graph: a failed node skips its dependents, independent branches finish, the job fails', async () => {
      const job = await bundle.run({
        name: 'graph',
        tasks: [
          { name: 'a', run: 'true' },
          { name: 'b', needs: ['a'], run: 'echo broken >&2; exit 3' },
          { name: 'c', needs: ['b'], run: 'true' },
          { name: 'd', needs: ['a'], run: 'sleep 0.2' },
          { name: 'e', needs: ['c', 'd'], run: 'true' },
        ],
      });
      expect(job.state).toBe('FAILED');
      expect(job.error).toContain('b: exit code 3');
      const tasks = await bundle.engine.store.taskList(job.id);
      const states = Object.fromEntries(tasks.map((t) => [t.name, t.state]));
      expect(states).toEqual({ a: 'SUCCEEDED', b: 'FAILED', c: 'SKIPPED', d: 'SUCCEEDED', e: 'SKIPPED' });
      const b = (await executionsOf(bundle, job.id)).find((r) => r.name === 'b') as ExecutionRow;
      expect(b.exitCode).toBe(3);
      expect(b.error).toContain('broken');
    });

    it('retries a failing task with backoff, each retry a new attempt', async () => {
      const always = await bundle.run({ name: 'always fails', tasks: [{ name: 'x', retry: { limit: 2 }, run: 'exit 1' }] });
      expect(always.state).toBe('FAILED');
      const rows = await executionsOf(bundle, always.id);
      expect(rows.map((r) => [r.attempt, r.state])).toEqual([
        [1, 'FAILED'],
        [2, 'FAILED'],
        [3, 'FAILED'],
      ]);
      const flaky = await bundle.run({
        name: 'flaky',
        tasks: [{ name: 'y', retry: { limit: 3 }, run: '[ "$BARGE_ATTEMPT" -ge 2 ]' }],
      });
      expect(flaky.state).toBe('SUCCEEDED');
      expect((await executionsOf(bundle, flaky.id)).map((r) => r.state)).toEqual(['FAILED', 'SUCCEEDED']);
    });

    it('skips a task whose if is false and goes on', async () => {
      const job = await bundle.run({
        name: 'conditional',
        tasks: [
          { name: 'skipped', if: 'false', run: 'exit 1' },
          { name: 'runs', if: "{{ inputs.go == 'yes' }}", run: 'true' },
        ],
        inputs: { go: 'yes' },
      });
      expect(job.state).toBe('SUCCEEDED');
      const rows = await executionsOf(bundle, job.id);
      expect(rows.map((r) => r.state)).toEqual(['SKIPPED', 'SUCCEEDED']);
    });

    it('fails a job whose output does not evaluate', async () => {
      const job = await bundle.run({ name: 'bad output', output: '{{ bad_function() }}', tasks: [{ name: 't', run: 'true' }] });
      expect(job.state).toBe('FAILED');
      expect(job.error).toContain('unknown name bad_function');
    });

    it('fails an execution that outlives its timeout', async () => {
      const job = await bundle.run({ name: 'slow', tasks: [{ name: 'sleepy', timeout: '300ms', run: 'sleep 20' }] });
      expect(job.state).toBe('FAILED');
      const [row] = await executionsOf(bundle, job.id);
      expect(row.reason).toBe('timeout');
    });

    it('runs Lua tasks with their argument and result', async () => {
      const job = await bundle.run({
        name: 'lua',
        output: '{{ tasks.sum }}',
        tasks: [{ name: 'sum', var: 'sum', args: ['20'], lua: 'print("adding"); return tonumber(arg[2]) + 22' }],
      });
      expect(job.state).toBe('SUCCEEDED');
      expect(job.result).toBe('42');
    });

    it('keeps files left in outputs/ as artifacts', async () => {
      const job = await bundle.run({ name: 'outputs', tasks: [{ name: 'o', run: 'mkdir -p outputs/sub; echo hi > outputs/sub/a.txt' }] });
      expect(job.state).toBe('SUCCEEDED');
      const artifacts = await bundle.engine.store.artifactList({ jobId: job.id });
      expect(artifacts.map((a) => [a.path, a.size])).toEqual([['sub/a.txt', 3]]);
    });

    it('cancels a running job: executions CANCELLED and processes gone within 2 s', async () => {
      const job = await bundle.engine.submit(
        { name: 'to cancel', tasks: [{ name: 'long', run: 'sleep 60 & sleep 60; wait' }] },
        { owner: 'alice' },
      );
      await waitFor(async () => (await executionsOf(bundle, job.id))[0]?.state === 'RUNNING');
      const before = Date.now();
      const cancelled = await bundle.engine.cancelJob(job.id);
      expect(cancelled.state).toBe('CANCELLED');
      await waitFor(async () => bundle.worker.activeCount === 0, 2_000);
      expect(Date.now() - before).toBeLessThan(2_000);
      const [row] = await executionsOf(bundle, job.id);
      expect(row.state).toBe('CANCELLED');
      await expect(bundle.engine.cancelJob(job.id)).rejects.toThrow(/cannot be cancelled/);
    });

    it('restarts a failed job from the tasks that did not succeed', async () => {
      const job = await bundle.run({
        name: 'restartable',
        tasks: [
          { name: 'ok', run: 'true' },
          { name: 'flaky', run: '[ "$BARGE_ATTEMPT" -ge 2 ]' },
        ],
      });
      expect(job.state).toBe('FAILED');
      await bundle.engine.restartJob(job.id);
      const done = await bundle.engine.waitForJob(job.id, 10_000);
      expect(done.state).toBe('SUCCEEDED');
      const rows = await executionsOf(bundle, job.id);
      expect(rows.map((r) => [r.name, r.attempt, r.state])).toEqual([
        ['ok', 1, 'SUCCEEDED'],
        ['flaky', 1, 'FAILED'],
        ['flaky', 2, 'SUCCEEDED'],
      ]);
      await expect(bundle.engine.restartJob(job.id)).rejects.toThrow(/can not be restarted/);
    });

    it('restarts a graph: a task that waited on the failed one runs later, as a further attempt of itself', async () => {
      const job = await bundle.run({
        name: 'restart graph',
        tasks: [
          { name: 'a', run: 'true' },
          { name: 'b', needs: ['a'], run: '[ "$BARGE_ATTEMPT" -ge 2 ]' },
          { name: 'c', needs: ['b'], run: 'true' },
        ],
      });
      expect(job.state).toBe('FAILED');
      await bundle.engine.restartJob(job.id);
      expect((await bundle.engine.waitForJob(job.id, 10_000)).state).toBe('SUCCEEDED');
      const rows = await executionsOf(bundle, job.id);
      expect(rows.map((r) => [r.name, r.attempt, r.state])).toEqual([
        ['a', 1, 'SUCCEEDED'],
        ['b', 1, 'FAILED'],
        ['b', 2, 'SUCCEEDED'],
        ['c', 1, 'SUCCEEDED'],
      ]);
    });

    it('deletes a finished job with its logs and events', async () => {
      const job = await bundle.run({ name: 'doomed', tasks: [{ name: 'talk', run: 'echo a; echo b' }] });
      const [row] = await executionsOf(bundle, job.id);
      expect(await bundle.engine.store.logCount({ executionId: row.id })).toBe(2);
      await bundle.engine.deleteJob(job.id);
      await expect(bundle.engine.getJob(job.id)).rejects.toThrow(/not found/);
      expect(await bundle.engine.store.logCount({ executionId: row.id })).toBe(0);
      expect(await bundle.engine.store.eventList({ jobId: job.id, limit: 10 })).toEqual([]);
    });

    it('reports script progress and delivers task.Progress and state webhooks to the outbox', async () => {
      const job = await bundle.run({
        name: 'progressing',
        webhooks: [
          { url: 'http://127.0.0.1:9/progress', event: 'task.Progress' },
          { url: 'http://127.0.0.1:9/done', event: 'job.StateChange', if: "{{ job.state == 'SUCCEEDED' }}" },
        ],
        tasks: [{ name: 'p', run: 'echo 50 > $BARGE_PROGRESS; sleep 1.2' }],
      });
      expect(job.state).toBe('SUCCEEDED');
      const due = await bundle.engine.store.outboxTakeDue({ now: '9999-01-01T00:00:00.000Z', limit: 100, leaseMs: 1 });
      const mine = due.filter((row) => JSON.stringify(row.body).includes(job.id));
      const progress = mine.filter((row) => row.url.endsWith('/progress'));
      expect(progress.length).toBeGreaterThanOrEqual(1);
      expect(progress[0].body).toMatchObject({ event: 'task.Progress', execution: { name: 'p' } });
      expect(mine.filter((row) => row.url.endsWith('/done')).map((row) => row.body)).toEqual([
        expect.objectContaining({ event: 'job.StateChange', job: expect.objectContaining({ state: 'SUCCEEDED' }) }),
      ]);
    });

    it('writes an event for every state change', async () => {
      const job = await bundle.run({ name: 'evented', tasks: [{ name: 'e', run: 'true' }] });
      const events = await bundle.engine.store.eventList({ jobId: job.id, limit: 100 });
      const execution = events.filter((e) => e.kind === 'execution.state').map((e) => e.state);
      expect(execution).toEqual(['RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED']);
      const jobStates = events.filter((e) => e.kind === 'job.state').map((e) => e.state);
      expect(jobStates).toEqual(['PENDING', 'RUNNABLE', 'RUNNING', 'SUCCEEDED']);
    });
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
