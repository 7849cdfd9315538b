import { mkdir, readFile, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findCgroupV1Parents } from '../../src/worker/runtimes/limits.js';
import { runProcessGroup, type GroupRun } from '../../src/worker/runtimes/process-group.js';
import { _spawnHelperPid, spawnThroughHelper, stopSpawnHelper } from '../../src/worker/runtimes/spawn-helper.js';

const CGROUPS = findCgroupV1Parents();

afterAll(stopSpawnHelper);

interface Ran {
  exit: Awaited<ReturnType<typeof runProcessGroup>>;
  stdout: string;
  stderr: string;
}

async function run(command: string, args: string[], extra: Partial<GroupRun> = {}): Promise<Ran> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const exit = await runProcessGroup({
    command,
    args,
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ONLY: 'this' },
    spawnProcess: spawnThroughHelper,
    onStdout: (chunk) => stdout.push(chunk),
    onStderr: (chunk) => stderr.push(chunk),
    signal: new AbortController().signal,
    killGraceMs: 200,
    cancelGraceMs: 200,
    spareSandboxFromTerm: false,
    ...extra,
  });
  return { exit, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() };
}

describe('the spawn helper', () => {
  it('runs a command with its env and cwd, in a session of its own, streaming both outputs', async () => {
    const ran = await run('bash', ['-c', 'echo "$ONLY $(pwd)"; echo err >&2; env | grep -c . ; ps -o sid= -o pgid= -p $$']);
    const [first, count, ids] = ran.stdout.trim().split('\n');
    expect(first).toBe(`this ${tmpdir()}`);
    expect(Number(count)).toBeLessThan(6); // PATH, ONLY and what bash adds: nothing of the worker's
    const [sid, pgid] = (ids ?? '').trim().split(/\s+/).map(Number);
    expect(sid).toBe(pgid);
    expect(sid).not.toBe(process.pid);
    expect(ran.stderr).toBe('err\n');
    expect(ran.exit).toEqual({ exitCode: 0, exitSignal: null, stoppedBy: null });
  });

  it('reports exit codes and signals', async () => {
    expect((await run('bash', ['-c', 'exit 7'])).exit.exitCode).toBe(7);
    expect((await run('bash', ['-c', 'kill -TERM $$'])).exit).toMatchObject({ exitCode: null, exitSignal: 'SIGTERM' });
  });

  it('passes large outputs through whole and in order', async () => {
    const ran = await run('bash', ['-c', 'seq 1 200000']);
    const lines = ran.stdout.trim().split('\n');
    expect(lines).toHaveLength(200_000);
    expect(lines[199_999]).toBe('200000');
  });

  it('runs many processes at once', async () => {
    const all = await Promise.all(Array.from({ length: 40 }, (_, i) => run('bash', ['-c', `echo ${i}`])));
    expect(all.map((ran) => ran.stdout)).toEqual(Array.from({ length: 40 }, (_, i) => `${i}\n`));
  });

  it('rejects a command that does not exist', async () => {
    await expect(run('/no/such/command', [])).rejects.toThrow(/ENOENT|no such file/i);
  });

  it('stops the whole group on a deadline', async () => {
    const began = Date.now();
    const ran = await run('bash', ['-c', 'sleep 30 & sleep 30; echo never'], { deadline: Date.now() + 300 });
    expect(ran.exit.stoppedBy).toBe('timeout');
    expect(ran.stdout).toBe('');
    expect(Date.now() - began).toBeLessThan(20_000);
  });

  it.runIf(CGROUPS)('starts the process inside the cgroups it is given, and stays out of them itself', async () => {
    const parents = CGROUPS!;
    const group = join(parents.memory, `barge-helper-test-${process.pid}`);
    await mkdir(group);
    try {
      const ran = await run('cat', ['/proc/self/cgroup'], { cgroups: [group] });
      const memoryLine = ran.stdout.split('\n').find((line) => /^\d+:memory:/.test(line));
      expect(memoryLine).toMatch(new RegExp(`/barge-helper-test-${process.pid}$`));
      const helper = await readFile(`/proc/${_spawnHelperPid()}/cgroup`, 'utf8');
      expect(helper).not.toContain('barge-helper-test');
    } finally {
      await rmdir(group);
    }
  });

  it('reports what ran as killed when the helper dies, and starts a new helper for the next spawn', async () => {
    let up: () => void = () => undefined;
    const isUp = new Promise<void>((resolve) => (up = resolve));
    const running = run('bash', ['-c', 'echo up; sleep 30'], { onStdout: () => up() });
    await isUp;
    const first = _spawnHelperPid();
    expect(first).toBeDefined();
    process.kill(first!, 'SIGKILL');
    expect((await running).exit).toMatchObject({ exitCode: null, exitSignal: 'SIGKILL' });
    expect((await run('bash', ['-c', 'echo again'])).stdout).toBe('again\n');
    expect(_spawnHelperPid()).not.toBe(first);
  });
});
