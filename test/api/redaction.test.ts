/**
 * Secrets never surface (issue 7, "Secrets and files at rest"): a task that prints its job's
 * secret and fails carries it into its error (the last log lines) and its log; neither /v1 (job
 * and execution views, logs followed or paged, events), Tork's job and task views, nor a webhook's
 * body may show the value; env values under secret-looking keys are hidden in /v1's spec. Real
 * HTTP on 127.0.0.1, a real worker running bash, and a real webhook receiver.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTork, type TorkUnderTest } from '../compat/tork/helpers.js';

const SECRET = 'sk-live-8d1f0c2e9b7a';
const LITERAL_PASSWORD = 'pw-literal-551';

describe('redaction in every surface', () => {
  let tork: TorkUnderTest;
  let receiver: Server;
  let hookUrl: string;
  const hookBodies: string[] = [];

  beforeAll(async () => {
    tork = await startTork({ open: false });
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        hookBodies.push(body);
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  });

  afterAll(async () => {
    await new Promise((resolve) => receiver?.close(resolve));
    await tork?.close();
  });

  const alice = (): Record<string, string> => ({ authorization: `Bearer ${tork.tokens.alice}` });

  async function v1<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; text: string; body: T }> {
    const response = await fetch(`${tork.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { ...alice(), ...(init.body ? { 'content-type': 'application/json' } : {}) },
      body: init.body ? JSON.stringify(init.body) : undefined,
    });
    const text = await response.text();
    return { status: response.status, text, body: (text.startsWith('{') ? JSON.parse(text) : null) as T };
  }

  /** A job whose task prints the secret (and a literal password) on its last lines and fails. */
  const leakyTask = {
    name: 'leak',
    env: { API_TOKEN: '{{ secrets.API }}', DB_PASSWORD: LITERAL_PASSWORD, PLAIN: 'visible' },
    run: 'echo "calling with $API_TOKEN"; echo "db $DB_PASSWORD" >&2; exit 3',
  };

  it('keeps the secret out of /v1 views, logs and events, and out of a webhook body', { timeout: 60_000 }, async () => {
    const created = await v1<{ id: string }>('/v1/jobs', {
      method: 'POST',
      body: {
        name: 'leaky',
        secrets: { API: SECRET },
        inputs: { MY_SECRET_INPUT: 'input-value-77', note: `has ${SECRET} inside` },
        tasks: [leakyTask],
        webhooks: [{ url: hookUrl, event: 'job.StateChange' }],
      },
    });
    expect(created.status).toBe(201);
    const jobId = created.body.id;
    await eventually(async () => (await tork.engine.store.jobGet(jobId))?.state === 'FAILED', 30_000);

    const job = await v1<{ error: string; spec: { tasks: Array<{ env: Record<string, string> }> }; inputs: Record<string, string> }>(`/v1/jobs/${jobId}`);
    expect(job.body.error).toContain('calling with [REDACTED]');
    expect(job.body.spec.tasks[0].env).toEqual({ API_TOKEN: '{{ secrets.API }}', DB_PASSWORD: '[REDACTED]', PLAIN: 'visible' });
    expect(job.body.inputs).toEqual({ MY_SECRET_INPUT: '[REDACTED]', note: 'has [REDACTED] inside' });

    const executions = await v1<{ items: Array<{ id: string; error: string }> }>(`/v1/jobs/${jobId}/executions`);
    const [execution] = executions.body.items;
    expect(execution.error).toContain('calling with [REDACTED]');
    const single = await v1<{ error: string }>(`/v1/executions/${execution.id}`);
    expect(single.body.error).toContain('[REDACTED]');

    const logs = await v1<{ items: Array<{ line: string }> }>(`/v1/executions/${execution.id}/logs`);
    expect(logs.body.items.map((l) => l.line)).toContain('calling with [REDACTED]');
    const followed = await v1(`/v1/executions/${execution.id}/logs?follow=1`);
    expect(followed.text).toContain('calling with [REDACTED]');

    const events = await v1<{ items: Array<{ message: string | null }> }>(`/v1/jobs/${jobId}/events`);
    expect(events.body.items.some((e) => e.message?.includes('[REDACTED]'))).toBe(true);

    await eventually(() => hookBodies.some((body) => body.includes(jobId) && body.includes('FAILED')), 20_000);
    const hook = hookBodies.find((body) => body.includes(jobId) && body.includes('FAILED')) ?? '';
    expect(hook).toContain('calling with [REDACTED]');

    // Whatever the surface, the values never show: the declared secret, and the password set
    // literally under a sensitive env key (a secret too, though not declared as one).
    for (const text of [job.text, executions.text, single.text, logs.text, followed.text, events.text, hook]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(LITERAL_PASSWORD);
    }
    expect(logs.body.items.map((l) => l.line)).toContain('db [REDACTED]');
    expect(job.text).not.toContain('input-value-77');
    // The stored log and error were redacted when written.
    const stored = await tork.engine.store.logList({ executionId: execution.id, afterNumber: 0, limit: 100 });
    expect(stored.map((l) => l.line).join('\n')).not.toContain(SECRET);
    expect((await tork.engine.store.executionGet(execution.id))?.error).not.toContain(SECRET);
  });

  it('keeps the secret out of a template error that quotes it', { timeout: 60_000 }, async () => {
    const created = await v1<{ id: string }>('/v1/jobs', {
      method: 'POST',
      body: { name: 'bad template', secrets: { API: SECRET }, tasks: [{ name: 'convert', env: { N: '{{ int(secrets.API) }}' }, run: 'true' }] },
    });
    expect(created.status).toBe(201);
    await eventually(async () => (await tork.engine.store.jobGet(created.body.id))?.state === 'FAILED', 30_000);
    const job = await v1<{ error: string }>(`/v1/jobs/${created.body.id}`);
    expect(job.body.error).toContain('cannot convert [REDACTED]');
    const executions = await v1<{ items: Array<{ error: string }> }>(`/v1/jobs/${created.body.id}/executions`);
    const events = await v1(`/v1/jobs/${created.body.id}/events`);
    for (const text of [job.text, executions.text, events.text]) expect(text).not.toContain(SECRET);
  });

  it('keeps the secret out of Tork’s job and task views, logs and webhook body', { timeout: 60_000 }, async () => {
    const yaml = [
      'name: leaky tork',
      'secrets:',
      `  API: ${SECRET}`,
      'webhooks:',
      `  - url: ${hookUrl}`,
      'tasks:',
      '  - name: leak',
      '    env:',
      "      API_TOKEN: '{{ secrets.API }}'",
      '    run: echo "calling with $API_TOKEN"; exit 3',
      '',
    ].join('\n');
    const created = await tork.json<{ id: string }>('POST', '/jobs', { body: yaml, headers: { 'content-type': 'text/yaml', ...alice() } });
    expect(created.status).toBe(200);
    const jobId = created.body.id;
    await eventually(async () => (await tork.engine.store.jobGet(jobId))?.state === 'FAILED', 30_000);

    const job = await tork.request('GET', `/jobs/${jobId}`, { headers: alice() });
    const parsed = JSON.parse(job.text) as { error: string; execution: Array<{ id: string; error: string }> };
    expect(parsed.error).toContain('calling with [REDACTED]');
    const task = await tork.request('GET', `/tasks/${parsed.execution[0].id}`, { headers: alice() });
    expect((JSON.parse(task.text) as { error: string }).error).toContain('calling with [REDACTED]');
    const taskLog = await tork.request('GET', `/tasks/${parsed.execution[0].id}/log`, { headers: alice() });
    const jobLog = await tork.request('GET', `/jobs/${jobId}/log`, { headers: alice() });
    expect(taskLog.text).toContain('[REDACTED]');

    await eventually(() => hookBodies.some((body) => body.includes(jobId) && body.includes('FAILED')), 20_000);
    const hook = hookBodies.find((body) => body.includes(jobId) && body.includes('FAILED')) ?? '';
    expect(hook).toContain('[REDACTED]');
    for (const text of [job.text, task.text, taskLog.text, jobLog.text, hook]) expect(text).not.toContain(SECRET);
  });
});
