/**
 * Filesystem mounts in the runtimes (ET Engine's filesystems): the host folder the engine stored in
 * `opts.path`, read-write at /mnt/efs (or /mnt/efs/<name>) in the bubblewrap sandbox, as symlinks
 * under `$BARGE_EFS` without one, and as a volume in a podman container (when the busybox test
 * image of container.test.ts exists here); a mount without a host folder is refused by name.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MountSpec } from '../../src/core/spec-types.js';
import { createContainerRuntime } from '../../src/worker/runtimes/container.js';
import { chooseSandbox, findExecutable } from '../../src/worker/runtimes/sandbox.js';
import { createShellRuntime } from '../../src/worker/runtimes/shell.js';
import { removeFolders, setup } from './helpers.js';

let host: string;
beforeAll(async () => {
  host = await mkdtemp(join(tmpdir(), 'barge-fs-runtime-'));
});
afterEach(removeFolders);
afterAll(async () => {
  await rm(host, { recursive: true, force: true });
});

async function folder(name: string): Promise<string> {
  const path = join(host, name);
  await rm(path, { recursive: true, force: true });
  spawnSync('mkdir', ['-m', '0755', path]);
  return path;
}

const mount = (path: string, target = '/mnt/efs'): MountSpec => ({ type: 'filesystem', source: 'fs-id', target, opts: { path } });
const HAS_BWRAP = chooseSandbox('auto').kind === 'bwrap';

describe.skipIf(!HAS_BWRAP)('filesystems in the sandbox', () => {
  const shell = createShellRuntime({ isolation: 'bwrap', killGraceMs: 500 });

  it('binds one at /mnt/efs, read-write, where the next task sees what the last one wrote', async () => {
    const data = await folder('one');
    await writeFile(join(data, 'given'), 'from the host\n');
    const first = await setup({ run: 'test "$BARGE_EFS" = /mnt/efs && cat /mnt/efs/given && echo written > /mnt/efs/made', mounts: [mount(data)] });
    expect(await shell.run(first.request)).toMatchObject({ state: 'SUCCEEDED' });
    expect(first.lines('stdout')).toEqual(['from the host']);
    const second = await setup({ run: 'cat /mnt/efs/made', mounts: [mount(data)] });
    expect(await shell.run(second.request)).toMatchObject({ state: 'SUCCEEDED' });
    expect(second.lines('stdout')).toEqual(['written']);
    expect(await readFile(join(data, 'made'), 'utf8')).toBe('written\n');
  });

  it('binds several at /mnt/efs/<name>, and nothing else of the host is writable there', async () => {
    const a = await folder('a');
    const b = await folder('b');
    const run = await setup({
      run: 'echo A > /mnt/efs/a/f && echo B > /mnt/efs/b/f && ! touch /mnt/efs/c 2>/dev/null && ! touch /etc/x 2>/dev/null',
      mounts: [mount(a, '/mnt/efs/a'), mount(b, '/mnt/efs/b')],
    });
    expect(await shell.run(run.request)).toMatchObject({ state: 'SUCCEEDED' });
    expect([await readFile(join(a, 'f'), 'utf8'), await readFile(join(b, 'f'), 'utf8')]).toEqual(['A\n', 'B\n']);
  });
});

describe('filesystems without a sandbox', () => {
  const shell = createShellRuntime({ isolation: 'none', killGraceMs: 500 });

  it('links them under $BARGE_EFS at the same place', async () => {
    const data = await folder('linked');
    const run = await setup({ run: 'case "$BARGE_EFS" in */.barge/mnt/efs) ;; *) exit 9 ;; esac; echo via-link > "$BARGE_EFS/x"', mounts: [mount(data)] });
    expect(await shell.run(run.request)).toMatchObject({ state: 'SUCCEEDED' });
    expect(await readFile(join(data, 'x'), 'utf8')).toBe('via-link\n');
  });

  it('refuses a filesystem mount without a host folder, or with a target outside /mnt/efs', async () => {
    for (const bad of [{ type: 'filesystem', source: 'fs-id', target: '/mnt/efs' }, mount(host, '/etc')]) {
      const run = await setup({ run: 'touch ran', mounts: [bad] });
      expect(await shell.run(run.request)).toMatchObject({ state: 'FAILED', reason: 'invalid: mounts' });
    }
  });
});

const IMAGE = 'localhost/barge-test:busybox';
const PODMAN = ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
const HAS_IMAGE =
  findExecutable('podman', process.env.PATH ?? '') !== null && spawnSync('podman', [...PODMAN, 'image', 'exists', IMAGE]).status === 0;

describe.skipIf(!HAS_IMAGE)('filesystems in a container', () => {
  it('mounts it as a volume at its target', async () => {
    const runtime = createContainerRuntime({ pull: 'never', killGraceMs: 500, cancelGraceMs: 300, progressPollMs: 50 });
    const data = await folder('container');
    const run = await setup({ image: IMAGE, run: 'echo "in a container" > /mnt/efs/c && cat /mnt/efs/c', mounts: [mount(data)] }, { executionId: `fs${Date.now()}` });
    expect(await runtime.run(run.request)).toMatchObject({ state: 'SUCCEEDED' });
    expect(await readFile(join(data, 'c'), 'utf8')).toBe('in a container\n');
  });
});
