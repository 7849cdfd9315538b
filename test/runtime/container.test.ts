/**
 * The container runtime against real podman (`--runtime runc`), with an image built here from
 * busybox (no registry is reachable): `localhost/barge-test:busybox`. The image is kept between
 * runs (building it again is cheap, and removing it could pull it from under a concurrent run);
 * every container a test starts is gone when it ends. Skipped when podman or busybox is missing.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FolderArtifactStore } from '../../src/artifacts/artifacts.js';
import { Engine } from '../../src/engine/engine.js';
import { newId } from '../../src/engine/ids.js';
import { explainWaiting, NO_CONTAINER_RUNTIME, queuesWithContainerRuntime } from '../../src/engine/waiting.js';
import type { ExecutionRow, NodeRow } from '../../src/core/model.js';
import { isFinal } from '../../src/core/states.js';
import { containerCommand, runCommandLine, type RunPlan } from '../../src/worker/runtimes/container-command.js';
import { createContainerRuntime, detectContainerRuntime } from '../../src/worker/runtimes/container.js';
import { dockerHubReference } from '../../src/worker/runtimes/container-engine.js';
import { createShellRuntime } from '../../src/worker/runtimes/shell.js';
import { findExecutable } from '../../src/worker/runtimes/sandbox.js';
import type { Runtime, RunRequest } from '../../src/worker/runtimes/runtime.js';
import { engineSource } from '../../src/worker/source.js';
import { Worker } from '../../src/worker/worker.js';
import { makeTestStore, storeKinds, type TestStore } from '../helpers/stores.js';
import { collect, removeFolders, setup } from './helpers.js';

const run = promisify(execFile);
const IMAGE = 'localhost/barge-test:busybox';
const PODMAN = ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((path) => existsSync(path));
const HAS_PODMAN =
  findExecutable('podman', process.env.PATH ?? '') !== null &&
  spawnSync('podman', [...PODMAN, 'version'], { stdio: 'ignore' }).status === 0;
const CAN_RUN = HAS_PODMAN && BUSYBOX !== undefined;
const HAS_MEMORY_CGROUP = existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes') || existsSync('/sys/fs/cgroup/cgroup.controllers');

/** A root file system of busybox and its applet links, imported as an image. */
async function buildImage(): Promise<void> {
  if (spawnSync('podman', [...PODMAN, 'image', 'exists', IMAGE]).status === 0) return;
  const root = mkdtempSync(join(tmpdir(), 'barge-image-'));
  try {
    await mkdir(join(root, 'bin'));
    await mkdir(join(root, 'etc'));
    await mkdir(join(root, 'tmp'), { mode: 0o1777 });
    execFileSync('cp', [BUSYBOX ?? '', join(root, 'bin', 'busybox')]);
    const applets = execFileSync(join(root, 'bin', 'busybox'), ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const applet of applets) if (applet !== 'busybox') symlinkSync('busybox', join(root, 'bin', applet));
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n');
    execFileSync('sh', ['-c', `tar -C "${root}" -c . | podman ${PODMAN.join(' ')} import --change ENV=PATH=/bin - ${IMAGE}`], {
      stdio: 'ignore',
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function containersNamed(prefix: string): Promise<string[]> {
  const { stdout } = await run('podman', [...PODMAN, 'ps', '--all', '--format', '{{.Names}}', '--filter', `name=${prefix}`]);
  return stdout.split('\n').filter(Boolean);
}

const started: string[] = [];

/** A fresh work folder and request, with an execution id no other test uses (it names the container). */
async function setupRun(spec: Parameters<typeof setup>[0], extra: Partial<RunRequest> = {}) {
  const executionId = `t${newId().slice(0, 12)}`;
  started.push(executionId);
  return { executionId, ...(await setup({ image: IMAGE, ...spec }, { executionId, ...extra })) };
}

const FAST = { pull: 'never' as const, killGraceMs: 500, cancelGraceMs: 300, progressPollMs: 50 };

describe('container command line (no podman needed)', () => {
  const plan = (overrides: Partial<RunPlan> = {}): RunPlan => ({
    name: 'barge-x',
    image: 'alpine',
    command: containerCommand({ run: 'echo hi' }, []),
    env: {},
    workdir: null,
    volumes: ['/w:/tork'],
    tmpfs: [],
    labels: {},
    network: false,
    cpus: 0.5,
    memoryMb: 64,
    ...overrides,
  });

  it("runs `run` as Tork does: sh -c /tork/entrypoint, with cmd and entrypoint replacing either part", () => {
    expect(containerCommand({ run: 'x' }, [])).toEqual({ entrypoint: ['sh', '-c'], cmd: ['/tork/entrypoint'] });
    expect(containerCommand({ run: 'x', entrypoint: ['bash', '-c'] }, [])).toEqual({ entrypoint: ['bash', '-c'], cmd: ['/tork/entrypoint'] });
    expect(containerCommand({ run: 'x', cmd: ['echo hi'] }, [])).toEqual({ entrypoint: ['sh', '-c'], cmd: ['echo hi'] });
    expect(containerCommand({ cmd: ['echo', 'hi'] }, [])).toEqual({ entrypoint: [], cmd: ['echo', 'hi'] });
    expect(containerCommand({}, [])).toEqual({ entrypoint: [], cmd: [] });
    expect(containerCommand({ run: 'x' }, ['a b'])).toEqual({ entrypoint: ['sh', '-c'], cmd: ['/tork/entrypoint "$@"', 'sh', 'a b'] });
  });

  it('keeps environment values off the command line, except the few the engine reads itself', () => {
    const line = runCommandLine(plan({ env: { SECRET: 'hunter2', PATH: '/opt/bin:/bin', 'MY.VAR': 'x' } }), []);
    expect(line.args.join(' ')).not.toContain('hunter2');
    expect(line.args).toContain('--env=SECRET');
    expect(line.args).toContain('--env=PATH=/opt/bin:/bin');
    expect(line.env).toEqual({ SECRET: 'hunter2', 'MY.VAR': 'x' });
  });

  it('sets limits and no network, and puts the image after every flag', () => {
    const { args } = runCommandLine(plan(), ['--http-proxy=false']);
    expect(args).toEqual(expect.arrayContaining(['--rm', '--name=barge-x', '--pull=never', '--network=none', '--memory=64m', '--memory-swap=64m', '--cpus=0.5']));
    expect(args.slice(args.indexOf('alpine'))).toEqual(['alpine', '-c', '/tork/entrypoint']);
    expect(args[args.indexOf('alpine') - 1]).toBe('--entrypoint=sh');
    expect(runCommandLine(plan({ network: true }), []).args).not.toContain('--network=none');
  });

  it("pulls short names from Docker Hub, as docker and Tork's jobs assume", () => {
    expect(dockerHubReference('ubuntu:mantic')).toBe('docker.io/library/ubuntu:mantic');
    expect(dockerHubReference('me/app')).toBe('docker.io/me/app');
    expect(dockerHubReference('quay.io/me/app:1')).toBe('quay.io/me/app:1');
    expect(dockerHubReference('localhost/app')).toBe('localhost/app');
    expect(dockerHubReference('localhost:5000/app')).toBe('localhost:5000/app');
  });

  it('refuses an image or env name that could be read as something else', () => {
    expect(() => runCommandLine(plan({ image: '--privileged' }), [])).toThrow(/not a valid image reference/);
    expect(() => runCommandLine(plan({ env: { 'HOST*': 'x' } }), [])).toThrow(/not a valid variable name/);
  });
});

describe.runIf(CAN_RUN)('container runtime (podman, runc)', () => {
  const runtime = createContainerRuntime(FAST);

  beforeAll(buildImage);
  afterEach(removeFolders);
  afterAll(async () => {
    const left = (await Promise.all(started.map((id) => containersNamed(`barge-${id}`)))).flat();
    if (left.length > 0) await run('podman', [...PODMAN, 'rm', '--force', '--time=0', ...left]);
    expect(left).toEqual([]);
  });

  it('describes itself and passes its health check', async () => {
    expect(runtime.describe()).toEqual({ container: 'podman' });
    await runtime.healthCheck();
    await expect(createContainerRuntime({ binary: '/nonexistent/podman' }).healthCheck()).rejects.toThrow(/container runtime/);
    expect((await detectContainerRuntime())?.describe()).toEqual({ container: 'podman' });
  });

  it("logs a run script's lines and takes the result from $TORK_OUTPUT", async () => {
    const { request, lines } = await setupRun({
      run: [
        'for i in 1 2 3; do echo "out $i"; echo "err $i" >&2; done',
        'test "$TORK_OUTPUT" = "$BARGE_OUTPUT" && test "$TORK_OUTPUT" = /tork/stdout',
        'printf "hello\\n\\n  " > "$TORK_OUTPUT"',
        'printf "no newline"',
      ].join('\n'),
    });
    const outcome = await runtime.run(request);
    expect(outcome).toMatchObject({ state: 'SUCCEEDED', exitCode: 0, result: 'hello\n\n  ', error: null, reason: null });
    expect(lines('stdout')).toEqual(['out 1', 'out 2', 'out 3', 'no newline']);
    expect(lines('stderr')).toEqual(['err 1', 'err 2', 'err 3']);
  });

  it("passes env (even multi-line values), the BARGE_ variables, and nothing of the worker's environment", async () => {
    process.env.BARGE_TEST_WORKER_SECRET = 's3cret';
    try {
      const { request, lines, executionId } = await setupRun({
        run: [
          'echo "FOO=$FOO"',
          'echo "LINES=$(echo "$LINES" | wc -l)"',
          'echo "secret=${BARGE_TEST_WORKER_SECRET:-none}"',
          'echo "ids=$BARGE_EXECUTION_ID/$BARGE_JOB_ID workdir=$BARGE_WORKDIR"',
        ].join('\n'),
        env: { FOO: 'bar baz', LINES: 'one\ntwo\nthree' },
      });
      expect((await runtime.run(request)).state).toBe('SUCCEEDED');
      expect(lines('stdout')).toEqual(['FOO=bar baz', 'LINES=3', 'secret=none', `ids=${executionId}/job-1 workdir=/tork`]);
    } finally {
      delete process.env.BARGE_TEST_WORKER_SECRET;
    }
  });

  it('writes files to /tork/workdir by default, and into a workdir outside /tork without hiding the image there', async () => {
    const first = await setupRun({ run: 'pwd; cat data/in.txt', files: { 'data/in.txt': 'from a file\n' } });
    expect((await runtime.run(first.request)).state).toBe('SUCCEEDED');
    expect(first.lines('stdout')).toEqual(['/tork/workdir', 'from a file']);

    const second = await setupRun({ run: 'pwd; cat note.txt; test -f /etc/passwd && echo image kept', workdir: '/etc', files: { 'note.txt': 'hi\n' } });
    expect((await runtime.run(second.request)).state).toBe('SUCCEEDED');
    expect(second.lines('stdout')).toEqual(['/etc', 'hi', 'image kept']);
  });

  it('runs cmd and entrypoint as given, and passes args to a run script', async () => {
    const plain = await setupRun({ cmd: ['echo', 'from', 'cmd'] });
    expect((await runtime.run(plain.request)).state).toBe('SUCCEEDED');
    expect(plain.lines('stdout')).toEqual(['from cmd']);

    const entry = await setupRun({ entrypoint: ['sh', '-c'], cmd: ['echo "entry $0"', 'point'] });
    expect((await runtime.run(entry.request)).state).toBe('SUCCEEDED');
    expect(entry.lines('stdout')).toEqual(['entry point']);

    const args = await setupRun({ run: 'echo "$#|$1|$2"', args: ['a b', '$HOME'] });
    expect((await runtime.run(args.request)).state).toBe('SUCCEEDED');
    expect(args.lines('stdout')).toEqual(['2|a b|$HOME']);
  });

  it("fails a non-zero exit with Tork's text: exit code N and the last 10 log lines", async () => {
    const { request } = await setupRun({ run: 'for i in $(seq 1 12); do echo "line $i"; done; exit 3' });
    const outcome = await runtime.run(request);
    const last10 = Array.from({ length: 10 }, (_, i) => `line ${i + 3}`).join('\n');
    expect(outcome).toMatchObject({ state: 'FAILED', exitCode: 3, reason: null, error: `exit code 3: ${last10}` });
  });

  it('collects regular files left in /tork/outputs, and no symlinks', async () => {
    const { request, workDir } = await setupRun({
      run: 'mkdir -p /tork/outputs/sub && echo a > /tork/outputs/a.txt && echo b > /tork/outputs/sub/b.txt && ln -s /etc/passwd /tork/outputs/link',
    });
    expect(await runtime.run(request)).toMatchObject({ state: 'SUCCEEDED' });
    expect(await collect(workDir)).toMatchObject({ paths: ['a.txt', 'sub/b.txt'], skipped: ['outputs/link'] });
  });

  it('follows no link a container leaves: outputs/, the result file, the next step\'s entrypoint', async () => {
    const host = mkdtempSync(join(tmpdir(), 'barge-host-secrets-'));
    try {
      writeFileSync(join(host, 'secret.txt'), 'do-not-leak');
      writeFileSync(join(host, 'victim.sh'), 'unchanged');
      const { request, workDir } = await setupRun({
        pre: [{ name: 'plant', run: `ln -sf ${host}/victim.sh /tork/entrypoint` }],
        run: `rm -rf /tork/outputs && ln -s ${host} /tork/outputs && ln -sf ${host}/secret.txt /tork/stdout && echo planted`,
      });
      const outcome = await runtime.run(request);
      expect(outcome).toMatchObject({ state: 'SUCCEEDED', result: null });
      expect(readFileSync(join(host, 'victim.sh'), 'utf8')).toBe('unchanged');
      expect(await collect(workDir)).toEqual({ paths: [], skipped: ['outputs'], files: {} });
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });

  it('reports progress written to $TORK_PROGRESS', async () => {
    const { request, progress } = await setupRun({ run: 'echo 40 > "$TORK_PROGRESS"; sleep 0.3; echo 90 > "$BARGE_PROGRESS"' });
    expect((await runtime.run(request)).state).toBe('SUCCEEDED');
    expect(progress).toContain(90);
  });

  it('runs pre and post tasks in their own containers over the same /tork and volumes', async () => {
    const { request, lines } = await setupRun({
      run: 'cat /data/from-pre; echo -n main > "$TORK_OUTPUT"',
      mounts: [{ type: 'volume', target: '/data' }],
      pre: [{ name: 'setup', run: 'echo ready > /data/from-pre' }],
      post: [{ name: 'after', run: 'echo "post saw $(cat $TORK_OUTPUT)"' }],
    });
    expect(await runtime.run(request)).toMatchObject({ state: 'SUCCEEDED', result: 'main' });
    expect(lines('stdout')).toEqual(['ready', 'post saw main']);
    expect(lines('system')).toEqual(['running pre "setup"', 'running post "after"']);
  });

  it('times out: SIGTERM, then the container is killed and removed', async () => {
    const { request, executionId } = await setupRun({ run: 'echo started; sleep 60' }, { timeoutMs: 1000 });
    const begun = Date.now();
    const outcome = await runtime.run(request);
    expect(outcome).toMatchObject({ state: 'FAILED', reason: 'timeout', error: 'timed out after 1s' });
    expect(Date.now() - begun).toBeLessThan(1000 + FAST.killGraceMs + 5000);
    expect(await containersNamed(`barge-${executionId}`)).toEqual([]);
  });

  it('lets a script that traps SIGTERM finish within the grace period', async () => {
    const { request, lines } = await setupRun(
      { run: "trap 'echo got TERM; exit 7' TERM\necho ready\nwhile true; do sleep 0.1; done" },
      { timeoutMs: 1500 },
    );
    expect(await runtime.run(request)).toMatchObject({ state: 'FAILED', reason: 'timeout' });
    expect(lines('stdout')).toContain('got TERM');
  });

  it('cancels within 2 s and leaves no container', async () => {
    const { request, abort, waitForLine, executionId } = await setupRun({ run: "trap '' TERM; echo started; sleep 60" });
    const running = runtime.run(request);
    await waitForLine('started', 20_000);
    const begun = Date.now();
    abort.abort();
    expect(await running).toMatchObject({ state: 'CANCELLED', reason: 'cancelled' });
    expect(Date.now() - begun).toBeLessThan(2000);
    expect(await containersNamed(`barge-${executionId}`)).toEqual([]);
  });

  it.runIf(HAS_MEMORY_CGROUP)('enforces the memory limit', async () => {
    const { request } = await setupRun({ run: 'exec dd if=/dev/zero of=/dev/null bs=200M count=1' }, { memoryMb: 32 });
    const outcome = await runtime.run(request);
    expect(outcome).toMatchObject({ state: 'FAILED', exitCode: 137, reason: 'memory limit' });
    expect(outcome.error).toMatch(/^memory limit of 32 MB exceeded/);
  });

  it('has no network unless the task asks for it', async () => {
    const { request, lines } = await setupRun({ run: 'ls /sys/class/net' });
    expect((await runtime.run(request)).state).toBe('SUCCEEDED');
    expect(lines('stdout')).toEqual(['lo']);
  });

  it('fails at once, naming it, when the image is not on this machine', async () => {
    const { request, executionId } = await setupRun({ image: 'localhost/barge-no-such-image:1', run: 'true' });
    const begun = Date.now();
    expect(await runtime.run(request)).toMatchObject({
      state: 'FAILED',
      reason: 'image not found',
      error: 'image localhost/barge-no-such-image:1 not found locally',
    });
    expect(Date.now() - begun).toBeLessThan(3000);
    expect(await containersNamed(`barge-${executionId}`)).toEqual([]);
  });

  it('tries to pull a missing image under pull: missing, and says so when that fails', async () => {
    const pulling = createContainerRuntime({ ...FAST, pull: 'missing' });
    // A registry on localhost: refused at once, no network needed.
    const { request, lines } = await setupRun({ image: 'localhost/barge-no-such-image:1', run: 'true' });
    const outcome = await pulling.run(request);
    expect(outcome).toMatchObject({ state: 'FAILED', reason: 'image not found' });
    expect(outcome.error).toMatch(/^image localhost\/barge-no-such-image:1 not found locally, and pulling it failed: Error: /);
    expect(lines('system')[0]).toBe('pulling image localhost/barge-no-such-image:1');
  });

  it('refuses by name what it cannot do, before starting anything', async () => {
    const cases: Array<[Parameters<typeof setup>[0], string]> = [
      [{ run: 'true', sidecars: [{ name: 'db', image: IMAGE }] }, 'unsupported: sidecars'],
      [{ run: 'true', mounts: [{ type: 'bind', source: '/etc', target: '/host' }] }, 'unsupported: bind mounts'],
      [{ run: 'true', registry: { username: 'u', password: 'p' } }, 'unsupported: registry'],
      [{ run: 'true', networks: ['other'] }, 'unsupported: networks'],
      [{ run: 'true', files: { stdout: 'x' }, workdir: '/tork' }, 'invalid: files'],
      [{ run: 'true', mounts: [{ type: 'volume', target: '/tork/x' }] }, 'invalid: mounts[0].target'],
      [{ run: 'true', image: '--privileged' }, 'invalid: image'],
      [{ run: 'true', env: { 'HOST*': 'x' } }, 'invalid: env'],
    ];
    for (const [spec, reason] of cases) {
      const { request } = await setupRun(spec);
      expect(await runtime.run(request)).toMatchObject({ state: 'FAILED', reason, exitCode: null });
    }
  });
});

// --- engine level ----------------------------------------------------------------------------

interface EngineRig {
  engine: Engine;
  db: TestStore;
  workers: Worker[];
  startWorker(runtimes: Partial<Record<'shell' | 'container', Runtime>>, info?: NodeRow['info']): Promise<Worker>;
  containerExecution(jobId: string): Promise<ExecutionRow | undefined>;
  stop(): Promise<void>;
}

async function makeRig(kind: 'sqlite' | 'postgres'): Promise<EngineRig> {
  const db = await makeTestStore(kind);
  const engine = new Engine({ store: db.store, artifacts: new FolderArtifactStore(join(db.dir, 'artifacts')), leaseMs: 5000 });
  const workers: Worker[] = [];
  return {
    engine,
    db,
    workers,
    async startWorker(runtimes, info = {}) {
      const worker = new Worker({
        source: engineSource(engine),
        artifacts: engine.artifacts,
        nodeId: newId(),
        version: 'test',
        workRoot: join(db.dir, `work-${workers.length}`),
        runtimes,
        cpus: 2,
        memoryMb: 1024,
        renewMs: 200,
        heartbeatMs: 200,
        idlePollMs: 100,
        drainGraceMs: 2000,
        info,
      });
      workers.push(worker);
      worker.start();
      return worker;
    },
    async containerExecution(jobId) {
      const executions = await db.store.executionList({ jobId, limit: 10 });
      return executions.find((e) => e.kind === 'container');
    },
    async stop() {
      await Promise.all(workers.map((w) => w.stop()));
      await db.close();
    },
  };
}

const IMAGE_JOB = {
  name: 'image job',
  tasks: [{ name: 'in a container', image: IMAGE, run: 'echo "inside $(cat /etc/passwd | head -1 | cut -d: -f1)"; echo -n done > $TORK_OUTPUT' }],
};

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.each(storeKinds)('tasks with an image wait for a worker with a container runtime (%s)', (kind) => {
  let rig: EngineRig;
  afterEach(async () => rig?.stop());

  it('stay RUNNABLE with the reason on a shell-only worker, and lose it when such a worker comes', async () => {
    rig = await makeRig(kind);
    await rig.startWorker({ shell: createShellRuntime({ killGraceMs: 500 }) });
    const job = await rig.engine.submit(IMAGE_JOB, { owner: 'alice' });
    const shellJob = await rig.engine.submit({ name: 'plain', tasks: [{ name: 'sh', run: 'true' }] }, { owner: 'alice' });
    expect((await rig.engine.waitForJob(shellJob.id, 10_000)).state).toBe('SUCCEEDED');

    const waiting = await waitFor('a RUNNABLE container execution', async () => {
      const execution = await rig.containerExecution(job.id);
      return execution?.state === 'RUNNABLE' ? execution : undefined;
    });
    expect(waiting.reason).toBeNull();
    expect(await explainWaiting(rig.engine)).toEqual({ explained: 1, cleared: 0 });
    expect(await explainWaiting(rig.engine)).toEqual({ explained: 0, cleared: 0 });
    expect(await rig.containerExecution(job.id)).toMatchObject({ state: 'RUNNABLE', reason: NO_CONTAINER_RUNTIME });
    expect(isFinal((await rig.engine.getJob(job.id)).state)).toBe(false);

    // A node that advertises a container runtime for the queue, but claims nothing yet.
    await rig.engine.heartbeat(fakeNode({ container: 'podman' }, ['default']));
    expect(await explainWaiting(rig.engine)).toEqual({ explained: 0, cleared: 1 });
    expect(await rig.containerExecution(job.id)).toMatchObject({ state: 'RUNNABLE', reason: null });
  });
});

describe.runIf(CAN_RUN)('a job with an image task, end to end (sqlite)', () => {
  let rig: EngineRig;
  beforeAll(buildImage);
  afterEach(async () => rig?.stop());

  it('runs on a worker with the container runtime', async () => {
    rig = await makeRig('sqlite');
    await rig.startWorker({ shell: createShellRuntime({ killGraceMs: 500 }) });
    const job = await rig.engine.submit(IMAGE_JOB, { owner: 'alice' });
    await waitFor('a RUNNABLE container execution', async () => ((await rig.containerExecution(job.id))?.state === 'RUNNABLE' ? true : undefined));
    await explainWaiting(rig.engine);
    expect((await rig.containerExecution(job.id))?.reason).toBe(NO_CONTAINER_RUNTIME);

    await rig.startWorker({ shell: createShellRuntime({ killGraceMs: 500 }), container: createContainerRuntime(FAST) }, { container: 'podman' });
    const done = await rig.engine.waitForJob(job.id, 30_000);
    expect(done).toMatchObject({ state: 'SUCCEEDED' });
    const execution = await rig.containerExecution(job.id);
    expect(execution).toMatchObject({ state: 'SUCCEEDED', result: 'done', reason: null });
    const log = await rig.db.store.logList({ executionId: execution?.id ?? '', limit: 10 });
    expect(log.map((l) => l.line)).toEqual(['inside root']);
  });
});

describe('queuesWithContainerRuntime', () => {
  it('counts UP nodes whose info names a container runtime, and the queues they serve', () => {
    const served = queuesWithContainerRuntime([
      fakeNode({ container: 'podman' }, ['a', 'b']),
      fakeNode({ container: 'shell (image ignored)' }, ['c']),
      fakeNode({}, ['d']),
      { ...fakeNode({ container: 'podman' }, ['e']), status: 'DOWN' },
    ]);
    expect([...served].sort()).toEqual(['a', 'b', 'c']);
  });
});

function fakeNode(info: NodeRow['info'], queues: string[]): NodeRow {
  const now = new Date().toISOString();
  return {
    id: newId(),
    name: 'fake',
    role: 'worker',
    hostname: 'test',
    version: 'test',
    startedAt: now,
    lastHeartbeatAt: now,
    cpuPercent: 0,
    cpus: 1,
    memoryMb: 1024,
    usedCpus: 0,
    usedMemoryMb: 0,
    queues,
    status: 'UP',
    info,
  };
}
