/**
 * Tork's job and task routes (tork.md §3.1–3.7, §4, §7; §12 checks 4, 10–20): reading, paging,
 * search, cancel and restart rules, `wait`, logs, redaction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../../src/engine/ids.js';
import { eventually, startTork, storedJob, type TorkJob, type TorkUnderTest } from './helpers.js';

let tork: TorkUnderTest;

beforeAll(async () => {
  tork = await startTork({ open: true, reaper: false });
});

afterAll(async () => {
  await tork?.close();
});

async function submit(body: unknown): Promise<string> {
  const { status, body: answer } = await tork.json<{ id: string }>('POST', '/jobs', { body });
  if (status !== 200) throw new Error(`submit: ${status} ${JSON.stringify(answer)}`);
  return answer.id;
}

/** A job no worker takes: its task waits on a queue nobody serves (Tork's SCHEDULED). */
const parked = (name = 'parked'): Record<string, unknown> => ({ name, tasks: [{ name: 'wait', run: 'true', queue: 'nowhere' }] });

describe('GET /jobs/:id and /tasks/:id (checks 4, 10, 11)', () => {
  it('reads a job with tasks and execution arrays', async () => {
    const pending = storedJob();
    await tork.engine.store.jobInsert(pending);
    const { status, body } = await tork.json<TorkJob>('GET', `/jobs/${pending.id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: pending.id, state: 'PENDING', position: 0, tasks: [{ name: 'a task', run: 'true' }], execution: [] });

    const id = await submit(parked());
    const scheduled = await tork.json<TorkJob>('GET', `/jobs/${id}`);
    expect(scheduled.body).toMatchObject({ state: 'SCHEDULED', position: 1, taskCount: 1 });
    expect(scheduled.body.execution).toHaveLength(1);
    expect(scheduled.body.execution[0]).toMatchObject({ jobId: id, position: 1, name: 'wait', state: 'SCHEDULED', queue: 'nowhere' });
  });

  it('answers 404 for unknown ids', async () => {
    expect(await tork.request('GET', `/jobs/${newId()}`)).toMatchObject({ status: 404, text: '{"message":"job not found"}\n' });
    expect(await tork.request('GET', `/tasks/${newId()}`)).toMatchObject({ status: 404, text: '{"message":"task not found"}\n' });
    expect(await tork.request('GET', `/jobs/${newId()}/log`)).toMatchObject({ status: 404, text: '{"message":"job not found"}\n' });
    expect(await tork.request('GET', `/tasks/${newId()}/log`)).toMatchObject({ status: 404, text: '{"message":"task not found"}\n' });
  });

  it('reads a task instance by its id (check 4)', async () => {
    const id = await submit(parked());
    const { body: job } = await tork.json<TorkJob>('GET', `/jobs/${id}`);
    const { status, body } = await tork.json<Record<string, unknown>>('GET', `/tasks/${job.execution[0].id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: job.execution[0].id, name: 'wait', jobId: id, state: 'SCHEDULED' });
  });
});

