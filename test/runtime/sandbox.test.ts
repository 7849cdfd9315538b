/**
 * The shell runtime's sandbox against the real host: tasks run as an unprivileged user with no
 * capabilities, credential files masked, a cap on processes (a pids cgroup, else RLIMIT_NPROC in a
 * user namespace of the task's own) that stops a fork bomb; `requireSandbox` refuses to run a task
 * without one; and the cgroups a killed worker left are removed by the next one of its node.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { chooseLimiter, findCgroupV1Parents, removeLeftoverCgroups } from '../../src/worker/runtimes/limits.js';
import { createShellRuntime, type ShellRuntimeOptions } from '../../src/worker/runtimes/shell.js';
import { findExecutable } from '../../src/worker/runtimes/sandbox.js';
import { newId } from '../../src/engine/ids.js';
import { isAlive, removeFolders, setup } from './helpers.js';

const FAST: ShellRuntimeOptions = { killGraceMs: 300, cancelGraceMs: 200 };
const HAS_BWRAP = findExecutable('bwrap', process.env.PATH ?? '') !== null;
const AS_ROOT = process.getuid?.() === 0;
const CGROUPS = findCgroupV1Parents();
const HAS_PERL = existsSync('/usr/bin/perl');
/** Forks up to 200 children that wait, without retrying a refused fork; prints how many it got. */
const FORK_COUNT = `perl -e 'my @k; for (1..200) { my $p = fork; last unless defined $p; if (!$p) { sleep 30; exit } push @k, $p } print scalar(@k), "\\n"; kill 9, @k; waitpid($_, 0) for @k'`;

afterEach(removeFolders);

describe.runIf(HAS_BWRAP)('the task user', () => {
  const shell = createShellRuntime({ ...FAST, isolation: 'bwrap', limits: 'none' });

  it('is not root, has no capabilities, and cannot read /etc/shadow', async () => {
    const { request, lines } = await setup({
      run: [
        'id -u',
        'grep -E "^Cap(Eff|Prm|Bnd):" /proc/self/status | cut -f2 | sort -u',
        'cat /etc/shadow > /dev/null 2>&1 && echo shadow-read || echo shadow-denied',
        'echo written > outputs/mine.txt && echo can-write',
      ].join('\n'),
    });
    expect(await shell.run(request)).toMatchObject({ state: 'SUCCEEDED' });
    const [uid, ...rest] = lines('stdout');
    expect(Number(uid)).not.toBe(0);
    if (AS_ROOT) expect(uid).toBe('65534');
    expect(rest).toEqual(['0000000000000000', 'shadow-denied', 'can-write']);
    expect(shell.describe()).toMatchObject({ isolation: 'bwrap', ...(AS_ROOT ? { taskUser: 'nobody (65534)' } : {}) });
  });

  it.runIf(existsSync('/etc/shadow'))('finds credential files masked', async () => {
    const { request, lines } = await setup({ run: 'test -s /etc/shadow && echo has-content || echo empty' });
    await shell.run(request);
    expect(lines('stdout')).toEqual(['empty']);
  });

  it.runIf(AS_ROOT)('is the configured --task-user, and owns the work folder', async () => {
    const custom = createShellRuntime({ ...FAST, isolation: 'bwrap', limits: 'none', taskUser: '4242:4343' });
    expect(custom.describe()).toMatchObject({ taskUser: '4242:4343' });
    const { request, lines, workDir } = await setup({ run: 'id -u; id -g; echo x > outputs/x', files: { 'in.txt': 'hi' } });
    expect(await custom.run(request)).toMatchObject({ state: 'SUCCEEDED' });
    expect(lines('stdout')).toEqual(['4242', '4343']);
    for (const path of ['.', 'in.txt', 'outputs/x', '.barge/entrypoint.sh']) {
      expect(lstatSync(join(workDir, path))).toMatchObject({ uid: 4242, gid: 4343 });
    }
  });

  it('is refused when it names root', () => {
    expect(() => createShellRuntime({ isolation: 'bwrap', taskUser: AS_ROOT ? 'root' : '0' })).toThrow(/root/);
  });

  it("hides the worker's own folders where a bound folder holds them", async () => {
    const tools = mkdtempSync(join(tmpdir(), 'barge-tools-'));
    chmodSync(tools, 0o755);
    try {
      mkdirSync(join(tools, 'data'));
      writeFileSync(join(tools, 'data', 'barge.db'), 'secret');
      writeFileSync(join(tools, 'token.txt'), 'secret');
      writeFileSync(join(tools, 'tool.sh'), 'echo tool');
      const hiding = createShellRuntime({
        ...FAST,
        isolation: 'bwrap',
        limits: 'none',
        readOnlyPaths: [tools],
        hiddenPaths: [join(tools, 'data'), join(tools, 'token.txt')],
      });
      const { request, lines } = await setup({ run: `sh ${tools}/tool.sh; ls ${tools}/data | wc -l; cat ${tools}/token.txt 2>/dev/null | wc -c` });
      expect(await hiding.run(request)).toMatchObject({ state: 'SUCCEEDED' });
      expect(lines('stdout')).toEqual(['tool', '0', '0']);
    } finally {
      rmSync(tools, { recursive: true, force: true });
    }
  });
});

