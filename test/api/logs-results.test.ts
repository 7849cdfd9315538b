/**
 * Logs (paged and followed as Server-Sent Events), execution reads and cancel, and the
 * results.tar.gz download, un-tarred with the `tar` package.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tar from 'tar';
import type { EventBus } from '../../src/engine/events.js';
import {
  hello,
  startApi,
  waitFor,
  type ApiUnderTest,
  type ExecutionBody,
  type JobBody,
  type LogLineBody,
  type Page,
} from './helpers.js';

let api: ApiUnderTest;
const scratch = mkdtempSync(join(tmpdir(), 'barge-api-results-'));

beforeAll(async () => {
  api = await startApi();
});

afterAll(async () => {
  await api?.close();
  rmSync(scratch, { recursive: true, force: true });
});

interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

/** Reads Server-Sent Events until the stream closes (or `stopAfter` says stop). */
async function readEvents(response: Response, stopAfter?: (events: SseEvent[]) => boolean): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let split: number;
    while ((split = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, split);
      buffer = buffer.slice(split + 2);
      const event: SseEvent = { event: 'message', data: '' };
      let isComment = true;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        isComment = false;
        const [field, ...rest] = line.split(': ');
        const value = rest.join(': ');
        if (field === 'event') event.event = value;
        if (field === 'id') event.id = value;
        if (field === 'data') event.data += value;
      }
      if (!isComment) events.push(event);
    }
    if (stopAfter?.(events)) {
      await reader.cancel();
      break;
    }
  }
  return events;
}

async function firstExecution(jobId: string): Promise<ExecutionBody> {
  let found: ExecutionBody | undefined;
  await waitFor(async () => {
    found = (await api.json<Page<ExecutionBody>>(`/v1/jobs/${jobId}/executions`)).body.items[0];
    return found !== undefined;
  });
  return found as ExecutionBody;
}

function listenerCount(bus: EventBus, name: string): number {
  return (Reflect.get(bus, 'emitter') as { listenerCount(name: string): number }).listenerCount(name);
}

