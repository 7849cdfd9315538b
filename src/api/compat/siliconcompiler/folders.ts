/**
 * The face's work folder, laid out as sc-server's `-nfsmount` (reference §4.2, §6):
 *
 *   <root>/.gitignore                      `*`, as sc-server writes it
 *   <root>/.staging/                       uploads while they arrive; emptied on every outcome
 *   <root>/<hash>/barge-job.json           which barge job this is, its owner and its nodes
 *   <root>/<hash>/<design>/<jobname>/      the extracted upload, the job manifest, and each
 *                                          finished node's folder <step>/<index>/
 *   <root>/<hash>/<hash>_None.tar.gz       setup archive
 *   <root>/<hash>/<hash>_<step><index>.tar.gz   node archives
 *
 * Uploads are hostile: extraction refuses absolute names, `..`, links, devices and other special
 * entries, more files or unpacked bytes than the limits, and anything that is not a gzip'd tar; it
 * writes only after the whole archive was read and found clean. Archives barge writes hold only
 * folders and regular files, so nothing a task left (a link to a host file) travels out.
 */
import { randomUUID } from 'node:crypto';
import { constants, createWriteStream, Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { c as createTar, t as listTar, x as extractTar, type ReadEntry } from 'tar';
import type { FlowNode } from './manifest.js';

export interface JobRecord {
  jobId: string;
  owner: string;
  design: string;
  jobname: string;
  nodes: FlowNode[];
  /** Per node key, the status the uploaded manifest recorded (shown as `uploaded` until it runs). */
  recorded: Record<string, string>;
}

export class ScFolders {
  constructor(readonly root: string) {}

  async prepare(): Promise<void> {
    await mkdir(this.staging, { recursive: true, mode: 0o700 });
    await writeFile(join(this.root, '.gitignore'), '*\n');
  }

  get staging(): string {
    return join(this.root, '.staging');
  }

  /** A fresh, private folder under the staging area. */
  async stagingFolder(): Promise<string> {
    const folder = join(this.staging, randomUUID());
    await mkdir(folder, { mode: 0o700 });
    return folder;
  }

  job(hash: string): string {
    return join(this.root, hash);
  }

  jobDir(hash: string, design: string, jobname: string): string {
    return join(this.root, hash, design, jobname);
  }

  /** `<hash>_<node>.tar.gz`; `None` (Python's text for no node) names the setup archive. */
  archive(hash: string, node: string | null): string {
    return join(this.root, hash, `${hash}_${node ?? 'None'}.tar.gz`);
  }

  /** sc-server's delete also removes `<root>/<hash>.tar.gz` (a whole-job archive of older servers). */
  legacyArchive(hash: string): string {
    return join(this.root, `${hash}.tar.gz`);
  }

  async readRecord(hash: string): Promise<JobRecord | null> {
    try {
      return JSON.parse(await readFile(join(this.root, hash, RECORD_FILE), 'utf8')) as JobRecord;
    } catch {
      return null;
    }
  }

  async writeRecord(hash: string, record: JobRecord): Promise<void> {
    const path = join(this.root, hash, RECORD_FILE);
    await writeFile(`${path}.tmp`, JSON.stringify(record));
    await rename(`${path}.tmp`, path);
  }
}

const RECORD_FILE = 'barge-job.json';

export interface ExtractLimits {
  maxFiles: number;
  maxBytes: number;
}

/** An upload refused for what it holds; the message names the entry and the rule. */
export class UploadRefused extends Error {}

const REGULAR_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/** The client stores its job folder's root as `/` (Python reads it as ''); that one entry is allowed. */
function isRootEntry(path: string): boolean {
  return path === '' || path === '/' || path === '.' || path === './';
}

/** Why an entry may not be extracted, or null. */
function refusal(entry: Pick<ReadEntry, 'path' | 'type'>): string | null {
  const path = entry.path;
  if (path.includes('\0')) return `entry ${JSON.stringify(path)} has a NUL in its name`;
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.startsWith('\\')) return `entry ${JSON.stringify(path)} is an absolute path`;
  if (path.split(/[/\\]/).includes('..')) return `entry ${JSON.stringify(path)} climbs out of the job folder (..)`;
  if (entry.type === 'SymbolicLink' || entry.type === 'Link') return `entry ${JSON.stringify(path)} is a link; links are not accepted`;
  if (entry.type !== 'Directory' && !REGULAR_TYPES.has(entry.type)) return `entry ${JSON.stringify(path)} is a ${entry.type}; only files and folders are accepted`;
  return null;
}