describe.runIf(HAS_BWRAP && HAS_PERL)('the process limit', () => {
  it.runIf(CGROUPS?.pids)('is a pids cgroup where one is writable', async () => {
    const shell = createShellRuntime({ ...FAST, isolation: 'bwrap', limits: 'cgroup-v1', maxProcesses: 20 });
    expect(shell.describe()).toMatchObject({ limits: 'cgroup-v1', pids: 'cgroup-v1' });
    const { request, lines } = await setup({ run: FORK_COUNT });
    expect(await shell.run(request)).toMatchObject({ state: 'SUCCEEDED' });
    expect(Number(lines('stdout')[0])).toBeGreaterThan(0);
    expect(Number(lines('stdout')[0])).toBeLessThan(20);
  });

  it('is RLIMIT_NPROC in a user namespace of the task\'s own otherwise, not shared with other tasks', async () => {
    const shell = createShellRuntime({ ...FAST, isolation: 'bwrap', limits: 'rlimit', maxProcesses: 20 });
    expect(shell.describe()).toMatchObject({ limits: 'rlimit', pids: 'rlimit' });
    // Another task of the same user holds 15 processes meanwhile: the limit is per task.
    const other = await setup({ run: 'for i in $(seq 15); do sleep 30 & done; echo holding; wait' });
    const holding = shell.run(other.request);
    try {
      await other.waitForLine('holding');
      const { request, lines } = await setup({ run: FORK_COUNT });
      expect(await shell.run(request)).toMatchObject({ state: 'SUCCEEDED' });
      const forked = Number(lines('stdout')[0]);
      expect(forked).toBeGreaterThan(10);
      expect(forked).toBeLessThan(20);
    } finally {
      other.abort.abort();
      await holding;
    }
  });

  it.runIf(CGROUPS?.pids)('stops a fork bomb, which then ends at its timeout', async () => {
    const shell = createShellRuntime({ ...FAST, isolation: 'bwrap', limits: 'cgroup-v1', maxProcesses: 50 });
    const { request } = await setup({ run: 'bomb() { bomb | bomb & }; bomb; sleep 30' }, { timeoutMs: 3000, cpus: 0.5 });
    const outcome = await shell.run(request);
    expect(outcome).toMatchObject({ state: 'FAILED', reason: 'timeout' });
  });
});

describe('requireSandbox', () => {
  it('fails every shell task with the reason when there is no sandbox, running nothing', async () => {
    const shell = createShellRuntime({ ...FAST, isolation: 'none', requireSandbox: true, limits: 'none' });
    expect(shell.describe()).toMatchObject({ isolation: 'none', requireSandbox: 'yes' });
    const { request, workDir } = await setup({ run: 'touch ran' });
    expect(await shell.run(request)).toEqual({
      state: 'FAILED',
      exitCode: null,
      result: null,
      error: 'this worker runs shell tasks only in a sandbox (--require-sandbox), and has none: isolation is "none"',
      reason: 'sandbox required',
    });
    expect(existsSync(join(workDir, 'ran'))).toBe(false);
  });

  it.runIf(HAS_BWRAP)('runs tasks as usual with a sandbox', async () => {
    const shell = createShellRuntime({ ...FAST, isolation: 'auto', requireSandbox: true, limits: 'none' });
    const { request } = await setup({ run: 'echo -n ok > $BARGE_OUTPUT' });
    expect(await shell.run(request)).toMatchObject({ state: 'SUCCEEDED', result: 'ok' });
  });
});

describe.runIf(CGROUPS)('leftover cgroups', () => {
  const started: number[] = [];
  afterAll(() => {
    for (const pid of started) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });

  it("of this node are removed with what runs in them; other nodes' are kept", async () => {
    const mine = newId();
    const theirs = newId();
    // What a worker killed with -9 leaves: cgroups never released, a process still in them.
    const leaked = await chooseLimiter('cgroup-v1', { nodeId: mine }).apply({ name: newId(), cpus: 1, memoryMb: 64 });
    const kept = await chooseLimiter('cgroup-v1', { nodeId: theirs }).apply({ name: newId(), cpus: 1, memoryMb: 64 });
    const [command = '', ...args] = [...leaked.wrapper, 'sleep', '60'];
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    started.push(child.pid ?? 0);
    const groups = (node: string): string[] =>
      [CGROUPS!.memory, CGROUPS!.cpu, CGROUPS!.pids].filter((p): p is string => p !== null).flatMap((parent) =>
        readdirNames(parent)
          .filter((name) => name.startsWith(`barge-${node}-`))
          .map((name) => join(parent, name)),
      );
    try {
      await waitFor(() => groups(mine).some((folder) => readProcs(folder).includes(child.pid ?? -1)));
      const expected = CGROUPS!.pids ? 3 : 2;
      expect(groups(mine)).toHaveLength(expected);
      expect(await removeLeftoverCgroups(mine)).toBe(expected);
      expect(groups(mine)).toEqual([]);
      await waitFor(() => !isAlive(child.pid ?? 0));
      expect(groups(theirs)).toHaveLength(expected);
    } finally {
      await kept.release();
      await leaked.release();
    }
  });
});

function readdirNames(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function readProcs(folder: string): number[] {
  try {
    return readFileSync(join(folder, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
