/**
 * The sandbox as an operator meets it, through the real `barge` binary: a worker without a sandbox
 * says so loudly at start and in its node's info; `--require-sandbox` then fails shell tasks with
 * the reason; and the cgroups a worker killed with -9 left behind are removed when the next
 * process starts on its data folder.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findCgroupV1Parents } from '../../src/worker/runtimes/limits.js';
import { findExecutable } from '../../src/worker/runtimes/sandbox.js';
import { api, startBarge, type BargeProcess } from '../helpers/barge-process.js';

const CGROUPS = findCgroupV1Parents();
const HAS_BWRAP = findExecutable('bwrap', process.env.PATH ?? '') !== null;

interface JobBody {
  id: string;
  state: string;
}
interface ExecutionBody {
  state: string;
  reason: string | null;
  error: string | null;
}
interface NodeBody {
  id: string;
  info: Record<string, unknown>;
}

/** A PATH with bash and the usual tools but no bwrap: a host without bubblewrap. */
function pathWithoutBwrap(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const tool of ['bash', 'sh', 'setpriv', 'unshare', 'prlimit', 'sleep', 'cat', 'echo']) {
    const found = findExecutable(tool, process.env.PATH ?? '');
    if (found) symlinkSync(found, join(bin, tool));
  }
  return bin;
}

async function waitForOutput(barge: BargeProcess, text: string): Promise<void> {
  const until = Date.now() + 10_000;
  while (!barge.output().includes(text)) {
    if (Date.now() > until) throw new Error(`no "${text}" in the output:\n${barge.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the sandbox, as the operator sees it', () => {
  const running: BargeProcess[] = [];
  const dirs: string[] = [];
  const folder = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'barge-sandbox-e2e-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(async () => {
    for (const barge of running) await barge.stop('SIGKILL');
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('lists the sandbox and output settings in --help', () => {
    const help = spawnSync(process.execPath, ['bin/barge.js', 'worker', '--help'], { encoding: 'utf8' }).stdout;
    for (const flag of ['--require-sandbox', 'BARGE_REQUIRE_SANDBOX', '--task-user', '--max-processes', '--max-output-files', '--max-output-mb']) {
      expect(help).toContain(flag);
    }
  });

  it('warns at start and in the node info when shell tasks run without a sandbox', { timeout: 60_000 }, async () => {
    const dir = folder();
    const barge = await startBarge(['up', '--data', join(dir, 'data'), '--open', '--isolation', 'none']);
    running.push(barge);
    await waitForOutput(barge, 'WARNING');
    expect(barge.output()).toMatch(/barge: WARNING: shell tasks run WITHOUT a sandbox, as \S+.*\(isolation is "none"\)/);
    const { body } = await api<{ items: NodeBody[] }>(barge.url, '/v1/nodes');
    expect(body.items[0]?.info).toMatchObject({ isolation: 'none', noSandbox: 'isolation is "none"' });
    await barge.stop();
  });

  it('with --require-sandbox and no bwrap, fails shell tasks and says why', { timeout: 60_000 }, async () => {
    const dir = folder();
    const barge = await startBarge(['up', '--data', join(dir, 'data'), '--open', '--require-sandbox'], { PATH: pathWithoutBwrap(dir) });
    running.push(barge);
    await waitForOutput(barge, 'WARNING');
    expect(barge.output()).toContain('barge: WARNING: shell tasks will FAIL on this worker: --require-sandbox is set and there is no sandbox (bwrap is not installed)');
    const { status, body: job } = await api<JobBody>(barge.url, '/v1/jobs?wait=30s', {
      method: 'POST',
      body: JSON.stringify({ name: 'refused', tasks: [{ name: 't', run: 'echo ran' }] }),
    });
    expect(status).toBe(201);
    expect(job.state).toBe('FAILED');
    const { body } = await api<{ items: ExecutionBody[] }>(barge.url, `/v1/jobs/${job.id}/executions`);
    expect(body.items[0]).toMatchObject({
      state: 'FAILED',
      reason: 'sandbox required',
      error: 'this worker runs shell tasks only in a sandbox (--require-sandbox), and has none: bwrap is not installed',
    });
    await barge.stop();
  });

  it.runIf(CGROUPS && HAS_BWRAP)('removes the cgroups a worker killed with -9 left behind', { timeout: 90_000 }, async () => {
    const dir = folder();
    const data = join(dir, 'data');
    const first = await startBarge(['up', '--data', data, '--open']);
    running.push(first);
    const { body: nodes } = await api<{ items: NodeBody[] }>(first.url, '/v1/nodes');
    const nodeId = nodes.items[0]?.id ?? '';
    const groups = (): string[] =>
      [CGROUPS!.memory, CGROUPS!.cpu, CGROUPS!.pids]
        .filter((parent): parent is string => parent !== null)
        .flatMap((parent) => readdirSync(parent).filter((name) => name.startsWith(`barge-${nodeId}-`)));
    await api(first.url, '/v1/jobs', { method: 'POST', body: JSON.stringify({ name: 'long', tasks: [{ name: 't', run: 'sleep 300' }] }) });
    const until = Date.now() + 30_000;
    while (groups().length === 0) {
      if (Date.now() > until) throw new Error('the task never got its cgroups');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await first.stop('SIGKILL');
    expect(groups().length).toBeGreaterThan(0);

    const second = await startBarge(['up', '--data', data, '--open']);
    running.push(second);
    expect(groups()).toEqual([]);
    await second.stop();
  });
});
