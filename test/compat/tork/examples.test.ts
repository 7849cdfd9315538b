/**
 * Tork's examples and lifecycle end to end over HTTP, with a real worker running image tasks in
 * the shell runtime (tork.md §8, §12 checks 23–25, 36–40): hello, parallel, each, subjob and
 * job_defaults; `if`, job output, retry, timeout, pre/post; webhooks; scheduled jobs.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTork, type TorkJob, type TorkTask, type TorkUnderTest } from './helpers.js';

let tork: TorkUnderTest;

beforeAll(async () => {
  tork = await startTork({ open: true });
});

afterAll(async () => {
  await tork?.close();
});

const HELLO = `
name: hello world
output: "{{ tasks.hello }}"
tasks:
  - var: hello
    name: simple task
    image: ubuntu:mantic
    run: echo -n hello world > $TORK_OUTPUT
`;

const PARALLEL = `
name: sample parallel job
tasks:
  - name: hello task
    image: ubuntu:mantic
    run: echo start of job
  - name: a parallel task
    parallel:
      tasks:
        - name: sleep for 2 seconds
          image: ubuntu:mantic
          run: echo 2
        - name: sleep for 1 second
          image: ubuntu:mantic
          run: echo 1
        - name: sleep for 3 seconds
          image: ubuntu:mantic
          run: echo 3
        - name: sleep for 2 seconds
          image: ubuntu:mantic
          run: echo 2
        - name: sleep for 1 second
          image: ubuntu:mantic
          run: echo 1
        - name: sleep for 3 seconds
          image: ubuntu:mantic
          run: echo 3
  - name: bye task
    image: ubuntu:mantic
    run: echo end of job
`;

const EACH = `
name: sample each job
tasks:
  - name: hello task
    image: ubuntu:mantic
    run: echo start of job
  - name: sample each task
    each:
      list: "{{ sequence(1,5) }}"
      task:
        name: output task item
        var: eachTask{{item.index}}
        image: ubuntu:mantic
        env:
          ITEM: "{{item.value}}"
        run: echo -n $ITEM > $TORK_OUTPUT
  - name: sample each task with custom var
    each:
      list: "{{ sequence(1,5) }}"
      var: myitem
      concurrency: 2
      task:
        name: output task item
        var: eachTask{{myitem.index}}
        image: ubuntu:mantic
        env:
          ITEM: "{{myitem.value}}"
        run: echo -n $ITEM > $TORK_OUTPUT
  - name: bye task
    image: ubuntu:mantic
    run: echo end of job
`;

/** Two sub-jobs in parallel and one on its own: 6 task instances in the parent. */
const SUBJOB = `
name: sample job with sub jobs
tasks:
  - name: hello task
    image: ubuntu:mantic
    run: echo start of job
  - name: running 2 jobs in parallel
    parallel:
      tasks:
        - name: sample job 1
          subjob:
            name: my sub job 1
            tasks:
              - name: hello sub task job 1
                image: ubuntu:mantic
                run: echo start of sub-job
              - name: bye sub task job 1
                image: ubuntu:mantic
                run: echo end of sub-job
        - name: sample job 2
          subjob:
            name: my sub job 2
            output: "{{ tasks.word }}"
            tasks:
              - name: hello sub task job 2
                var: word
                image: ubuntu:mantic
                run: echo -n sub-result > $TORK_OUTPUT
  - name: sample job 3
    subjob:
      name: my sub job 3
      tasks:
        - name: only task
          image: ubuntu:mantic
          run: echo alone
  - name: bye task
    image: ubuntu:mantic
    run: echo end of job
`;

const JOB_DEFAULTS = `
name: job defaults example
defaults:
  limits:
    cpus: .5
  timeout: 30s
  retry:
    limit: 1
tasks:
  - name: sleep a little
    image: alpine:3.18.3
    run: sleep 0.1
  - name: sleep too much
    image: alpine:3.18.3
    run: sleep 0.2
`;