/**
 * Checks a gzip'd tar completely (names, types, file count, unpacked bytes) and only then
 * extracts it into `dest`. Throws UploadRefused naming the first problem; nothing is written then.
 */
export async function extractUpload(file: string, dest: string, limits: ExtractLimits): Promise<void> {
  let files = 0;
  let bytes = 0;
  let problem: string | null = null;
  try {
    await listTar({
      file,
      strict: true,
      onReadEntry: (entry) => {
        if (problem || isRootEntry(entry.path)) return;
        problem = refusal(entry);
        files += 1;
        bytes += entry.size ?? 0;
        if (!problem && files > limits.maxFiles) problem = `the archive holds more than ${limits.maxFiles} entries`;
        if (!problem && bytes > limits.maxBytes) problem = `the archive unpacks to more than ${limits.maxBytes} bytes`;
      },
    });
  } catch (error) {
    throw new UploadRefused(`the import is not a readable tar.gz archive (${(error as Error).message})`);
  }
  if (problem) throw new UploadRefused(problem);
  await mkdir(dest, { recursive: true });
  await extractTar({
    file,
    cwd: dest,
    strict: true,
    preserveOwner: false,
    // Checked above; checked again here so a mistake above cannot let a link through.
    filter: (path, entry) => !isRootEntry(path) && refusal(entry as ReadEntry) === null,
  });
}

/**
 * Extracts an archive barge wrote itself (a node's results) into `dest`, skipping whatever is not
 * a plain file or folder, as a second guard.
 */
export async function extractOwnArchive(file: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  await extractTar({ file, cwd: dest, preserveOwner: false, filter: (_path, entry) => refusal(entry as ReadEntry) === null });
}

/** Writes a gzip'd tar of `members` (paths relative to `cwd`): folders and regular files only. */
export async function writeArchive(file: string, cwd: string, members: string[]): Promise<void> {
  const partial = `${file}.${randomUUID()}.part`;
  try {
    await createTar(
      { file: partial, cwd, gzip: true, portable: true, follow: false, filter: (_path, entry) => entry instanceof Stats && (entry.isFile() || entry.isDirectory()) },
      members,
    );
    await rename(partial, file);
  } finally {
    await rm(partial, { force: true });
  }
}

/**
 * Copies the tree `from` (a folder a task wrote) to `to` as folders and regular files, never
 * following a link: links, devices and sockets are left out. A file with several names
 * (SiliconCompiler hard-links a node's input manifest to its output) is copied when all its names
 * are inside the tree, each name as a file of its own; a file with a name elsewhere could be a
 * host file linked in, and is left out. Returns the paths left out, for the node's log.
 */
export async function copyPlain(from: string, to: string): Promise<string[]> {
  const names = await namesInside(from);
  const left: string[] = [];
  const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;
  const copy = async (source: string, target: string, shown: string): Promise<void> => {
    const info = await lstat(source);
    if (info.isDirectory()) {
      await mkdir(target, { recursive: true });
      for (const name of await readdir(source)) await copy(join(source, name), join(target, name), join(shown, name));
      return;
    }
    if (!info.isFile() || info.nlink !== names.get(`${info.dev}:${info.ino}`)) {
      left.push(shown);
      return;
    }
    const handle = await open(source, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    try {
      await pipeline(handle.createReadStream({ autoClose: false }), createWriteStream(target, { flags: 'wx', mode: 0o644 }));
    } finally {
      await handle.close();
    }
  };
  await copy(from, to, '.');
  return left;
}

/** Per file identity (`dev:ino`), how many of its names are in the tree. */
async function namesInside(root: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const walk = async (path: string): Promise<void> => {
    const info = await lstat(path);
    const identity = `${info.dev}:${info.ino}`;
    if (info.isFile()) counts.set(identity, (counts.get(identity) ?? 0) + 1);
    if (!info.isDirectory()) return;
    for (const name of await readdir(path)) await walk(join(path, name));
  };
  await walk(root);
  return counts;
}

/** The size of a regular file (a results archive), or null when there is none. */
export async function fileSize(path: string): Promise<number | null> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : null;
  } catch {
    return null;
  }
}
