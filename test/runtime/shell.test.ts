import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createShellRuntime, type ShellRuntimeOptions } from '../../src/worker/runtimes/shell.js';
import { findCgroupV1Parents } from '../../src/worker/runtimes/limits.js';
import { findExecutable } from '../../src/worker/runtimes/sandbox.js';
import type { SpawnProcess } from '../../src/worker/runtimes/process-group.js';
import { collect, isAlive, readPid, removeFolders, setup } from './helpers.js';

const FAST: ShellRuntimeOptions = { killGraceMs: 300, cancelGraceMs: 200, progressPollMs: 50 };
const HAS_BWRAP = findExecutable('bwrap', process.env.PATH ?? '') !== null;
const HAS_CGROUP_V1 = findCgroupV1Parents() !== null;

afterEach(removeFolders);

const MODES = [
  { isolation: 'none' as const, run: true },
  { isolation: 'bwrap' as const, run: HAS_BWRAP },
];

describe.each(MODES)('shell runtime, isolation $isolation', ({ isolation, run }) => {
  const runtime = run ? createShellRuntime({ ...FAST, isolation, limits: 'none' }) : null;
  const shell = () => {
    if (!runtime) throw new Error('unreachable');
    return runtime;
  };

  describe.runIf(run)('contract', () => {
    it('describes its isolation', () => {
      expect(shell().describe()).toMatchObject({ isolation, limits: 'none', pids: 'none' });
    });

    it('returns the raw content of $BARGE_OUTPUT as the result', async () => {
      const { request } = await setup({ run: "printf 'hello\\n\\n  ' > \"$BARGE_OUTPUT\"" });
      const outcome = await shell().run(request);
      expect(outcome).toMatchObject({ state: 'SUCCEEDED', exitCode: 0, result: 'hello\n\n  ', error: null, reason: null });
    });

    it('takes the result from $TORK_OUTPUT, the same file', async () => {
      const { request } = await setup({ run: 'test "$TORK_OUTPUT" = "$BARGE_OUTPUT" && echo -n tork > $TORK_OUTPUT' });
      expect((await shell().run(request)).result).toBe('tork');
    });

    it('has no result when the script writes no output file', async () => {
      const { request } = await setup({ run: 'echo hi' });
      expect(await shell().run(request)).toMatchObject({ state: 'SUCCEEDED', result: null });
    });

    it('gives the script its env, files and BARGE_ variables, and none of the worker environment', async () => {
      process.env.BARGE_TEST_SERVER_SECRET = 's3cret';
      try {
        const runtime = createShellRuntime({ ...FAST, isolation, limits: 'none' });
        const { request, lines, workDir } = await setup({
          run: [
            'cat data/in.txt',
            'echo "FOO=$FOO"',
            'echo "secret=${BARGE_TEST_SERVER_SECRET:-none}"',
            'echo "home=$HOME workdir=$BARGE_WORKDIR pwd=$(pwd)"',
            'echo "ids=$BARGE_EXECUTION_ID/$BARGE_JOB_ID"',
          ].join('\n'),
          env: { FOO: 'bar baz' },
          files: { 'data/in.txt': 'from a file\n' },
        });
        expect((await runtime.run(request)).state).toBe('SUCCEEDED');
        expect(lines('stdout')).toEqual([
          'from a file',
          'FOO=bar baz',
          'secret=none',
          `home=${workDir} workdir=${workDir} pwd=${workDir}`,
          'ids=exec-1/job-1',
        ]);
      } finally {
        delete process.env.BARGE_TEST_SERVER_SECRET;
      }
    });

    it('passes args as $1… without interpolating them', async () => {
      const { request, lines } = await setup({ run: 'echo "$1|$2|$#"', args: ['a b', '$HOME `id`'] });
      await shell().run(request);
      expect(lines('stdout')).toEqual(['a b|$HOME `id`|2']);
    });

    it('logs both streams line by line, in order, including a partial last line', async () => {
      const { request, lines } = await setup({
        run: 'for i in $(seq 1 200); do echo "out $i"; echo "err $i" >&2; done; printf "no newline"',
      });
      await shell().run(request);
      const numbers = Array.from({ length: 200 }, (_, i) => i + 1);
      expect(lines('stdout')).toEqual([...numbers.map((i) => `out ${i}`), 'no newline']);
      expect(lines('stderr')).toEqual(numbers.map((i) => `err ${i}`));
    });

    it('cuts a very long line into 64 KiB pieces', async () => {
      const { request, lines } = await setup({ run: "head -c 150000 /dev/zero | tr '\\0' a; echo; echo after" });
      await shell().run(request);
      expect(lines('stdout').map((l) => l.length)).toEqual([65536, 65536, 150000 - 2 * 65536, 5]);
    });

    it('fails a non-zero exit with the exit code and the last 10 log lines', async () => {
      const { request } = await setup({ run: 'for i in $(seq 1 12); do echo "line $i"; done; exit 3' });
      const outcome = await shell().run(request);
      const last10 = Array.from({ length: 10 }, (_, i) => `line ${i + 3}`).join('\n');
      expect(outcome).toMatchObject({ state: 'FAILED', exitCode: 3, result: null, reason: null, error: `exit code 3: ${last10}` });
    });

    it('times out with SIGTERM to the group, then SIGKILL after the grace period', async () => {
      const { request, lines } = await setup(
        { run: "trap 'echo got TERM' TERM\necho ready\nwhile true; do sleep 0.05; done" },
        { timeoutMs: 700 },
      );
      const started = Date.now();
      const outcome = await shell().run(request);
      const took = Date.now() - started;
      expect(outcome).toMatchObject({ state: 'FAILED', reason: 'timeout', error: 'timed out after 700ms' });
      expect(lines('stdout')).toContain('got TERM');
      expect(took).toBeGreaterThanOrEqual(700 + 300 - 50);
      expect(took).toBeLessThan(5000);
    });

    it('stops a script that exits on SIGTERM right away', async () => {
      const { request } = await setup({ run: 'sleep 30' }, { timeoutMs: 300 });
      const started = Date.now();
      expect(await shell().run(request)).toMatchObject({ state: 'FAILED', reason: 'timeout' });
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('cancels a whole process tree within 2 s', async () => {
      const { request, abort, workDir, waitForLine } = await setup({
        run: [
          "trap '' TERM", // even a script that ignores SIGTERM must go
          '( while true; do date +%s%N > beat; sleep 0.05; done ) &',
          '( sleep 100 & echo $! > grandchild.pid; wait ) &',
          'echo started',
          'wait',
        ].join('\n'),
      });
      const running = shell().run(request);
      await waitForLine('started');
      const grandchild = await readPid(join(workDir, 'grandchild.pid'));
      const started = Date.now();
      abort.abort();
      const outcome = await running;
      expect(Date.now() - started).toBeLessThan(2000);
      expect(outcome).toMatchObject({ state: 'CANCELLED', reason: 'cancelled' });
      const beat = await readFile(join(workDir, 'beat'), 'utf8');
      await sleep(300);
      expect(await readFile(join(workDir, 'beat'), 'utf8')).toBe(beat);
      // Inside bwrap the pid belongs to the sandbox's own pid namespace, so only check it outside.
      if (isolation === 'none') expect(isAlive(grandchild)).toBe(false);
    });

    it('kills children left behind when the script exits', async () => {
      const { request, workDir } = await setup({
        run: '( while true; do date +%s%N > beat; sleep 0.05; done ) &\nsleep 100 &\necho $! > bg.pid\nsleep 0.2\necho done',
      });
      const started = Date.now();
      expect((await shell().run(request)).state).toBe('SUCCEEDED');
      expect(Date.now() - started).toBeLessThan(3000);
      const beat = await readFile(join(workDir, 'beat'), 'utf8');
      await sleep(200);
      expect(await readFile(join(workDir, 'beat'), 'utf8')).toBe(beat);
      if (isolation === 'none') expect(isAlive(Number(readFileSync(join(workDir, 'bg.pid'), 'utf8')))).toBe(false);
    });

    it('lists files left under outputs/, recursively, skipping symlinks', async () => {
      const { request, workDir } = await setup({
        run: 'mkdir -p outputs/sub && echo 1 > outputs/a.txt && echo 2 > outputs/sub/b.txt && ln -s /etc/hostname outputs/link',
      });
      expect((await shell().run(request)).state).toBe('SUCCEEDED');
      expect(await collect(workDir)).toMatchObject({ paths: ['a.txt', 'sub/b.txt'], skipped: ['outputs/link'] });
    });

    it('does not follow a symlinked output file', async () => {
      const { request } = await setup({ run: 'ln -s /etc/hostname "$BARGE_OUTPUT"' });
      expect(await shell().run(request)).toMatchObject({ state: 'SUCCEEDED', result: null });
    });

    it('reports progress written to $BARGE_PROGRESS and $TORK_PROGRESS', async () => {
      const { request, progress } = await setup({
        run: 'echo 25 > $BARGE_PROGRESS; sleep 0.3; echo 250 > $TORK_PROGRESS; sleep 0.3; echo " 50.5 " > $BARGE_PROGRESS',
      });
      await shell().run(request);
      expect(progress).toEqual([25, 100, 50.5]);
    });

    it('runs in a relative workdir and writes files there', async () => {
      const { request, lines, workDir } = await setup({ run: 'pwd; cat in.txt', workdir: 'sub/dir', files: { 'in.txt': 'x' } });
      await shell().run(request);
      expect(lines('stdout')).toEqual([join(workDir, 'sub/dir'), 'x']);
    });

    it('runs pre tasks, the script and post tasks in order, in the same folder and env', async () => {
      const { request, lines } = await setup({
        env: { SHARED: 'yes' },
        pre: [{ name: 'setup', run: 'echo "pre $SHARED $OWN" > from-pre', env: { OWN: 'pre-only' } }],
        run: 'cat from-pre; echo "main ${OWN:-unset}"; echo -n result > $BARGE_OUTPUT',
        post: [{ name: 'teardown', run: 'echo "post $SHARED"; echo -n clobbered > $BARGE_OUTPUT' }],
      });
      const outcome = await shell().run(request);
      expect(outcome).toMatchObject({ state: 'SUCCEEDED', result: 'result' });
      expect(lines('stdout')).toEqual(['pre yes pre-only', 'main unset', 'post yes']);
      expect(lines('system')).toEqual(['running pre "setup"', 'running post "teardown"']);
    });

    it('fails without running the script when a pre task fails', async () => {
      const { request, lines } = await setup({
        pre: [{ name: 'setup', run: 'echo broken; exit 4' }],
        run: 'echo main',
      });
      expect(await shell().run(request)).toMatchObject({
        state: 'FAILED',
        exitCode: 4,
        error: 'pre "setup" failed: exit code 4: broken',
      });
      expect(lines('stdout')).toEqual(['broken']);
    });

    it('skips post tasks when the script fails, and fails on a failing post task', async () => {
      const first = await setup({ run: 'exit 2', post: [{ name: 'p', run: 'echo post' }] });
      expect(await shell().run(first.request)).toMatchObject({ state: 'FAILED', exitCode: 2 });
      expect(first.lines('stdout')).toEqual([]);

      const second = await setup({ run: 'echo main', post: [{ name: 'p', run: 'exit 5' }] });
      expect(await shell().run(second.request)).toMatchObject({ state: 'FAILED', exitCode: 5, error: 'post "p" failed: exit code 5: main' });
    });

    it('runs a script with a #! line under its own interpreter', async () => {
      const { request, lines } = await setup({ run: '#!/usr/bin/perl\nprint "perl says $ARGV[0]\\n";', args: ['hi'] });
      expect((await shell().run(request)).state).toBe('SUCCEEDED');
      expect(lines('stdout')).toEqual(['perl says hi']);
    });
  });
});

describe('shell runtime refusals', () => {
  const shell = createShellRuntime({ ...FAST, isolation: 'none', limits: 'none' });

  it.each([
    [{ image: 'ubuntu:24.04' }, 'image is not supported by the shell runtime', 'unsupported: image'],
    [{ mounts: [{ type: 'bind', source: '/', target: '/x' }] }, 'mounts are not supported by the shell runtime', 'unsupported: mounts'],
    [{ sidecars: [{ name: 's' }] }, 'sidecars are not supported by the shell runtime', 'unsupported: sidecars'],
    [{ networks: ['n'] }, 'networks are not supported by the shell runtime', 'unsupported: networks'],
    [{ registry: { username: 'u' } }, 'registry is not supported by the shell runtime', 'unsupported: registry'],
    [{ gpus: 'all' }, 'gpus are not supported by the shell runtime', 'unsupported: gpus'],
    [{ pre: [{ name: 'p', image: 'alpine' }] }, 'pre task image is not supported by the shell runtime', 'unsupported: pre task image'],
  ])('refuses %j by name, before running anything', async (spec, error, reason) => {
    const { request, workDir } = await setup({ run: 'touch ran', ...spec });
    expect(await shell.run(request)).toEqual({ state: 'FAILED', exitCode: null, result: null, error, reason });
    expect(existsSync(join(workDir, 'ran'))).toBe(false);
  });

  it('ignores image when asked to, and runs `run` in the shell', async () => {
    const lenient = createShellRuntime({ ...FAST, isolation: 'none', limits: 'none', ignoreImage: true });
    const { request } = await setup({ image: 'ubuntu:24.04', run: 'echo -n ran > $TORK_OUTPUT' });
    expect(await lenient.run(request)).toMatchObject({ state: 'SUCCEEDED', result: 'ran' });
  });

  it.each([
    [{ files: { '../escape.txt': 'x' } }, 'files "../escape.txt" leaves the work folder', 'invalid: files'],
    [{ files: { 'a/../../escape.txt': 'x' } }, 'files "a/../../escape.txt" leaves the work folder', 'invalid: files'],
    [{ files: { '/etc/x': 'x' } }, 'files "/etc/x" must be a relative path', 'invalid: files'],
    [{ files: { '.barge/output': 'x' } }, 'files ".barge/output" is inside .barge/, which the runtime reserves', 'invalid: files'],
    [{ workdir: '/tmp' }, 'workdir "/tmp" must be a relative path', 'invalid: workdir'],
    [{ workdir: '../up' }, 'workdir "../up" leaves the work folder', 'invalid: workdir'],
  ])('refuses %j', async (spec, error, reason) => {
    const { request } = await setup({ run: 'true', ...spec });
    expect(await shell.run(request)).toMatchObject({ state: 'FAILED', error, reason });
    expect(existsSync(join(tmpdir(), 'escape.txt'))).toBe(false);
  });

  it('returns CANCELLED at once when the signal is already aborted', async () => {
    const { request, abort } = await setup({ run: 'echo no' });
    abort.abort();
    expect(await shell.run(request)).toMatchObject({ state: 'CANCELLED', reason: 'cancelled' });
  });
});

describe('shell runtime spawning', () => {
  it('runs bash through the injected spawn function, with no wrapper when isolation and limits are off', async () => {
    const calls: Array<{ command: string; args: string[] }> = [];
    const spawnProcess: SpawnProcess = (command, args, request) => {
      calls.push({ command, args });
      return spawn(command, args, request);
    };
    const shell = createShellRuntime({ ...FAST, isolation: 'none', limits: 'none', spawnProcess });
    const { request, workDir } = await setup({ run: 'echo "$1"', args: ['x'] });
    expect((await shell.run(request)).state).toBe('SUCCEEDED');
    expect(calls).toEqual([{ command: expect.stringMatching(/\/bash$/), args: [join(workDir, '.barge/entrypoint.sh'), 'x'] }]);
  });

  it('passes a healthCheck when bash is available', async () => {
    await expect(createShellRuntime({ isolation: 'none', limits: 'none' }).healthCheck()).resolves.toBeUndefined();
  });
});

describe.runIf(HAS_BWRAP)('shell runtime in the bwrap sandbox', () => {
  const shell = createShellRuntime({ ...FAST, isolation: 'bwrap', limits: 'none' });
  let server: Server;
  let port = 0;
  const marker = join(tmpdir(), `barge-host-marker-${process.pid}`);

  beforeAll(async () => {
    await writeFile(marker, 'host');
    server = createServer((socket) => socket.end('hello\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(marker, { force: true });
  });

  it('mounts the system read-only', async () => {
    const { request, lines } = await setup({ run: 'touch /usr/barge-x 2>/dev/null && echo wrote || echo read-only' });
    await shell.run(request);
    expect(lines('stdout')).toEqual(['read-only']);
    expect(existsSync('/usr/barge-x')).toBe(false);
  });

  it('gives the task a private /tmp and hides the rest of the host', async () => {
    const inner = `/tmp/barge-inner-${process.pid}`;
    const { request, lines } = await setup({
      run: [
        `test -e ${marker} && echo host-tmp-visible || echo host-tmp-hidden`,
        `echo x > ${inner} && echo tmp-writable`,
        `test -e ${join(process.cwd(), 'package.json')} && echo repo-visible || echo repo-hidden`,
      ].join('\n'),
    });
    await shell.run(request);
    expect(lines('stdout')).toEqual(['host-tmp-hidden', 'tmp-writable', 'repo-hidden']);
    expect(existsSync(inner)).toBe(false);
  });

  it('has no network unless the task asks for it', async () => {
    const run = `if exec 3<>/dev/tcp/127.0.0.1/${port}; then head -n1 <&3; else echo no-network; fi 2>/dev/null`;
    const closed = await setup({ run });
    await shell.run(closed.request);
    expect(closed.lines('stdout')).toEqual(['no-network']);

    const open = await setup({ run, network: true });
    await shell.run(open.request);
    expect(open.lines('stdout')).toEqual(['hello']);
  });
});

describe('shell runtime limits', () => {
  // 400 MB through `tail`, which must hold the whole newline-free input in memory.
  const HOG = 'head -c 400000000 /dev/zero | tail -n 1 > /dev/null';

  describe.runIf(HAS_CGROUP_V1)('cgroup-v1', () => {
    const shell = createShellRuntime({ ...FAST, isolation: 'none', limits: 'cgroup-v1' });

    it('describes itself', () => {
      expect(shell.describe().limits).toBe('cgroup-v1');
    });

    it('runs the task in its own cgroup with the memory and cpu limits, removed afterwards', async () => {
      const { request, lines } = await setup(
        {
          run: [
            'mem=$(grep -E "^[0-9]+:memory:" /proc/self/cgroup | cut -d: -f3)',
            'cpu=$(grep -E "^[0-9]+:cpu:" /proc/self/cgroup | cut -d: -f3)',
            'echo "$mem" > mem.path',
            'cat /sys/fs/cgroup/memory$mem/memory.limit_in_bytes',
            'cat /sys/fs/cgroup/cpu$cpu/cpu.cfs_quota_us',
          ].join('\n'),
        },
        { memoryMb: 64, cpus: 0.5 },
      );
      expect((await shell.run(request)).state).toBe('SUCCEEDED');
      expect(lines('stdout')).toEqual([String(64 * 1024 * 1024), '50000']);
      const memPath = readFileSync(join(request.workDir, 'mem.path'), 'utf8').trim();
      expect(memPath).toMatch(/\/barge-exec-1-[0-9a-f]{8}$/);
      expect(existsSync(`/sys/fs/cgroup/memory${memPath}`)).toBe(false);
    });

    it('fails a memory hog with reason "memory limit"', async () => {
      const { request } = await setup({ run: HOG }, { memoryMb: 64 });
      const outcome = await shell.run(request);
      expect(outcome).toMatchObject({ state: 'FAILED', reason: 'memory limit' });
      expect(outcome.error).toMatch(/^memory limit of 64 MB exceeded/);
    });

    it.runIf(HAS_BWRAP)('applies inside the bwrap sandbox too', async () => {
      const sandboxed = createShellRuntime({ ...FAST, isolation: 'bwrap', limits: 'cgroup-v1' });
      expect(sandboxed.describe()).toMatchObject({ isolation: 'bwrap', limits: 'cgroup-v1' });
      const { request } = await setup({ run: HOG }, { memoryMb: 64 });
      expect(await sandboxed.run(request)).toMatchObject({ state: 'FAILED', reason: 'memory limit' });
    });
  });

  describe('rlimit', () => {
    const shell = createShellRuntime({ ...FAST, isolation: 'none', limits: 'rlimit' });

    it('sets the data and cpu-time limits', async () => {
      const { request, lines } = await setup({ run: 'ulimit -d; ulimit -t' }, { memoryMb: 64, cpus: 2, timeoutMs: 10_000 });
      await shell.run(request);
      expect(lines('stdout')).toEqual([String(64 * 1024), '21']);
    });

    it('fails a memory hog with reason "memory limit"', async () => {
      const { request } = await setup({ run: HOG }, { memoryMb: 64 });
      expect(await shell.run(request)).toMatchObject({ state: 'FAILED', reason: 'memory limit' });
    });

    it('lets a task within its limit succeed', async () => {
      const { request } = await setup({ run: 'head -c 10000000 /dev/zero | tail -n 1 | wc -c > $BARGE_OUTPUT' }, { memoryMb: 64 });
      expect(await shell.run(request)).toMatchObject({ state: 'SUCCEEDED', result: '10000000\n' });
    });
  });
});