describe('cancel and restart (checks 12–16)', () => {
  it('cancels SCHEDULED and RUNNING jobs with exact bytes (check 12)', async () => {
    const scheduled = await submit(parked());
    expect(await tork.request('PUT', `/jobs/${scheduled}/cancel`)).toMatchObject({ status: 200, text: '{"status":"OK"}\n' });
    await tork.waitForJob(scheduled, (job) => job.state === 'CANCELLED');

    const running = await submit({ name: 'long', tasks: [{ name: 'sleep', run: 'sleep 30' }] });
    await tork.waitForJob(running, (job) => job.state === 'RUNNING');
    expect(await tork.request('PUT', `/jobs/${running}/cancel`)).toMatchObject({ status: 200, text: '{"status":"OK"}\n' });
    const cancelled = await tork.waitForJob(running, (job) => job.state === 'CANCELLED' && job.execution[0].state === 'CANCELLED');
    expect(cancelled).not.toHaveProperty('completedAt');
  });

  it('refuses to cancel PENDING and COMPLETED jobs (check 13)', async () => {
    const pending = storedJob();
    await tork.engine.store.jobInsert(pending);
    expect(await tork.json('PUT', `/jobs/${pending.id}/cancel`)).toEqual({ status: 400, body: { message: 'job is not running' } });
    const done = await tork.runYaml('name: quick\ntasks:\n  - name: t\n    run: "true"\n');
    expect(done.state).toBe('COMPLETED');
    expect(await tork.json('PUT', `/jobs/${done.id}/cancel`)).toEqual({ status: 400, body: { message: 'job is not running' } });
    expect(await tork.json('PUT', `/jobs/${newId()}/cancel`)).toEqual({ status: 404, body: { message: 'job not found' } });
  });

  it('restarts a CANCELLED job at position 1 (check 14)', async () => {
    const id = await submit(parked());
    await tork.request('PUT', `/jobs/${id}/cancel`);
    const cancelled = await tork.waitForJob(id, (job) => job.state === 'CANCELLED');
    expect(cancelled.position).toBe(1);
    expect(await tork.request('PUT', `/jobs/${id}/restart`)).toMatchObject({ status: 200, text: '{"status":"OK"}\n' });
    const again = await tork.waitForJob(id, (job) => job.state === 'RUNNING');
    // The old instance stays; a new one is created for the current task.
    expect(again.execution.map((t) => t.state)).toEqual(['CANCELLED', 'SCHEDULED']);
    expect(again).not.toHaveProperty('failedAt');
    await tork.request('PUT', `/jobs/${id}/cancel`);
  });

  it('refuses to restart a RUNNING job (check 15)', async () => {
    const id = await submit({ name: 'long', tasks: [{ name: 'sleep', run: 'sleep 30' }] });
    await tork.waitForJob(id, (job) => job.state === 'RUNNING');
    expect(await tork.json('PUT', `/jobs/${id}/restart`)).toEqual({ status: 400, body: { message: 'job is RUNNING and can not be restarted' } });
    const scheduled = await submit(parked());
    expect(await tork.json('PUT', `/jobs/${scheduled}/restart`)).toEqual({ status: 400, body: { message: 'job is SCHEDULED and can not be restarted' } });
    await tork.request('PUT', `/jobs/${id}/cancel`);
    await tork.request('PUT', `/jobs/${scheduled}/cancel`);
  });

  it('refuses to restart a FAILED job past its last task (check 16)', async () => {
    const failed = await tork.runYaml('name: bad output\noutput: "{{ bad_function() }}"\ntasks:\n  - name: t\n    run: "true"\n');
    expect(failed).toMatchObject({ state: 'FAILED', position: 2, taskCount: 1 });
    expect(await tork.json('PUT', `/jobs/${failed.id}/restart`)).toEqual({ status: 400, body: { message: 'job has no more tasks to run' } });
  });

  it('restarts a FAILED job from its failed task', async () => {
    const failed = await tork.runYaml('name: flaky\ntasks:\n  - name: one\n    run: "true"\n  - name: two\n    run: exit 3\n  - name: three\n    run: "true"\n');
    expect(failed).toMatchObject({ state: 'FAILED', position: 2 });
    expect(failed.progress).toBeCloseTo(33.33);
    expect(await tork.request('PUT', `/jobs/${failed.id}/restart`)).toMatchObject({ status: 200, text: '{"status":"OK"}\n' });
    const again = await tork.waitForJob(failed.id, (job) => job.state === 'FAILED' && job.execution.length === 3);
    expect(again.execution.map((t) => `${t.name}:${t.state}`)).toEqual(['one:COMPLETED', 'two:FAILED', 'two:FAILED']);
  });
});

