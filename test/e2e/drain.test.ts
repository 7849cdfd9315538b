/**
 * SIGTERM (as Ctrl-C's SIGINT) drains `barge up`: no new claims, running work gets its grace period,
 * what outlives it is handed back, and a restart picks everything up with nothing left STARTING.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { api, startBarge, type BargeProcess } from '../helpers/barge-process.js';

interface JobBody {
  id: string;
  state: string;
  result: string | null;
  counts: Record<string, number>;
}
interface ExecutionBody {
  attempt: number;
  state: string;
  reason: string | null;
}

async function waitForState(url: string, jobId: string, states: string[], timeoutMs = 30_000): Promise<JobBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api<JobBody>(url, `/v1/jobs/${jobId}`);
    if (states.includes(body.state)) return body;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${body.state}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function submit(url: string, spec: unknown): Promise<string> {
  const { status, body } = await api<JobBody>(url, '/v1/jobs', { method: 'POST', body: JSON.stringify(spec) });
  expect(status).toBe(201);
  return body.id;
}

describe('barge up drains on SIGTERM', () => {
  const dirs: string[] = [];
  const running: BargeProcess[] = [];
  afterAll(async () => {
    for (const barge of running) await barge.stop('SIGKILL');
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function up(data: string, grace: string): Promise<BargeProcess> {
    const barge = await startBarge(['up', '--data', data, '--open', '--isolation', 'none', '--drain-grace', grace]);
    running.push(barge);
    return barge;
  }

  it('lets a running execution finish within the grace period, then exits 0', { timeout: 60_000 }, async () => {
    const data = mkdtempSync(join(tmpdir(), 'barge-drain-'));
    dirs.push(data);
    const first = await up(data, '10');
    const jobId = await submit(first.url, {
      name: 'finishes during drain',
      output: '{{ tasks.slowish }}',
      tasks: [{ name: 'slowish', var: 'slowish', run: 'sleep 1; echo -n finished > $BARGE_OUTPUT' }],
    });
    await waitForState(first.url, jobId, ['RUNNING']);
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.output()).toContain('draining');

    const second = await up(data, '10');
    const job = await waitForState(second.url, jobId, ['SUCCEEDED', 'FAILED']);
    expect(job.state).toBe('SUCCEEDED');
    expect(job.result).toBe('finished');
    expect(job.counts).toEqual({ SUCCEEDED: 1 });
  });

  it('hands back what outlives the grace period; the restart runs it again as a new attempt', { timeout: 60_000 }, async () => {
    const data = mkdtempSync(join(tmpdir(), 'barge-drain-'));
    dirs.push(data);
    const first = await up(data, '0.5');
    const jobId = await submit(first.url, {
      name: 'outlives the drain',
      tasks: [{ name: 'long on the first try', run: 'if [ "$BARGE_ATTEMPT" = 1 ]; then sleep 30; fi' }],
    });
    await waitForState(first.url, jobId, ['RUNNING']);
    expect(await first.stop('SIGTERM')).toBe(0);

    const second = await up(data, '10');
    const job = await waitForState(second.url, jobId, ['SUCCEEDED', 'FAILED']);
    expect(job.state).toBe('SUCCEEDED');
    const { body } = await api<{ items: ExecutionBody[] }>(second.url, `/v1/jobs/${jobId}/executions`);
    expect(body.items.map((e) => [e.attempt, e.state, e.reason])).toEqual([
      [1, 'FAILED', 'worker stopped'],
      [2, 'SUCCEEDED', null],
    ]);
    expect(body.items.some((e) => e.state === 'STARTING')).toBe(false);
  });
});