describe('Tork examples (checks 36, 37)', () => {
  it('runs hello.yaml', async () => {
    const job = await tork.runYaml(HELLO);
    expect(job).toMatchObject({ state: 'COMPLETED', result: 'hello world', position: 2, progress: 100, taskCount: 1 });
    expect(job.execution).toHaveLength(1);
    expect(job.execution[0]).toMatchObject({ position: 1, name: 'simple task', state: 'COMPLETED', result: 'hello world', image: 'ubuntu:mantic', queue: 'default', var: 'hello' });
    expect(job.context).toMatchObject({ job: { id: job.id, name: 'hello world' }, tasks: { hello: 'hello world' } });
    expect(job.tasks).toEqual([{ name: 'simple task', run: 'echo -n hello world > $TORK_OUTPUT', image: 'ubuntu:mantic', var: 'hello' }]);
    expect(job).toHaveProperty('completedAt');
    const raw = (await tork.request('GET', `/jobs/${job.id}`)).text;
    expect(raw).toContain('"run":"echo -n hello world \\u003e $TORK_OUTPUT"');
  });

  it('runs parallel.yaml with 9 task instances', async () => {
    const job = await tork.runYaml(PARALLEL);
    expect(job.state).toBe('COMPLETED');
    expect(job.execution).toHaveLength(9);
    const parent = job.execution.find((t) => t.name === 'a parallel task');
    const children = job.execution.filter((t) => t.parentId === parent?.id);
    expect(children).toHaveLength(6);
    expect(children.every((c) => c.position === 2 && c.state === 'COMPLETED')).toBe(true);
    expect(parent).toMatchObject({ position: 2, parallel: { completions: 6 } });
    expect(job.execution.map((t) => t.position)).toEqual([1, 2, 2, 2, 2, 2, 2, 2, 3]);
  });

  it('runs each.yaml with 12 task instances', async () => {
    const job = await tork.runYaml(EACH);
    expect(job.state).toBe('COMPLETED');
    expect(job.execution).toHaveLength(12);
    const items = job.execution.filter((t) => t.name === 'output task item');
    expect(items.map((t) => t.result).sort()).toEqual(['1', '1', '2', '2', '3', '3', '4', '4']);
    const parents = job.execution.filter((t) => t.name.startsWith('sample each task'));
    expect(parents.map((p) => p.each)).toMatchObject([{ size: 4, completions: 4 }, { size: 4, completions: 4, concurrency: 2, var: 'myitem' }]);
  });

  it('runs subjob.yaml with 6 task instances, the sub-jobs’ own tasks in the sub-jobs', async () => {
    const job = await tork.runYaml(SUBJOB);
    expect(job.state).toBe('COMPLETED');
    expect(job.execution).toHaveLength(6);
    const second = job.execution.find((t) => t.name === 'sample job 2');
    expect(second).toMatchObject({ state: 'COMPLETED', result: 'sub-result' });
    const subId = second?.subjob?.id as string;
    expect(subId).toMatch(/^[0-9a-f]{32}$/);
    const { body: sub } = await tork.json<TorkJob>('GET', `/jobs/${subId}`);
    expect(sub).toMatchObject({ name: 'my sub job 2', parentId: second?.id, state: 'COMPLETED', result: 'sub-result' });
    expect(sub.execution).toHaveLength(1);
  });

  it('runs job_defaults.yaml with 2 task instances that show the defaults', async () => {
    const job = await tork.runYaml(JOB_DEFAULTS);
    expect(job.state).toBe('COMPLETED');
    expect(job.execution).toHaveLength(2);
    expect(job.execution[0]).toMatchObject({ limits: { cpus: '.5' }, timeout: '30s', retry: { limit: 1 } });
    expect(job.defaults).toEqual({ retry: { limit: 1 }, limits: { cpus: '.5' }, timeout: '30s' });
  });
});