describe('wait (check 17, §11 #6)', () => {
  it('answers 408 when the job does not finish in time', async () => {
    const started = Date.now();
    const answer = await tork.json('POST', '/jobs', { body: { ...parked(), wait: { timeout: '1s' } } });
    expect(answer).toEqual({ status: 408, body: { message: 'timeout waiting for job to complete' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('answers the full job once it completes', async () => {
    const answer = await tork.json<TorkJob>('POST', '/jobs', {
      body: { name: 'sync', secrets: { TOKEN: 'abc123' }, tasks: [{ name: 't', run: 'echo -n done > $TORK_OUTPUT', var: 'out' }], output: '{{ tasks.out }}', wait: { timeout: '30s' } },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ state: 'COMPLETED', result: 'done', secrets: { TOKEN: '[REDACTED]' } });
    expect(answer.body.execution).toHaveLength(1);
  });

  it('answers as soon as the job is cancelled', async () => {
    const pending = tork.json<TorkJob>('POST', '/jobs', { body: { ...parked('wait-cancel'), wait: { timeout: '30s' } } });
    let id = '';
    await eventually(async () => {
      const list = await tork.json<{ items: Array<{ id: string; name: string }> }>('GET', '/jobs?q=wait-cancel');
      id = list.body.items[0]?.id ?? '';
      return id !== '';
    });
    await tork.request('PUT', `/jobs/${id}/cancel`);
    const answer = await pending;
    expect(answer).toMatchObject({ status: 200, body: { id, state: 'CANCELLED' } });
  });

  it('refuses a malformed wait timeout', async () => {
    const answer = await tork.json('POST', '/jobs', { body: { ...parked(), wait: { timeout: 'soon' } } });
    expect(answer).toEqual({ status: 400, body: { message: "Key: 'Job.Wait.Timeout' Error:Field validation for 'Timeout' failed on the 'duration' tag" } });
  });
});

describe('logs', () => {
  it('pages a task log newest first and searches it', async () => {
    const job = await tork.runYaml('name: chatty\nsecrets:\n  PASS: hunter2\ntasks:\n  - name: t\n    run: |\n      for i in $(seq 1 30); do echo "line $i"; done\n      echo "the secret is hunter2"\n');
    const task = job.execution[0];
    const first = await tork.json<{ items: Array<{ number: number; contents: string; taskId: string; id: string }>; number: number; size: number; totalPages: number; totalItems: number }>('GET', `/tasks/${task.id}/log`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ number: 1, size: 25, totalItems: 31, totalPages: 2 });
    expect(first.body.items[0]).toMatchObject({ number: 31, contents: 'the secret is [REDACTED]\n', taskId: task.id });
    expect(first.body.items[0].id).toMatch(/^[0-9a-f]{32}$/);
    expect(first.body.items[1]).toMatchObject({ number: 30, contents: 'line 30\n' });
    const second = await tork.json<{ items: Array<{ number: number }>; size: number }>('GET', `/tasks/${task.id}/log?page=2`);
    expect(second.body.size).toBe(6);
    expect(second.body.items.map((i) => i.number)).toEqual([6, 5, 4, 3, 2, 1]);
    const big = await tork.json<{ size: number; totalPages: number }>('GET', `/tasks/${task.id}/log?size=500`);
    expect(big.body).toMatchObject({ size: 31, totalPages: 1 });
    const searched = await tork.json<{ items: Array<{ contents: string }>; totalItems: number }>('GET', `/tasks/${task.id}/log?q=line+3`);
    expect(searched.body.items.map((i) => i.contents)).toEqual(['line 30\n', 'line 3\n']);
    expect(await tork.json('GET', `/tasks/${task.id}/log?page=x`)).toEqual({ status: 404, body: { message: 'invalid page number: x' } });
    expect(await tork.json('GET', `/tasks/${task.id}/log?size=y`)).toEqual({ status: 404, body: { message: 'invalid size: y' } });

    const jobLog = await tork.json<{ items: Array<{ contents: string }>; totalItems: number; size: number }>('GET', `/jobs/${job.id}/log?size=50`);
    expect(jobLog.body).toMatchObject({ totalItems: 31, size: 31 });
    expect(jobLog.body.items[0].contents).toBe('the secret is [REDACTED]\n');
    const jobSearch = await tork.json<{ items: unknown[]; totalItems: number }>('GET', `/jobs/${job.id}/log?q=secret`);
    // As in Tork, a job log's totalItems ignores q.
    expect(jobSearch.body).toMatchObject({ totalItems: 31, items: [{ contents: 'the secret is [REDACTED]\n' }] });
  });
});

describe('redaction (§7)', () => {
  it('hides secrets and sensitive keys on job and task reads', async () => {
    const job = await tork.runYaml(
      [
        'name: secretive',
        'inputs:',
        '  MY_PASSWORD: pw1',
        '  plain: value',
        'secrets:',
        '  API: s3cr3t',
        'tasks:',
        '  - name: t',
        '    var: out',
        '    env:',
        '      AWS_ACCESS_KEY: key1',
        '      TOKEN: "prefix-s3cr3t"',
        '    registry:',
        '      username: me',
        '      password: pw2',
        '    image: ubuntu:mantic',
        '    run: echo -n ok > $TORK_OUTPUT',
      ].join('\n'),
    );
    const text = (await tork.request('GET', `/jobs/${job.id}`)).text;
    for (const secret of ['pw1', 's3cr3t', 'key1', 'pw2']) expect(text).not.toContain(secret);
    expect(job.inputs).toEqual({ MY_PASSWORD: '[REDACTED]', plain: 'value' });
    expect(job.secrets).toEqual({ API: '[REDACTED]' });
    expect(job.context).toMatchObject({ secrets: { API: '[REDACTED]' }, inputs: { plain: 'value' }, tasks: { out: 'ok' } });
    expect(job.execution[0]).toMatchObject({ env: { AWS_ACCESS_KEY: '[REDACTED]', TOKEN: 'prefix-[REDACTED]' }, registry: { username: 'me', password: '[REDACTED]' } });
    const taskText = (await tork.request('GET', `/tasks/${job.execution[0].id}`)).text;
    for (const secret of ['s3cr3t', 'key1', 'pw2']) expect(taskText).not.toContain(secret);
  });
});

describe('GET /jobs paging and search (checks 18–20)', () => {
  let fixture: TorkUnderTest;

  beforeAll(async () => {
    fixture = await startTork({ worker: false, reaper: false });
    // Tork's fixture: 101 RUNNING jobs named "Job 1"…"Job 101", tagged tag-0…tag-100.
    for (let i = 0; i < 101; i += 1) {
      await fixture.engine.store.jobInsert(
        storedJob({ name: `Job ${i + 1}`, state: 'RUNNING', tags: [`tag-${i}`], createdAt: new Date(Date.now() + i).toISOString() }),
      );
    }
  });

  afterAll(async () => {
    await fixture?.close();
  });

  type JobPage = { items: Array<{ id: string; name: string; createdAt: string; state: string }>; number: number; size: number; totalPages: number; totalItems: number };

  it('pages newest first with Tork’s numbers (check 18)', async () => {
    const first = await fixture.json<JobPage>('GET', '/jobs');
    expect(first.body).toMatchObject({ size: 10, totalPages: 11, number: 1, totalItems: 101 });
    expect(first.body.items[0]).toMatchObject({ name: 'Job 101', state: 'RUNNING' });
    const last = await fixture.json<JobPage>('GET', '/jobs?page=11');
    expect(last.body).toMatchObject({ size: 1, totalPages: 11, number: 11 });
    expect(last.body.items[0].name).toBe('Job 1');
    const clamped = await fixture.json<JobPage>('GET', '/jobs?page=1&size=50');
    expect(clamped.body).toMatchObject({ size: 20, totalPages: 6, number: 1 });
    const second = await fixture.json<JobPage>('GET', '/jobs?page=2');
    const ids = new Set([...first.body.items, ...second.body.items].map((j) => j.id));
    expect(ids.size).toBe(20);
    const times = [...first.body.items, ...second.body.items].map((j) => Date.parse(j.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect((await fixture.json<JobPage>('GET', '/jobs?page=0&size=0')).body).toMatchObject({ number: 1, size: 1, totalPages: 101 });
    expect((await fixture.json<JobPage>('GET', '/jobs?page=99')).body).toMatchObject({ items: [], size: 0, number: 99 });
  });

  it('answers 404 for malformed numbers (check 19)', async () => {
    expect(await fixture.request('GET', '/jobs?page=abc')).toMatchObject({ status: 404, text: '{"message":"invalid page number: abc"}\n' });
    expect(await fixture.request('GET', '/jobs?size=big')).toMatchObject({ status: 404, text: '{"message":"invalid size: big"}\n' });
  });

  it('searches words and tags (check 20)', async () => {
    const count = async (q: string): Promise<number> => (await fixture.json<JobPage>('GET', `/jobs?q=${q}`)).body.totalItems;
    expect(await count('')).toBe(101);
    expect(await count('101')).toBe(1);
    expect(await count('tag:tag-1')).toBe(1);
    expect(await count('tag:not-a-tag')).toBe(0);
    expect(await count('tags:not-a-tag,tag-1')).toBe(1);
    expect(await count('Job')).toBe(101);
    expect((await fixture.json<JobPage>('GET', '/jobs?q=Job')).body.items).toHaveLength(10);
    expect(await count('running')).toBe(101);
    expect(await count('completed')).toBe(0);
    // tork-web sends q unencoded: a space arrives as + or %20.
    expect(await count('Job+101')).toBe(1);
    expect(await count('Job%20101')).toBe(1);
  });
});