describe('GET /v1/executions/{id} and its logs', () => {
  it('reads an execution', async () => {
    const job = await api.runJob(hello('exec'));
    const execution = await firstExecution(job.id);
    const { status, body } = await api.json<ExecutionBody>(`/v1/executions/${execution.id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: execution.id, jobId: job.id, kind: 'shell', state: 'SUCCEEDED', exitCode: 0, attempt: 1 });
    expect(body).not.toHaveProperty('spec');
  });

  it('pages a log with after and limit, and says when it is done', async () => {
    const job = await api.runJob({ name: 'five lines', tasks: [{ name: 'count', run: 'for i in 1 2 3 4 5; do echo "n$i"; done' }] });
    const execution = await firstExecution(job.id);
    type LogPage = { items: LogLineBody[]; next: number; done: boolean };
    const first = await api.json<LogPage>(`/v1/executions/${execution.id}/logs?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.items.map((l) => l.line)).toEqual(['n1', 'n2']);
    expect(first.body.items[0]).toMatchObject({ number: 1, stream: 'stdout' });
    expect(first.body).toMatchObject({ next: 2, done: false });
    const rest = await api.json<LogPage>(`/v1/executions/${execution.id}/logs?after=${first.body.next}`);
    expect(rest.body.items.map((l) => l.line)).toEqual(['n3', 'n4', 'n5']);
    expect(rest.body).toMatchObject({ next: 5, done: true });
    const past = await api.json<LogPage>(`/v1/executions/${execution.id}/logs?after=99`);
    expect(past.body).toEqual({ items: [], next: 99, done: true });
    expect((await api.json(`/v1/executions/${execution.id}/logs?limit=5000`)).status).toBe(400);
    expect((await api.json(`/v1/executions/${execution.id}/logs?after=-1`)).status).toBe(400);
  });

  it('follows a running execution: every line once, in order, then the end event', async () => {
    const { body: job } = await api.json<JobBody>('/v1/jobs', {
      method: 'POST',
      body: { name: 'ticker', tasks: [{ name: 'tick', run: 'for i in $(seq 1 8); do echo "tick $i"; sleep 0.15; done' }] },
    });
    const execution = await firstExecution(job.id);
    const response = await api.call(`/v1/executions/${execution.id}/logs?follow=1`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('cache-control')).toMatch(/no-cache/);
    const events = await readEvents(response);
    const lines = events.filter((e) => e.event === 'line').map((e) => JSON.parse(e.data) as LogLineBody);
    expect(lines.map((l) => l.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => `tick ${i}`));
    expect(events.filter((e) => e.event === 'line').map((e) => Number(e.id))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const end = events.at(-1);
    expect(end?.event).toBe('end');
    expect(JSON.parse(end?.data ?? '{}')).toMatchObject({ id: execution.id, state: 'SUCCEEDED', exitCode: 0 });
  });

  it('replays from after (or Last-Event-ID) and ends at once for a finished execution', async () => {
    const job = await api.runJob({ name: 'done lines', tasks: [{ name: 'p', run: 'printf "a\\nb\\nc\\nd\\n"' }] });
    const execution = await firstExecution(job.id);
    const fromAfter = await readEvents(await api.call(`/v1/executions/${execution.id}/logs?follow=1&after=2`));
    expect(fromAfter.filter((e) => e.event === 'line').map((e) => (JSON.parse(e.data) as LogLineBody).line)).toEqual(['c', 'd']);
    expect(fromAfter.at(-1)?.event).toBe('end');

    const resumed = await readEvents(
      await api.call(`/v1/executions/${execution.id}/logs`, { headers: { accept: 'text/event-stream', 'last-event-id': '3' } }),
    );
    expect(resumed.filter((e) => e.event === 'line').map((e) => e.id)).toEqual(['4']);
  });

  it('drops its bus listeners when the client goes away', async () => {
    const { bus } = api.bundle.engine;
    const before = listenerCount(bus, 'log:lines');
    const { body: job } = await api.json<JobBody>('/v1/jobs', {
      method: 'POST',
      body: { name: 'endless', tasks: [{ name: 'talk', run: 'while true; do echo hi; sleep 0.1; done' }] },
    });
    const execution = await firstExecution(job.id);
    const controller = new AbortController();
    const response = await api.call(`/v1/executions/${execution.id}/logs?follow=1`, { signal: controller.signal });
    await readEvents(response, (events) => events.length >= 3);
    expect(listenerCount(bus, 'log:lines')).toBe(before + 1);
    controller.abort();
    await waitFor(() => listenerCount(bus, 'log:lines') === before, 5_000);
    await api.call(`/v1/jobs/${job.id}/cancel`, { method: 'POST' });
  });

  it('cancels one execution (200) and refuses a finished one (409)', async () => {
    const { body: job } = await api.json<JobBody>('/v1/jobs', {
      method: 'POST',
      body: { name: 'cancel one', tasks: [{ name: 'nap', run: 'sleep 30' }] },
    });
    const execution = await firstExecution(job.id);
    await waitFor(async () => (await api.json<ExecutionBody>(`/v1/executions/${execution.id}`)).body.state !== 'SUBMITTED');
    const cancelled = await api.json<ExecutionBody>(`/v1/executions/${execution.id}/cancel`, { method: 'POST' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('CANCELLED');
    const again = await api.json(`/v1/executions/${execution.id}/cancel`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('BARGE_E_CONFLICT');
  });
});

describe('GET /v1/jobs/{id}/results.tar.gz', () => {
  it('streams outputs and results of every execution as a tar.gz', async () => {
    const longDir = 'd'.repeat(70);
    const longFile = `${'f'.repeat(70)}.txt`;
    const job = await api.runJob({
      name: 'results',
      tasks: [
        {
          name: 'make files',
          run: [
            'mkdir -p outputs/sub outputs/' + longDir,
            'echo hello > outputs/sub/a.txt',
            'head -c 70000 /dev/zero | tr "\\0" "z" > outputs/big.bin',
            `echo deep > outputs/${longDir}/${longFile}`,
            'echo ü > outputs/ünïcødé.txt',
            'echo -n "the result" > $BARGE_OUTPUT',
          ].join('\n'),
        },
        { name: 'lua sum', lua: 'return 40 + 2' },
        { name: 'fan', each: { list: '{{ sequence(0, 3) }}', task: { name: 'item', env: { V: '{{ item.value }}' }, run: 'mkdir -p outputs; echo "v$V" > outputs/item.txt' } } },
        { name: 'silent', run: 'true' },
      ],
    });
    expect(job.state).toBe('SUCCEEDED');

    const response = await api.call(`/v1/jobs/${job.id}/results.tar.gz`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/gzip');
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="${job.id}-results.tar.gz"`);
    const file = join(scratch, `${job.id}.tar.gz`);
    writeFileSync(file, Buffer.from(await response.arrayBuffer()));
    const out = join(scratch, job.id);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out);
    await tar.x({ file, cwd: out, strict: true });

    const executions = (await api.json<Page<ExecutionBody>>(`/v1/jobs/${job.id}/executions?limit=1000`)).body.items;
    const folderOf = (e: ExecutionBody): string => `${e.name.replace(/[^A-Za-z0-9._-]+/g, '_')}-${e.idx}-${e.id}`;
    const maker = executions.find((e) => e.name === 'make files') as ExecutionBody;
    const lua = executions.find((e) => e.name === 'lua sum') as ExecutionBody;
    const items = executions.filter((e) => e.name === 'item');
    const silent = executions.find((e) => e.name === 'silent') as ExecutionBody;

    const makerDir = join(out, folderOf(maker));
    expect(readFileSync(join(makerDir, 'outputs/sub/a.txt'), 'utf8')).toBe('hello\n');
    expect(readFileSync(join(makerDir, 'outputs/big.bin'), 'utf8')).toBe('z'.repeat(70000));
    expect(readFileSync(join(makerDir, 'outputs', longDir, longFile), 'utf8')).toBe('deep\n');
    expect(readFileSync(join(makerDir, 'outputs/ünïcødé.txt'), 'utf8')).toBe('ü\n');
    expect(readFileSync(join(makerDir, 'result'), 'utf8')).toBe('the result');
    expect(readFileSync(join(out, folderOf(lua), 'result'), 'utf8')).toBe('42');
    expect(items).toHaveLength(3);
    for (const item of items) {
      expect(readFileSync(join(out, folderOf(item), 'outputs/item.txt'), 'utf8')).toBe(`v${item.idx}\n`);
    }
    expect(readdirSync(out)).not.toContain(folderOf(silent));
  });

  it('answers an empty archive for a job that left nothing', async () => {
    const job = await api.runJob({ name: 'nothing', tasks: [{ name: 'quiet', run: 'true' }] });
    const response = await api.call(`/v1/jobs/${job.id}/results.tar.gz`);
    expect(response.status).toBe(200);
    const file = join(scratch, 'empty.tar.gz');
    writeFileSync(file, Buffer.from(await response.arrayBuffer()));
    const entries: string[] = [];
    await tar.t({ file, onReadEntry: (entry) => entries.push(entry.path) });
    expect(entries).toEqual([]);
  });
});

describe('closing the app', () => {
  it('ends open log streams and long waits instead of hanging', async () => {
    const other = await startApi();
    try {
      const { body: job } = await other.json<JobBody>('/v1/jobs', {
        method: 'POST',
        body: { name: 'forever', tasks: [{ name: 'nap', run: 'sleep 60' }] },
      });
      let execution: ExecutionBody | undefined;
      await waitFor(async () => {
        execution = (await other.json<Page<ExecutionBody>>(`/v1/jobs/${job.id}/executions`)).body.items[0];
        return execution !== undefined;
      });
      const stream = await other.call(`/v1/executions/${execution?.id}/logs?follow=1`);
      const waiting = other.call('/v1/jobs?wait=5m', { method: 'POST', body: { name: 'long wait', tasks: [{ name: 'nap', run: 'sleep 60' }] } });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = Date.now();
      await other.app.close();
      expect(Date.now() - started).toBeLessThan(3_000);
      const answer = await waiting;
      expect(answer.status).toBe(202);
      expect(await stream.text()).not.toContain('event: end');
      for (const id of [job.id, ((await answer.json()) as JobBody).id]) await other.bundle.engine.cancelJob(id);
    } finally {
      await other.close();
    }
  });
});

describe('followLogs', () => {
  it('sends a comment heartbeat while the log is quiet', async () => {
    const { default: Fastify } = await import('fastify');
    const { followLogs } = await import('../../src/api/v1/log-stream.js');
    const { body: job } = await api.json<JobBody>('/v1/jobs', {
      method: 'POST',
      body: { name: 'quiet', tasks: [{ name: 'nap', run: 'sleep 30' }] },
    });
    const execution = await firstExecution(job.id);
    const closing = new AbortController();
    const small = Fastify();
    small.get('/follow', async (request, reply) => {
      followLogs({ engine: api.bundle.engine, executionId: execution.id, after: 0, reply, log: request.log, closing: closing.signal, heartbeatMs: 50 });
      return reply;
    });
    await small.listen({ port: 0, host: '127.0.0.1' });
    try {
      const address = small.server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const response = await fetch(`http://127.0.0.1:${port}/follow`);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      let text = '';
      while ((text.match(/: ping/g) ?? []).length < 3) text += new TextDecoder().decode((await reader.read()).value);
      await reader.cancel();
    } finally {
      closing.abort();
      await small.close();
      await api.call(`/v1/jobs/${job.id}/cancel`, { method: 'POST' });
    }
  });
});