describe('lifecycle as in Tork (checks 38–40)', () => {
  it('skips a task whose if is false and goes on (check 38)', async () => {
    const job = await tork.runYaml('name: conditional\ntasks:\n  - name: skipped\n    if: "false"\n    run: exit 1\n  - name: ran\n    if: "{{ 1 == 1 }}"\n    run: echo -n yes > $TORK_OUTPUT\n');
    expect(job.state).toBe('COMPLETED');
    expect(job.execution.map((t) => `${t.name}:${t.state}`)).toEqual(['skipped:SKIPPED', 'ran:COMPLETED']);
    expect(job.execution[0]).toHaveProperty('completedAt');
  });

  it('fails a job whose output does not evaluate (check 39)', async () => {
    const job = await tork.runYaml('name: bad output\noutput: "{{ bad_function() }}"\ntasks:\n  - name: t\n    run: "true"\n');
    expect(job.state).toBe('FAILED');
    expect(job.error).toContain('unknown name bad_function');
    expect(job).toHaveProperty('failedAt');
    expect(job).not.toHaveProperty('completedAt');
  });

  it('retries a failing task as new instances (check 40)', async () => {
    const job = await tork.runYaml('name: coin flip\ntasks:\n  - name: always tails\n    image: ubuntu:mantic\n    run: echo tails; exit 1\n    retry:\n      limit: 2\n');
    expect(job.state).toBe('FAILED');
    expect(job.execution).toHaveLength(3);
    expect(job.execution.every((t) => t.state === 'FAILED' && t.error?.startsWith('exit code 1'))).toBe(true);
    expect(job.execution.map((t) => t.retry)).toEqual([{ limit: 2 }, { limit: 2, attempts: 1 }, { limit: 2, attempts: 2 }]);
    expect(new Set(job.execution.map((t) => t.id)).size).toBe(3);
    expect(job.error).toContain('exit code 1');
  });

  it('succeeds once a retry succeeds', async () => {
    const job = await tork.runYaml('name: third time lucky\ntasks:\n  - name: flaky\n    var: v\n    run: \'[ "$BARGE_ATTEMPT" = 3 ] && echo -n lucky > $TORK_OUTPUT\'\n    retry:\n      limit: 3\n');
    expect(job.state).toBe('COMPLETED');
    expect(job.execution.map((t) => t.state)).toEqual(['FAILED', 'FAILED', 'COMPLETED']);
    expect(job.context.tasks).toEqual({ v: 'lucky' });
  });

  it('fails a task that runs past its timeout', async () => {
    const job = await tork.runYaml('name: sample timeout job\ntasks:\n  - name: a long task\n    image: ubuntu:mantic\n    run: sleep 10\n    timeout: 1s\n');
    expect(job.state).toBe('FAILED');
    expect(job.execution[0]).toMatchObject({ state: 'FAILED', timeout: '1s', error: 'context deadline exceeded' });
    expect(job.error).toBe('context deadline exceeded');
  });

  it('runs pre and post tasks around the task, in its folder', async () => {
    const job = await tork.runYaml(
      [
        'name: pre- and post- tasks examples',
        'tasks:',
        '  - name: simple task',
        '    image: ubuntu:mantic',
        '    run: cat pre > $TORK_OUTPUT',
        '    pre:',
        '      - name: pre task',
        '        image: ubuntu:mantic',
        '        run: echo im a pre task > pre',
        '    post:',
        '      - name: post task',
        '        image: ubuntu:mantic',
        '        run: echo im a post task > post',
      ].join('\n'),
    );
    expect(job.state).toBe('COMPLETED');
    expect(job.execution[0]).toMatchObject({ result: 'im a pre task\n', pre: [{ name: 'pre task' }], post: [{ name: 'post task' }] });
  });

  it('evaluates the job output from task variables', async () => {
    const job = await tork.runYaml('name: job output example\noutput: "hello {{ tasks.randomNumber }}"\ntasks:\n  - var: randomNumber\n    name: generate a random number\n    image: ubuntu:mantic\n    run: echo -n "$(shuf -i 1-10000 -n1)" > $TORK_OUTPUT\n');
    expect(job.state).toBe('COMPLETED');
    expect(job.result).toMatch(/^hello \d+$/);
  });

  it('reports a task’s progress and the job’s while it runs', async () => {
    const created = await tork.json<{ id: string }>('POST', '/jobs', {
      body: { name: 'progressing', tasks: [{ name: 'one', run: 'true' }, { name: 'two', run: 'echo 50 > $TORK_PROGRESS; sleep 30' }] },
    });
    const running = await tork.waitForJob(created.body.id, (job) => job.execution.some((t) => t.name === 'two' && t.progress === 50));
    expect(running).toMatchObject({ state: 'RUNNING', position: 2, progress: 75 });
    // The list counts the running task's share as the job view does (issue 14 #7).
    const { body: list } = await tork.json<{ items: Array<{ id: string; progress?: number }> }>('GET', '/jobs?q=progressing');
    expect(list.items.find((item) => item.id === created.body.id)?.progress).toBe(75);
    // A task that reported nothing has no progress, as in Tork.
    expect(running.execution.find((t) => t.name === 'one')).not.toHaveProperty('progress');
    await tork.request('PUT', `/jobs/${created.body.id}/cancel`);
  });
});

