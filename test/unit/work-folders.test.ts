import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkFolders } from '../../src/worker/work-folders.js';

let root: string;
let folders: WorkFolders;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'barge-work-folders-'));
  folders = new WorkFolders(join(root, 'work'));
});

afterEach(async () => {
  await folders.close();
  await rm(root, { recursive: true, force: true });
});

/** What a shell run leaves when the task itself leaves nothing. */
async function skeleton(path: string): Promise<void> {
  await mkdir(join(path, '.barge'));
  await mkdir(join(path, 'outputs'));
  await writeFile(join(path, '.barge', 'entrypoint.sh'), 'true');
  await writeFile(join(path, '.barge', 'output'), 'result');
}

describe('work folders', () => {
  it('gives a folder back for reuse when it holds only the skeleton, with the control files gone', async () => {
    const first = await folders.take();
    await skeleton(first);
    await folders.give(first);
    const second = await folders.take();
    expect(second).toBe(first);
    expect(await readdir(join(second, '.barge'))).toEqual([]);
    expect(await readdir(join(second, 'outputs'))).toEqual([]);
  });

  it.each([
    ['a file the task left', (path: string) => writeFile(join(path, 'left.txt'), 'x')],
    ['a file in outputs/', (path: string) => writeFile(join(path, 'outputs', 'a.txt'), 'x')],
    ['a folder in .barge/', (path: string) => mkdir(join(path, '.barge', 'sub'))],
    ['a link as outputs', async (path: string) => {
      await rm(join(path, 'outputs'), { recursive: true });
      await symlink(tmpdir(), join(path, 'outputs'));
    }],
    ['a folder writable by others', (path: string) => chmod(path, 0o777)],
    ['a set-gid outputs/', (path: string) => chmod(join(path, 'outputs'), 0o2755)],
  ])('removes a folder with %s, and makes a new one', async (_, change) => {
    const first = await folders.take();
    await skeleton(first);
    await change(first);
    await folders.give(first);
    const second = await folders.take();
    expect(second).not.toBe(first);
    await folders.close();
    expect(existsSync(first)).toBe(false);
  });

  it('removes the idle folders on close', async () => {
    const path = await folders.take();
    await folders.give(path);
    await folders.close();
    expect(existsSync(path)).toBe(false);
  });
});
