/**
 * A task must not get a host file into its artifacts or its result through a link: not by turning
 * outputs/ into a link, nor .barge/ (where the result file lives), nor a folder deep inside
 * outputs/, nor by swapping a link in while the worker collects. The "host" here is a folder the
 * task is not given, holding a secret; every check looks for the secret in what came out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FolderArtifactStore, type ArtifactStore } from '../../src/artifacts/artifacts.js';
import { collectOutputs, DEFAULT_OUTPUT_LIMITS, OutputLimitError } from '../../src/worker/outputs.js';
import { _walkByDescriptor } from '../../src/worker/runtimes/held-folder.js';
import { createShellRuntime } from '../../src/worker/runtimes/shell.js';
import { findExecutable } from '../../src/worker/runtimes/sandbox.js';
import { readRegularFile } from '../../src/worker/runtimes/workspace.js';
import { collect, removeFolders, setup } from './helpers.js';

const SECRET = 'admin-token-do-not-leak';
const HAS_BWRAP = findExecutable('bwrap', process.env.PATH ?? '') !== null;
let host: string;

beforeAll(() => {
  host = mkdtempSync(join(tmpdir(), 'barge-host-secrets-'));
  writeFileSync(join(host, 'credentials.json'), JSON.stringify({ token: SECRET }));
  writeFileSync(join(host, 'output'), SECRET);
  mkdirSync(join(host, 'deeper'));
  writeFileSync(join(host, 'deeper', 'barge.db'), SECRET);
});

afterAll(() => rmSync(host, { recursive: true, force: true }));
afterEach(removeFolders);

function expectNoSecret(value: unknown): void {
  expect(JSON.stringify(value)).not.toContain(SECRET);
}

describe.each([
  { isolation: 'none' as const, run: true },
  { isolation: 'bwrap' as const, run: HAS_BWRAP },
])('links out of the work folder, isolation $isolation', ({ isolation, run }) => {
  const shell = createShellRuntime({ isolation, limits: 'none', killGraceMs: 300, cancelGraceMs: 200 });

  it.runIf(run)('a symlinked outputs/ is not followed', async () => {
    const { request, workDir, lines } = await setup({ run: `rm -rf outputs && ln -s ${host} outputs && echo linked` });
    expect(await shell.run(request)).toMatchObject({ state: 'SUCCEEDED' });
    expect(lines('stdout')).toEqual(['linked']);
    const collected = await collect(workDir);
    expect(collected).toEqual({ paths: [], skipped: ['outputs'], files: {} });
  });

  it.runIf(run)('a symlinked .barge/ does not make a host file the result', async () => {
    const { request } = await setup({ run: `mv .barge .barge-old && ln -s ${host} .barge && echo moved` });
    const outcome = await shell.run(request);
    expect(outcome).toMatchObject({ state: 'SUCCEEDED', result: null });
    expectNoSecret(outcome);
  });

  it.runIf(run)('a folder link deep inside outputs/ is skipped, the real files beside it are kept', async () => {
    const { request, workDir } = await setup({
      run: `mkdir -p outputs/a/b && echo kept > outputs/a/b/..foo && ln -s ${host} outputs/a/b/c && ln -s ${host}/credentials.json outputs/a/cred`,
    });
    expect((await shell.run(request)).state).toBe('SUCCEEDED');
    const collected = await collect(workDir);
    expect(collected).toEqual({ paths: ['a/b/..foo'], skipped: ['outputs/a/b/c', 'outputs/a/cred'], files: { 'a/b/..foo': 'kept\n' } });
  });
});

describe.each([
  { walk: 'by descriptor', byDescriptor: true },
  { walk: 'by path, where /proc is missing', byDescriptor: false },
])('a link swapped in after the task ended, walking $walk', ({ byDescriptor }) => {
  beforeEach(() => _walkByDescriptor(byDescriptor));
  afterEach(() => _walkByDescriptor(undefined));

  /** Files a task left: outputs/sub/one.txt, outputs/sub/two.txt, and its result. */
  async function leftBehind(): Promise<string> {
    const { workDir } = await setup({});
    await mkdir(join(workDir, 'outputs', 'sub'), { recursive: true });
    await mkdir(join(workDir, '.barge'));
    await writeFile(join(workDir, 'outputs', 'sub', 'one.txt'), 'one');
    await writeFile(join(workDir, 'outputs', 'sub', 'two.txt'), 'two');
    await writeFile(join(workDir, '.barge', 'output'), 'result');
    return workDir;
  }

  it('between measuring and copying, or between two files, gets nothing from the link', async () => {
    const workDir = await leftBehind();
    const root = mkdtempSync(join(tmpdir(), 'barge-artifacts-test-'));
    const folder = new FolderArtifactStore(root);
    let swapped = false;
    // The first stored file swaps outputs/ and outputs/sub for links, as a leftover process could.
    const store: ArtifactStore = {
      put: async (params) => {
        const size = await folder.put(params);
        if (!swapped) {
          swapped = true;
          await rename(join(workDir, 'outputs', 'sub'), join(workDir, 'old-sub'));
          await symlink(host, join(workDir, 'outputs', 'sub'));
          await rename(join(workDir, 'outputs'), join(workDir, 'old-outputs'));
          await symlink(host, join(workDir, 'outputs'));
        }
        return size;
      },
      open: (params) => folder.open(params),
      deleteJob: (jobId) => folder.deleteJob(jobId),
    };
    try {
      const collected = collectOutputs({ workDir, jobId: 'j', executionId: 'e', store, limits: DEFAULT_OUTPUT_LIMITS });
      if (byDescriptor) {
        // Whatever was copied came from the folder that was held open, never from the links.
        const { artifacts } = await collected;
        expect(artifacts.map((a) => a.path).sort()).toEqual(['sub/one.txt', 'sub/two.txt']);
        expectNoSecret(artifacts);
      } else {
        // By path, what was swapped away is missed (or the walk fails); nothing comes through the link.
        const { artifacts } = await collected;
        expect(artifacts).toHaveLength(1);
        expect(['sub/one.txt', 'sub/two.txt']).toContain(artifacts[0]?.path);
        expectNoSecret(artifacts);
        expectNoSecret(readdirSync(join(root, 'j', 'e'), { recursive: true }));
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('while a leftover process keeps swapping links, nothing of the host comes out', async () => {
    const workDir = await leftBehind();
    const script = [
      'cd "$1"',
      'while true; do',
      '  mv outputs/sub outputs/real 2>/dev/null; ln -sfn "$2" outputs/sub 2>/dev/null',
      '  rm -f outputs/sub; mv outputs/real outputs/sub 2>/dev/null',
      '  mv .barge .barge-real 2>/dev/null; ln -sfn "$2" .barge 2>/dev/null',
      '  rm -f .barge; mv .barge-real .barge 2>/dev/null',
      'done',
    ].join('\n');
    const swapper: ChildProcess = spawn('bash', ['-c', script, 'swapper', workDir, host], { stdio: 'ignore' });
    try {
      for (let round = 0; round < 40; round++) {
        // A walk by path may notice a swap and fail; neither way lets the host file out.
        const collected = await collect(workDir).catch((error: unknown) => expectChanged(error, byDescriptor));
        expectNoSecret(collected);
        const result = await readRegularFile(workDir, '.barge/output', 1024).catch((error: unknown) => expectChanged(error, byDescriptor));
        expect([null, 'result']).toContain(result);
      }
    } finally {
      swapper.kill('SIGKILL');
    }
  });
});

/** Walking by path, a folder swapped mid-walk may fail the walk (the execution then fails); by descriptor never. */
function expectChanged(error: unknown, byDescriptor: boolean): null {
  expect(byDescriptor).toBe(false);
  expect(error).toBeInstanceOf(Error);
  expectNoSecret((error as Error).message);
  return null;
}

describe('output limits', () => {
  it('fails over the file count, storing nothing', async () => {
    const { workDir } = await setup({});
    await mkdir(join(workDir, 'outputs', 'many'), { recursive: true });
    for (let i = 0; i < 6; i++) await writeFile(join(workDir, 'outputs', 'many', `f${i}`), 'x');
    const error = await collect(workDir, { maxFiles: 5, maxBytes: 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutputLimitError);
    expect((error as Error).message).toBe('outputs exceed the limit of 5 files per execution');
    expect(await collect(workDir, { maxFiles: 6, maxBytes: 1000 })).toMatchObject({ paths: expect.arrayContaining(['many/f5']) });
  });

  it('fails over the byte count', async () => {
    const { workDir } = await setup({});
    await mkdir(join(workDir, 'outputs'));
    await writeFile(join(workDir, 'outputs', 'a'), Buffer.alloc(600));
    await writeFile(join(workDir, 'outputs', 'b'), Buffer.alloc(600));
    await expect(collect(workDir, { maxFiles: 10, maxBytes: 1000 })).rejects.toThrow('outputs exceed the limit of 1000 bytes per execution');
    await expect(collect(workDir, { maxFiles: 10, maxBytes: 2 * 1024 * 1024 })).resolves.toMatchObject({ paths: ['a', 'b'] });
  });
});