describe('failures as Tork shows them (issue 14 #4–#7)', () => {
  it('cancels a parallel task whose child failed; the job fails with the child’s error', async () => {
    const job = await tork.runYaml(
      'name: failing parallel\ntasks:\n  - name: fan\n    parallel:\n      tasks:\n        - name: bad\n          run: echo oops; exit 3\n        - name: slow\n          run: sleep 30\n',
    );
    expect(job.state).toBe('FAILED');
    const parent = job.execution.find((t) => t.name === 'fan');
    expect(parent?.state).toBe('CANCELLED');
    expect(parent).not.toHaveProperty('error');
    expect(parent).not.toHaveProperty('failedAt');
    expect(parent).toHaveProperty('scheduledAt');
    const bad = job.execution.find((t) => t.name === 'bad');
    expect(bad).toMatchObject({ state: 'FAILED', parentId: parent?.id });
    expect(bad?.error).toMatch(/^exit code 3/);
    expect(job.execution.find((t) => t.name === 'slow')?.state).toBe('CANCELLED');
    expect(job.error).toBe(bad?.error);
  });

  it('cancels an each task whose item failed', async () => {
    const job = await tork.runYaml(
      'name: failing each\ntasks:\n  - name: loop\n    each:\n      list: "{{ [1, 2] }}"\n      concurrency: 1\n      task:\n        name: item\n        run: exit 1\n',
    );
    expect(job.state).toBe('FAILED');
    const parent = job.execution.find((t) => t.name === 'loop');
    expect(parent).toMatchObject({ state: 'CANCELLED', each: { size: 2, concurrency: 1 } });
    expect(parent).not.toHaveProperty('error');
    expect(job.error).toMatch(/^exit code 1/);
  });

  it('gives a failed sub-job’s task the inner task’s error as it is', async () => {
    const job = await tork.runYaml(
      'name: failing subjob\ntasks:\n  - name: outer\n    subjob:\n      name: inner job\n      tasks:\n        - name: inner task\n          run: echo broken; exit 2\n',
    );
    expect(job.state).toBe('FAILED');
    const outer = job.execution.find((t) => t.name === 'outer');
    const { body: sub } = await tork.json<TorkJob>('GET', `/jobs/${outer?.subjob?.id as string}`);
    const inner = sub.execution.find((t) => t.name === 'inner task');
    expect(inner?.error).toMatch(/^exit code 2/);
    expect(outer).toMatchObject({ state: 'FAILED', error: inner?.error });
    expect(sub.error).toBe(inner?.error);
    expect(job.error).toBe(inner?.error);
    const { body: task } = await tork.json<TorkTask>('GET', `/tasks/${outer?.id as string}`);
    expect(task.error).toBe(inner?.error);
  });

  it('shows a task’s if evaluated, and an each task’s next index', async () => {
    const job = await tork.runYaml(
      'name: conditions\ninputs:\n  go: "yes"\ntasks:\n  - name: skipped\n    if: "{{ inputs.go == \'no\' }}"\n    run: exit 1\n  - name: ran\n    if: "{{ inputs.go == \'yes\' }}"\n    run: "true"\n  - name: loop\n    each:\n      list: "{{ [1, 2, 3] }}"\n      concurrency: 2\n      task:\n        name: item\n        run: "true"\n',
    );
    expect(job.state).toBe('COMPLETED');
    expect(job.execution.find((t) => t.name === 'skipped')).toMatchObject({ state: 'SKIPPED', if: 'false' });
    expect(job.execution.find((t) => t.name === 'ran')).toMatchObject({ state: 'COMPLETED', if: 'true' });
    expect(job.execution.find((t) => t.name === 'ran')).not.toHaveProperty('progress');
    const loop = job.execution.find((t) => t.name === 'loop');
    expect(loop).toMatchObject({ each: { size: 3, completions: 3, concurrency: 2, index: 5 } });
    expect(loop).toHaveProperty('scheduledAt');
    expect(loop).not.toHaveProperty('progress');
    expect(job.tasks[0]).toMatchObject({ if: "{{ inputs.go == 'no' }}" });
  });

  it('words a refused task feature as Tork’s shell runtime does (#6)', async () => {
    const job = await tork.runYaml('name: refused\ntasks:\n  - name: mounted\n    image: ubuntu:mantic\n    cmd: ["ls"]\n');
    expect(job.state).toBe('FAILED');
    expect(job.execution[0].error).toBe('cmd is not supported on shell runtime');
  });
});

