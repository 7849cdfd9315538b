/**
 * Reading and writing inside a folder that a task controls, never following a link out of it.
 *
 * The worker reads outputs and the result with its own rights after the task ran, and a process
 * the task left behind (or a container) may still be swapping things. So every step goes by
 * descriptor: a folder is opened with O_DIRECTORY|O_NOFOLLOW relative to its parent's open
 * descriptor, a file with O_NOFOLLOW relative to its folder's. Node has no openat(), but on Linux
 * `/proc/self/fd/<fd>/<name>` is resolved by the kernel from the descriptor itself, whatever has
 * become of the path it was opened by. A link anywhere (the folder itself, a folder inside, the
 * last name, or one swapped in between two steps) fails the open with ELOOP or ENOTDIR and is
 * never followed. Names come from readdir or are split on `/` with `.`, `..` and empty parts
 * refused, so a name such as `..foo` is an ordinary name.
 *
 * Without /proc (not Linux), each step goes by path, and every folder's identity (device and inode)
 * is checked again after each open, which catches a folder replaced by a link before that open.
 */
import { constants, existsSync, type Stats } from 'node:fs';
import { lstat, open, opendir, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;
const FOLDER_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;
// O_NONBLOCK: opening a FIFO the task left must not hang the worker.
const READ_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
const CREATE_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK;

let procFdUsable: boolean | undefined;

function byDescriptor(): boolean {
  procFdUsable ??= process.platform === 'linux' && existsSync('/proc/self/fd');
  return procFdUsable;
}

/** @internal For tests: walk by path, as where /proc is missing (false), or choose again (undefined). */
export function _walkByDescriptor(use: boolean | undefined): void {
  procFdUsable = use;
}

/** A link (ELOOP, EMLINK on BSD), not a folder or file of the kind asked (ENOTDIR, EISDIR, ENXIO for a FIFO), or gone. */
const NOT_A_PLAIN_ENTRY = new Set(['ELOOP', 'ENOTDIR', 'ENOENT', 'EMLINK', 'ENXIO', 'EISDIR']);

function isNotAPlainEntry(error: unknown): boolean {
  return NOT_A_PLAIN_ENTRY.has((error as NodeJS.ErrnoException).code ?? '');
}

class FolderChangedError extends Error {
  constructor(path: string) {
    super(`${path} was replaced while the worker was reading it`);
    this.name = 'FolderChangedError';
  }
}

/** An open folder; everything below it is reached through its descriptor. */
export class HeldFolder {
  private constructor(
    private readonly handle: FileHandle,
    /** For messages, and the lookups by path where /proc is missing. */
    readonly path: string,
    private readonly identity: Stats,
    private readonly parent: HeldFolder | null,
  ) {}

  /** Opens `path`, which must be a real folder and not a link; the path up to it is the worker's own. */
  static async open(path: string): Promise<HeldFolder> {
    const handle = await open(path, FOLDER_FLAGS);
    try {
      return new HeldFolder(handle, path, await handle.stat(), null);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** The folder `name` inside this one, or null when it is absent, a link or not a folder. */
  async folder(name: string): Promise<HeldFolder | null> {
    const handle = await this.openChild(name, FOLDER_FLAGS);
    if (!handle) return null;
    try {
      return new HeldFolder(handle, join(this.path, name), await handle.stat(), this);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** The regular file `name` opened for reading, or null when it is absent, a link or anything else. */
  async file(name: string): Promise<{ handle: FileHandle; size: number } | null> {
    const handle = await this.openChild(name, READ_FLAGS);
    if (!handle) return null;
    try {
      const info = await handle.stat();
      if (info.isFile()) return { handle, size: info.size };
    } catch (error) {
      await handle.close();
      throw error;
    }
    await handle.close();
    return null;
  }

  /** Replaces whatever `name` is (a file, a link, a FIFO) with a new regular file holding `content`. */
  async writeFile(name: string, content: string, mode: number): Promise<void> {
    checkName(name);
    await unlink(this.childPath(name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    const handle = await open(this.childPath(name), CREATE_FLAGS, mode);
    try {
      await this.checkUnmoved();
      await handle.writeFile(content);
      await handle.chmod(mode);
    } finally {
      await handle.close();
    }
  }

  /** The names in this folder, read a few at a time; what each is must be checked when it is opened. */
  async *names(): AsyncGenerator<string> {
    const dir = await opendir(this.ownPath(), { bufferSize: 256 });
    try {
      await this.checkUnmoved();
      for (let entry = await dir.read(); entry; entry = await dir.read()) yield entry.name;
    } finally {
      await dir.close();
    }
  }

  /** lstat of `name`, which describes a link rather than what it points at. */
  async describe(name: string): Promise<Stats | null> {
    checkName(name);
    try {
      const info = await lstat(this.childPath(name));
      await this.checkUnmoved();
      return info;
    } catch (error) {
      if (isNotAPlainEntry(error)) return null;
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  private async openChild(name: string, flags: number): Promise<FileHandle | null> {
    checkName(name);
    let handle: FileHandle;
    try {
      handle = await open(this.childPath(name), flags);
    } catch (error) {
      if (isNotAPlainEntry(error)) return null;
      throw error;
    }
    try {
      await this.checkUnmoved();
    } catch (error) {
      await handle.close();
      throw error;
    }
    return handle;
  }

  private ownPath(): string {
    return byDescriptor() ? `/proc/self/fd/${this.handle.fd}` : this.path;
  }

  private childPath(name: string): string {
    return `${this.ownPath()}/${name}`;
  }

  /** By path only: every folder between the root and here must still be the one that was opened. */
  private async checkUnmoved(): Promise<void> {
    if (byDescriptor() || !this.parent) return;
    const now = await lstat(this.path).catch(() => null);
    if (!now || now.dev !== this.identity.dev || now.ino !== this.identity.ino) throw new FolderChangedError(this.path);
    await this.parent.checkUnmoved();
  }
}

function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new Error(`"${name}" is not a file name`);
  }
}

/** `a/b/c` → ['a', 'b', 'c'], refusing absolute paths and `.`/`..` parts. */
function namesOf(relativePath: string): string[] {
  const names = relativePath.split('/');
  for (const name of names) checkName(name);
  return names;
}

/**
 * Runs `use` with the folder at `relativePath` under `root`, or returns null when some part of the
 * way is absent, a link or not a folder. Every folder opened on the way is closed afterwards.
 */
export async function withFolder<T>(root: string, relativePath: string, use: (folder: HeldFolder) => Promise<T>): Promise<T | null> {
  const opened: HeldFolder[] = [];
  try {
    let folder: HeldFolder | null = await HeldFolder.open(root);
    opened.push(folder);
    for (const name of relativePath === '' ? [] : namesOf(relativePath)) {
      folder = await folder.folder(name);
      if (!folder) return null;
      opened.push(folder);
    }
    return await use(folder);
  } finally {
    await Promise.all(opened.map((folder) => folder.close()));
  }
}

/** Splits `a/b/file` into the folder part and the name. */
export function splitPath(relativePath: string): { folder: string; name: string } {
  const cut = relativePath.lastIndexOf('/');
  return cut < 0 ? { folder: '', name: relativePath } : { folder: relativePath.slice(0, cut), name: relativePath.slice(cut + 1) };
}
