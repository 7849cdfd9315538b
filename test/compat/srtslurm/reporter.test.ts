/**
 * barge as a status reporter, to real collectors over HTTP on loopback (which the outbound rule
 * refuses unless private targets are allowed, as `--allow-private-webhooks` does): a barge job
 * reports into a second barge's srtslurm face, and a collector that takes 10 s to answer neither
 * holds the job up nor goes unnoticed (its report is counted as a failed attempt).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics, type ApiMetrics } from '../../../src/api/metrics.js';
import { OutboxDispatcher } from '../../../src/engine/outbox.js';
import { isFinal } from '../../../src/core/states.js';
import { validateJobSpec } from '../../../src/core/spec.js';
import { startApi, waitFor, type ApiUnderTest } from '../../api/helpers.js';
import { makeEngine, type EngineBundle } from '../../helpers/engine.js';

type Body = Record<string, unknown>;

function dispatcherFor(bundle: EngineBundle, retryPauseMs: number): OutboxDispatcher {
  const { engine } = bundle;
  return new OutboxDispatcher({ store: engine.store, clock: engine.clock, allowPrivateTargets: true, bus: engine.bus, intervalMs: 50, retryPauseMs });
}

/** A report outcome's count in the metrics /v1/metrics serves (counted from when `metrics` was made). */
async function counted(metrics: ApiMetrics, outcome: string): Promise<number> {
  const text = await metrics.registry.getSingleMetricAsString('barge_status_reports_total');
  const line = text.split('\n').find((l) => l.startsWith(`barge_status_reports_total{outcome="${outcome}"}`));
  if (!line) throw new Error(`no ${outcome} line in ${text}`);
  return Number(line.split(' ').at(-1));
}

describe('reporting into a second barge', () => {
  let collector: ApiUnderTest;
  let reporter: EngineBundle;
  let dispatcher: OutboxDispatcher;
  let metrics: ApiMetrics;

  beforeAll(async () => {
    collector = await startApi({ srtslurm: { open: false } });
    reporter = await makeEngine('sqlite', { engine: { reports: { endpoints: [], publicUrl: 'http://barge.example:8000/' } } });
    metrics = createMetrics(reporter.engine);
    dispatcher = dispatcherFor(reporter, 50);
    dispatcher.start();
  });
  afterAll(async () => {
    metrics.close();
    await dispatcher.stop();
    await reporter.stop();
    await collector.close();
  });

  const spec = (name: string, tasks: unknown[]) => ({
    name,
    secrets: { collector: collector.tokens.alice },
    // A trailing slash and a duplicate collapse to one collector, as srtctl merges them.
    reporting: { status: { endpoint: `${collector.url}/`, endpoints: [collector.url], token_secret: 'collector' } },
    tasks,
  });

  async function collected(jobId: string, status: string): Promise<Body> {
    let job: Body = {};
    await waitFor(async () => {
      const answer = await collector.call(`/api/jobs/${jobId}`);
      job = answer.status === 200 ? ((await answer.json()) as Body) : {};
      return job.status === status;
    }, 15_000);
    return job;
  }

  it("records each stage of a job that succeeds, under the reporter's job id", async () => {
    const job = await reporter.run(spec('reported', [
      { name: 'workers', run: 'echo starting' },
      { name: 'compile', run: 'echo compiling' },
    ]));
    expect(job.state).toBe('SUCCEEDED');
    const record = await collected(job.id, 'completed');
    expect(record).toMatchObject({
      job_id: job.id,
      job_name: 'reported',
      exit_code: 0,
      stage: 'cleanup',
      logs_url: `http://barge.example:8000/v1/jobs/${job.id}/logs`,
      metadata: { source: 'barge', origin: 'v1' },
    });
    expect(record.started_at).toBe(job.startedAt);
    expect((record.events as Body[]).map((e) => [e.status, e.stage, e.message])).toEqual([
      ['submitted', null, null],
      ['benchmark', 'workers', 'Running task workers'],
      ['benchmark', 'benchmark', 'Running task compile'],
      ['completed', 'cleanup', 'Job completed successfully'],
    ]);
    // One collector, four reports, each delivered once: the duplicate endpoint was merged away.
    expect(await counted(metrics, 'delivered')).toBe(4);
    expect(await counted(metrics, 'failed')).toBe(0);
    // In the collector it is an srtslurm job like any other.
    const list = await collector.json<{ items: Array<{ name: string; origin: string; state: string }> }>('/v1/jobs?origin=srtslurm');
    expect(list.body.items).toContainEqual(expect.objectContaining({ name: 'reported', origin: 'srtslurm', state: 'SUCCEEDED' }));
  });

  it('reports a failure with its exit code and message', async () => {
    const job = await reporter.run(spec('broken', [{ name: 'benchmark', run: 'echo oops >&2; exit 3' }]));
    expect(job.state).toBe('FAILED');
    const record = await collected(job.id, 'failed');
    expect(record).toMatchObject({ exit_code: 3, stage: 'cleanup', message: job.error });
    expect((record.events as Body[]).map((e) => e.status)).toEqual(['submitted', 'benchmark', 'failed']);
  });
});