describe('webhooks (§8.4)', () => {
  let receiver: Server;
  let url = '';
  const received: Array<{ path: string; headers: IncomingHttpHeaders; body: Record<string, unknown> }> = [];

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      request.on('end', () => {
        received.push({ path: request.url ?? '', headers: request.headers, body: JSON.parse(text) as Record<string, unknown> });
        response.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const address = receiver.address();
    if (!address || typeof address !== 'object') throw new Error('receiver not listening');
    url = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it('posts JobSummary and TaskSummary bodies, filtered by if with Go field names', async () => {
    const job = await tork.runYaml(
      [
        'name: hooked',
        'inputs:',
        '  who: world',
        'webhooks:',
        `  - url: ${url}/job`,
        '    headers:',
        '      X-Who: "{{ inputs.who }}"',
        `  - url: ${url}/done`,
        '    event: job.StateChange',
        "    if: \"{{ job.State == 'COMPLETED' && job.TaskCount == 1 }}\"",
        `  - url: ${url}/task`,
        '    event: task.StateChange',
        "    if: \"{{ task.State == 'COMPLETED' }}\"",
        'tasks:',
        '  - name: t',
        '    var: out',
        '    run: echo -n hi > $TORK_OUTPUT',
      ].join('\n'),
    );
    expect(job.state).toBe('COMPLETED');
    await eventually(() => received.some((r) => r.path === '/done') && received.some((r) => r.path === '/task'));
    const done = received.filter((r) => r.path === '/done');
    expect(done).toHaveLength(1);
    expect(done[0].body).toMatchObject({ id: job.id, name: 'hooked', state: 'COMPLETED', position: 2, taskCount: 1, progress: 100 });
    expect(done[0].headers['content-type']).toBe('application/json; charset=UTF-8');
    // createdBy is the stored user, as Tork sends it (issue 14 #9).
    const { body: read } = await tork.json<TorkJob>('GET', `/jobs/${job.id}`);
    const createdBy = done[0].body.createdBy as Record<string, unknown>;
    expect(createdBy).toEqual(read.createdBy);
    expect(createdBy.id).toMatch(/^[0-9a-f]{32}$/);
    expect(createdBy.createdAt).toMatch(/Z$/);
    const states = received.filter((r) => r.path === '/job').map((r) => r.body.state);
    expect(states).toContain('COMPLETED');
    expect(received.find((r) => r.path === '/job')?.headers['x-who']).toBe('world');
    const task = received.filter((r) => r.path === '/task');
    expect(task).toHaveLength(1);
    expect(task[0].body).toMatchObject({ jobId: job.id, position: 1, name: 't', state: 'COMPLETED', result: 'hi', var: 'out' });
  });

  it('says what GET /jobs says of a failed job: the failing task’s error, the exact position', async () => {
    const job = await tork.runYaml(
      [
        'name: hooked failure',
        'webhooks:',
        `  - url: ${url}/failed`,
        "    if: \"{{ job.State == 'FAILED' }}\"",
        `  - url: ${url}/cancelled-task`,
        '    event: task.StateChange',
        "    if: \"{{ task.State == 'CANCELLED' }}\"",
        'tasks:',
        '  - name: first',
        '    run: "true"',
        '  - name: fan',
        '    parallel:',
        '      tasks:',
        '        - name: bad',
        '          run: echo nope; exit 4',
        '  - name: never',
        '    run: "true"',
      ].join('\n'),
    );
    expect(job.state).toBe('FAILED');
    await eventually(() => received.some((r) => r.path === '/failed') && received.some((r) => r.path === '/cancelled-task'));
    const { body: page } = await tork.json<{ items: Array<Record<string, unknown>> }>('GET', '/jobs?q=hooked');
    const listed = page.items.find((item) => item.id === job.id);
    const failed = received.filter((r) => r.path === '/failed');
    expect(failed).toHaveLength(1);
    expect(failed[0].body).toMatchObject({ state: 'FAILED', position: 2, error: job.error });
    expect(failed[0].body.error).toMatch(/^exit code 4/);
    expect(failed[0].body).toEqual(listed);
    // The parallel task its child failed is CANCELLED in Tork's words, at its own position.
    const cancelled = received.filter((r) => r.path === '/cancelled-task');
    expect(cancelled.map((r) => r.body)).toEqual([expect.objectContaining({ name: 'fan', state: 'CANCELLED', position: 2 })]);
  });
});

describe('scheduled jobs (checks 23–25)', () => {
  const scheduled = (cron: unknown): Record<string, unknown> => ({
    name: 'nightly',
    tasks: [{ name: 't', image: 'ubuntu:mantic', run: 'echo -n tick > $TORK_OUTPUT', var: 'v' }],
    output: '{{ tasks.v }}',
    schedule: { cron },
  });

  it('creates, lists, pauses, resumes and deletes (checks 23–25)', async () => {
    const created = await tork.json<{ id: string; state: string; cron: string }>('POST', '/scheduled-jobs', { body: scheduled('0 0 * * *') });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ state: 'ACTIVE', cron: '0 0 * * *', name: 'nightly' });
    const id = created.body.id;

    const list = await tork.json<{ items: Array<{ id: string; cron: string; state: string }>; size: number; number: number; totalItems: number }>('GET', '/scheduled-jobs');
    expect(list.body.items[0]).toMatchObject({ id, cron: '0 0 * * *', state: 'ACTIVE' });
    const one = await tork.json<{ tasks: unknown[]; cron: string }>('GET', `/scheduled-jobs/${id}`);
    expect(one.body).toMatchObject({ id, cron: '0 0 * * *', tasks: [{ name: 't' }] });

    expect(await tork.request('PUT', `/scheduled-jobs/${id}/resume`)).toMatchObject({ status: 400, text: '{"message":"scheduled job is not paused"}\n' });
    expect(await tork.request('PUT', `/scheduled-jobs/${id}/pause`)).toMatchObject({ status: 200, text: '{"status":"OK"}\n' });
    expect(await tork.request('PUT', `/scheduled-jobs/${id}/pause`)).toMatchObject({ status: 400, text: '{"message":"scheduled job is not active"}\n' });
    expect((await tork.json<{ state: string }>('GET', `/scheduled-jobs/${id}`)).body.state).toBe('PAUSED');
    expect(await tork.request('PUT', `/scheduled-jobs/${id}/resume`)).toMatchObject({ status: 200, text: '{"status":"OK"}\n' });

    expect(await tork.request('DELETE', `/scheduled-jobs/${id}`)).toMatchObject({ status: 200, text: '{"status":"OK"}\n' });
    expect(await tork.request('GET', `/scheduled-jobs/${id}`)).toMatchObject({ status: 404, text: '{"message":"scheduled job not found"}\n' });
    expect(await tork.json('DELETE', `/scheduled-jobs/${id}`)).toEqual({ status: 404, body: { message: 'scheduled job not found' } });
  });

  it.each([['invalid-cron'], [''], ['0 0 * * * *'], ['0 0 0 * * * *']])('refuses cron %j (check 25)', async (cron) => {
    const answer = await tork.json<{ message: string }>('POST', '/scheduled-jobs', { body: scheduled(cron) });
    expect(answer.status).toBe(400);
    expect(answer.body.message).toMatch(/^Key: 'ScheduledJob.Schedule.Cron' Error:Field validation for 'Cron' failed on the '(required|cron)' tag$/);
  });

  it('refuses a scheduled job without a schedule, and wait', async () => {
    const { schedule: _schedule, ...plain } = scheduled('0 0 * * *');
    expect((await tork.json<{ message: string }>('POST', '/scheduled-jobs', { body: plain })).body.message).toBe(
      "Key: 'ScheduledJob.Schedule' Error:Field validation for 'Schedule' failed on the 'required' tag",
    );
    expect((await tork.json('POST', '/scheduled-jobs', { body: { ...scheduled('0 0 * * *'), wait: { timeout: '1s' } } })).body).toEqual({
      message: 'json: unknown field "wait"',
    });
    expect(await tork.json('POST', '/scheduled-jobs', { body: 'name: x', headers: { 'content-type': 'text/csv' } })).toEqual({
      status: 400,
      body: { message: 'unknown content type: text/csv' },
    });
  });

  it('fires an ordinary job on its cron tick, once', async () => {
    const clocked = await startTork({ open: true });
    try {
      const created = await clocked.json<{ id: string }>('POST', '/scheduled-jobs', {
        body: 'name: every minute\nschedule:\n  cron: "* * * * *"\ntasks:\n  - name: t\n    var: v\n    image: ubuntu:mantic\n    run: echo -n tick > $TORK_OUTPUT\noutput: "{{ tasks.v }}"\n',
        headers: { 'content-type': 'text/yaml' },
      });
      expect(created.status).toBe(200);
      expect(await clocked.scheduler.tick()).toHaveLength(0);
      clocked.advanceClock(61_000);
      const [fired, again] = [await clocked.scheduler.tick(), await clocked.scheduler.tick()];
      expect(fired).toHaveLength(1);
      expect(again).toHaveLength(0);
      const job = await clocked.waitForJob(fired[0].id, (j) => j.state === 'COMPLETED');
      expect(job).toMatchObject({ name: 'every minute', result: 'tick', schedule: { id: created.body.id, cron: '* * * * *' } });
      const listed = await clocked.json<{ items: Array<{ id: string; schedule?: unknown }> }>('GET', '/jobs');
      expect(listed.body.items.find((j) => j.id === job.id)?.schedule).toEqual({ id: created.body.id, cron: '* * * * *' });
    } finally {
      await clocked.close();
    }
  });
});
