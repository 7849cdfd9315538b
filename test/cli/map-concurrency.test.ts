/**
 * `barge map --concurrency N` without `--cpus` runs N items at once on a 2-cpu worker: the items
 * share one cpu's reservation (docs: README, "How work runs"). With `--cpus 1` the worker holds
 * the map to 2 at once, and the progress line says why. Concurrency is observed (items RUNNING at
 * once, seen through the API), never timed: the items sleep until the job is cancelled.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCredentials } from '../../src/cli/credentials.js';
import { api, startBarge, startCli, type BargeProcess, type RunningCli } from '../helpers/barge-process.js';

const work = mkdtempSync(join(tmpdir(), 'barge-map-concurrency-'));
const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: join(work, 'config'), HOME: join(work, 'home'), NO_COLOR: '1' };
for (const key of Object.keys(env)) if (key.startsWith('BARGE_')) delete env[key];
let server: BargeProcess;
let token: string;

const cli = (args: string[]): RunningCli => startCli(args, env);

async function until(what: string, condition: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Execution {
  kind: string;
  cpus: number;
  state: string;
}

async function runningItems(jobId: string): Promise<Execution[]> {
  const { body } = await api<{ items: Execution[] }>(server.url, `/v1/jobs/${jobId}/executions?state=RUNNING&limit=1000`, {}, token);
  return body.items.filter((execution) => execution.kind !== 'each');
}

async function cancel(jobId: string): Promise<void> {
  const { status } = await api(server.url, `/v1/jobs/${jobId}/cancel`, { method: 'POST' }, token);
  expect(status).toBe(200);
}

beforeAll(async () => {
  mkdirSync(join(work, 'home'), { recursive: true });
  server = await startBarge(['up', '--data', join(work, 'data'), '--cpus', '2', '--memory', '4096', '--isolation', 'none', '--drain-grace', '1'], env);
  token = readCredentials(env)?.token ?? '';
  expect(token).not.toBe('');
  writeFileSync(join(work, 'sleep.sh'), 'sleep 60\n');
  writeFileSync(join(work, 'lines.txt'), `${Array.from({ length: 8 }, (_, i) => String(i)).join('\n')}\n`);
});

afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('barge map --concurrency on a 2-cpu worker', () => {
  it('runs 8 at once when no --cpus is named, each reserving a share of one cpu', async () => {
    const submitted = cli(['map', join(work, 'sleep.sh'), '--args-file', join(work, 'lines.txt'), '--concurrency', '8', '--detach']);
    expect(await submitted.exited, submitted.stderr()).toBe(0);
    const jobId = submitted.stdout().trim();
    try {
      await until('8 items running at once', async () => (await runningItems(jobId)).length === 8);
      const running = await runningItems(jobId);
      expect(running.every((execution) => execution.cpus === 0.12)).toBe(true);
      // The node reports its use at its next heartbeat: 8 shares of 0.12, under one cpu.
      let worker: { cpus: number; usedCpus: number } | undefined;
      await until('the worker to report its use', async () => {
        const { body } = await api<{ items: Array<{ role: string; usedCpus: number; cpus: number }> }>(server.url, '/v1/nodes', {}, token);
        worker = body.items.find((node) => node.role !== 'server');
        return (worker?.usedCpus ?? 0) > 0.9;
      });
      expect(worker?.cpus).toBe(2);
      expect(worker?.usedCpus).toBeCloseTo(0.96, 5);
    } finally {
      await cancel(jobId);
    }
  });

  it('with --cpus 1 runs 2 at once and the progress line says why the rest wait', async () => {
    const waiter = cli(['map', join(work, 'sleep.sh'), '--args-file', join(work, 'lines.txt'), '--concurrency', '8', '--cpus', '1']);
    try {
      await until('the job id', () => /^[0-9a-f]{32}$/m.test(waiter.stdout()));
      const jobId = waiter.stdout().trim();
      // Free capacity is as the worker last reported it (a heartbeat every 5 s).
      const why = /2 running, 6 waiting \(workers full: an item needs 1 cpus and 256 MB; free: 0 of 2 cpus, 3584 of 4096 MB\)/;
      await until('the reason in the progress line', () => why.test(waiter.stderr()));
      expect(await runningItems(jobId)).toHaveLength(2);
      await cancel(jobId);
      expect(await waiter.exited).toBe(1);
    } finally {
      if (waiter.pid) {
        try {
          process.kill(waiter.pid, 'SIGKILL');
        } catch {
          // already ended
        }
      }
    }
  });
});
