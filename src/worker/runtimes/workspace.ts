/**
 * The work folder: task files in, outputs and the result out. Every name a task supplies is checked
 * to stay inside the folder, and nothing a script left behind is followed through a symlink, since
 * the worker reads these files with its own rights after the sandbox is gone.
 */
import { constants } from 'node:fs';
import { mkdir, open, readdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

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

/** Regular files under `dir`, recursively, as sorted `/`-separated relative paths; symlinks are skipped. */
export async function listOutputs(dir: string): Promise<string[]> {
  const found: string[] = [];
  await collectFiles(dir, '', found);
  return found.sort();
}

async function collectFiles(dir: string, prefix: string, found: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return; // no outputs folder, or it was replaced by something unreadable: nothing to collect
  }
  for (const entry of entries) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) await collectFiles(join(dir, entry.name), rel, found);
    else if (entry.isFile()) found.push(rel);
  }
}

export class ResultTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`result is larger than ${limitBytes} bytes`);
    this.name = 'ResultTooLargeError';
  }
}

/**
 * The content of a regular file, or null when there is none. Refuses to follow a symlink (a script
 * could point its output at a file only the worker may read) and refuses files over `maxBytes`.
 */
export async function readRegularFile(path: string, maxBytes: number): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return null;
    if (info.size > maxBytes) throw new ResultTooLargeError(maxBytes);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
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