describe('reporting in a job spec', () => {
  it('takes http(s) endpoints and names a bad one', async () => {
    const spec = (endpoints: unknown) => ({ name: 'r', reporting: { status: { endpoints } }, tasks: [{ name: 't', run: 'true' }] });
    expect(validateJobSpec(spec(['https://status.example.com'])).reporting).toEqual({ status: { endpoints: ['https://status.example.com'] } });
    expect(() => validateJobSpec(spec(['ftp://status.example.com']))).toThrow(/reporting\.status\.endpoints\[0\].*http or https/);
    expect(() => validateJobSpec({ ...spec([]), reporting: { status: { endpiont: 'x' } } })).toThrow(/reporting\.status\.endpiont.*unknown field/);
  });
});

describe('a collector that takes 10 s to answer', () => {
  let slow: Server;
  let slowUrl = '';
  const received: Array<{ method: string; url: string; body: Body }> = [];
  let answered = 0;
  let reporter: EngineBundle;
  let dispatcher: OutboxDispatcher;
  let metrics: ApiMetrics;

  beforeAll(async () => {
    slow = createServer((request: IncomingMessage, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        received.push({ method: request.method ?? '', url: request.url ?? '', body: JSON.parse(text) as Body });
        setTimeout(() => {
          answered += 1;
          if (!response.destroyed) response.writeHead(request.method === 'POST' ? 201 : 200).end('{}');
        }, 10_000).unref();
      });
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const address = slow.address();
    slowUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    // A server-wide collector (--status-endpoint): every job reports to it.
    reporter = await makeEngine('sqlite', { engine: { reports: { endpoints: [slowUrl] } } });
    metrics = createMetrics(reporter.engine);
    // No second attempt within the test: the first one's fate is what is checked.
    dispatcher = dispatcherFor(reporter, 60_000);
    dispatcher.start();
  });
  afterAll(async () => {
    metrics.close();
    await dispatcher.stop();
    await reporter.stop();
    slow.closeAllConnections();
    await new Promise((resolve) => slow.close(resolve));
  });

  it('finishes the job while the report hangs, then counts the report as a failed attempt', async () => {
    const job = await reporter.run({ name: 'on-time', tasks: [{ name: 'quick', run: 'echo done' }] });
    expect(isFinal(job.state) && job.state).toBe('SUCCEEDED');
    // The job ended while the collector had not answered anything.
    expect(answered).toBe(0);
    await waitFor(() => received.length > 0, 10_000);
    expect(received[0]).toMatchObject({ method: 'POST', url: '/api/jobs', body: { job_id: job.id, job_name: 'on-time' } });
    // The 5 s timeout ends the attempt; it is counted and left for a later retry.
    await waitFor(async () => (await counted(metrics, 'retrying')) >= 1, 15_000);
    expect(await counted(metrics, 'delivered')).toBe(0);
    const [row] = await reporter.engine.store.outboxTakeDue({ now: new Date(Date.now() + 120_000).toISOString(), limit: 1, leaseMs: 1 });
    expect(row).toMatchObject({ kind: 'report', method: 'POST', attempts: 1, lastError: 'no answer within 5000 ms' });
  }, 20_000);
});
