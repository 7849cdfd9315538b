/**
 * Crash safety: SIGKILL `barge up` in the middle of a 500-item array, start it again on the same
 * data folder, and every item ends SUCCEEDED exactly once, none lost; re-runs are further attempts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { api, startBarge, type BargeProcess } from '../helpers/barge-process.js';

interface JobBody {
  id: string;
  state: string;
  counts: Record<string, number>;
}
interface ExecutionBody {
  idx: number;
  attempt: number;
  state: string;
  parentId: string | null;
}

describe('barge up survives SIGKILL', () => {
  const data = mkdtempSync(join(tmpdir(), 'barge-crash-'));
  const running: BargeProcess[] = [];
  afterAll(async () => {
    for (const barge of running) await barge.stop('SIGKILL');
    rmSync(data, { recursive: true, force: true });
  });

  it('finishes every item of a 500-item array after a kill -9 and a restart', { timeout: 180_000 }, async () => {
    const args = ['up', '--data', data, '--open', '--cpus', '8', '--isolation', 'none'];
    const first = await startBarge(args);
    running.push(first);
    const submitted = await api<JobBody>(first.url, '/v1/jobs', {
      method: 'POST',
      body: JSON.stringify({
        name: 'crash me',
        tasks: [{ name: 'items', each: { list: '{{ sequence(0, 500) }}', task: { name: 'item', run: 'sleep 0.05' } } }],
      }),
    });
    expect(submitted.status).toBe(201);
    const jobId = submitted.body.id;

    // Kill it once some, but not all, items are done.
    for (;;) {
      const { body } = await api<JobBody>(first.url, `/v1/jobs/${jobId}`);
      if ((body.counts.SUCCEEDED ?? 0) >= 50) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await first.stop('SIGKILL');

    const second = await startBarge(args);
    running.push(second);
    let job: JobBody;
    const deadline = Date.now() + 120_000;
    for (;;) {
      job = (await api<JobBody>(second.url, `/v1/jobs/${jobId}`)).body;
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.state) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(job.state).toBe('SUCCEEDED');

    const executions: ExecutionBody[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=1000&cursor=${cursor}` : '?limit=1000';
      const page = await api<{ items: ExecutionBody[]; nextCursor: string | null }>(second.url, `/v1/jobs/${jobId}/executions${query}`);
      executions.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    const items = executions.filter((e) => e.parentId !== null);
    const succeeded = items.filter((e) => e.state === 'SUCCEEDED');
    expect(succeeded).toHaveLength(500);
    expect(new Set(succeeded.map((e) => e.idx)).size).toBe(500);
    // Anything that ran again did so as a further attempt, after a FAILED one for the same item.
    for (const rerun of items.filter((e) => e.attempt > 1)) {
      const earlier = items.filter((e) => e.idx === rerun.idx && e.attempt < rerun.attempt);
      expect(earlier.length).toBeGreaterThan(0);
      expect(earlier.every((e) => e.state === 'FAILED')).toBe(true);
    }
    expect(items.every((e) => e.state === 'SUCCEEDED' || e.state === 'FAILED')).toBe(true);
  });
});
