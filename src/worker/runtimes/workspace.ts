/**
 * The work folder: task files in, the result out. Every name a task supplies is checked to stay
 * inside the folder, and nothing a script left behind is followed through a link (see
 * held-folder.ts), since the worker reads these files with its own rights after the sandbox is gone.
 */
import { lstatSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { splitPath, withFolder } from './held-folder.js';

/** A spec value the runtime will not act on; becomes a FAILED outcome with `reason`. */
export class SpecRefusal extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'SpecRefusal';
  }
}

/** `base/name`, refusing absolute names and any that climb out of `base` (`../x`, `a/../../x`). */
export function resolveInside(base: string, name: string, what: string): string {
  if (name === '' || name.includes('\0')) throw new SpecRefusal(`${what} "${name}" is not a valid path`, `invalid: ${what}`);
  if (isAbsolute(name)) throw new SpecRefusal(`${what} "${name}" must be a relative path`, `invalid: ${what}`);
  const full = resolve(base, name);
  const rel = relative(base, full);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new SpecRefusal(`${what} "${name}" leaves the work folder`, `invalid: ${what}`);
  }
  return full;
}

/** Writes `files` (name → content) under `base`, creating folders as needed. */
export async function writeTaskFiles(base: string, files: Record<string, string> | undefined): Promise<void> {
  for (const [name, content] of Object.entries(files ?? {})) {
    const path = resolveInside(base, name, 'files');
    if (path === base) throw new SpecRefusal(`files "${name}" names the work folder itself`, 'invalid: files');
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content, { mode: 0o644 });
  }
}

export class ResultTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`result is larger than ${limitBytes} bytes`);
    this.name = 'ResultTooLargeError';
  }
}

/**
 * The content of the regular file at `relativePath` under `root`, or null when there is none.
 * Follows no link on the way (a script could point its output, or the folder holding it, at a file
 * only the worker may read) and refuses files over `maxBytes`.
 */
export async function readRegularFile(root: string, relativePath: string, maxBytes: number): Promise<string | null> {
  if (surelyAbsent(join(root, relativePath))) return null;
  const { folder, name } = splitPath(relativePath);
  const content = await withFolder(root, folder, async (held) => {
    const file = await held.file(name);
    if (!file) return null;
    try {
      if (file.size > maxBytes) throw new ResultTooLargeError(maxBytes);
      const buffer = Buffer.alloc(file.size);
      const { bytesRead } = await file.handle.read(buffer, 0, file.size, 0);
      return buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await file.handle.close();
    }
  });
  return content ?? null;
}

/**
 * Most tasks write no result and no progress: one lstat, synchronous as it takes microseconds
 * where the thread pool may be queued up, spares them the walk by descriptor. Only "nothing there"
 * is trusted (a link on the way leads elsewhere, where the careful walk would find nothing either).
 */
function surelyAbsent(path: string): boolean {
  try {
    lstatSync(path);
    return false;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR';
  }
}

/** Writes `content` to `relativePath` under `root`, replacing a link or file there rather than writing through it. */
export async function replaceFile(root: string, relativePath: string, content: string, mode: number): Promise<void> {
  const { folder, name } = splitPath(relativePath);
  const written = await withFolder(root, folder, async (held) => {
    await held.writeFile(name, content, mode);
    return true;
  });
  if (!written) throw new Error(`${folder} is no longer a folder of the work folder`);
}

/** A copy of `env`, refusing names and values a process environment cannot hold. */
export function checkedEnv(env: Record<string, string> | undefined, what: string): Record<string, string> {
  for (const [name, value] of Object.entries(env ?? {})) {
    if (name === '' || name.includes('=') || name.includes('\0')) {
      throw new SpecRefusal(`${what} name "${name}" is not a valid variable name`, `invalid: ${what}`);
    }
    if (typeof value !== 'string' || value.includes('\0')) {
      throw new SpecRefusal(`${what} ${name} must be a string without NUL characters`, `invalid: ${what}`);
    }
  }
  return { ...env };
}

/** A copy of `args`, refusing values a command line cannot hold. */
export function checkedArgs(args: string[] | undefined): string[] {
  for (const arg of args ?? []) {
    if (typeof arg !== 'string' || arg.includes('\0')) {
      throw new SpecRefusal('args must be strings without NUL characters', 'invalid: args');
    }
  }
  return [...(args ?? [])];
}
