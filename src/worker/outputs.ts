/**
 * Collecting an execution's `outputs/` folder into the artifact store, after the task ran and with
 * the worker's rights: every file is reached by descriptor without following a link (see
 * runtimes/held-folder.ts), so a task that turns `outputs`, a folder inside it or a file into a
 * link to a host file (the server's database, a token) gets nothing out of it. Links and special
 * files are skipped and named, so the task's log says why they are missing.
 *
 * The folder is measured before anything is copied: more files or bytes than the limits allow
 * throw an OutputLimitError that says which limit (the execution fails with it), and nothing is
 * stored. Copying counts again, since a process the task left may still be writing; each file is
 * copied as large as it was when opened.
 */
import { lstatSync, readdirSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ArtifactRow } from '../core/model.js';
import type { ArtifactStore } from '../artifacts/artifacts.js';
import { HeldFolder, withFolder } from './runtimes/held-folder.js';

export interface OutputLimits {
  /** Files kept per execution. (Default: 10,000) */
  maxFiles: number;
  /** Bytes kept per execution, all files together. (Default: 1 GiB) */
  maxBytes: number;
}

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = { maxFiles: 10_000, maxBytes: 1024 * 1024 * 1024 };

export const OUTPUTS_FOLDER = 'outputs';

export class OutputLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputLimitError';
  }
}

export interface CollectedOutputs {
  artifacts: ArtifactRow[];
  /** `outputs` or paths under it that were links or special files, and so not collected. */
  skipped: string[];
}

/**
 * Most tasks leave nothing: no `outputs`, or an empty folder. Two small reads spare them the walk
 * by descriptor; synchronous, as they take microseconds and the thread pool may be queued up with
 * every running execution's work. A link takes the careful way (which names it as skipped); a
 * link swapped in after the lstat can only list something, which takes the careful way too, or
 * nothing, which is what there is to collect.
 */
function nothingToCollect(path: string): boolean {
  try {
    if (!lstatSync(path).isDirectory()) return false;
    return readdirSync(path).length === 0;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

interface Target {
  workDir: string;
  jobId: string;
  executionId: string;
  store: ArtifactStore;
  limits: OutputLimits;
}

export async function collectOutputs(target: Target): Promise<CollectedOutputs> {
  if (nothingToCollect(join(target.workDir, OUTPUTS_FOLDER))) return { artifacts: [], skipped: [] };
  const collected = await withFolder(target.workDir, '', async (workDir) => {
    const outputs = await workDir.folder(OUTPUTS_FOLDER);
    if (!outputs) return { artifacts: [], skipped: (await workDir.describe(OUTPUTS_FOLDER)) ? [OUTPUTS_FOLDER] : [] };
    try {
      const skipped: string[] = [];
      // First measure, so that a folder over the limits stores nothing at all.
      const measured = new Budget(target.limits);
      await walk(outputs, '', async (folder, name, path) => {
        const info = await folder.describe(name);
        if (info?.isFile()) measured.add(info.size);
        else if (info) skipped.push(`${OUTPUTS_FOLDER}/${path}`);
      });
      const copied = new Budget(target.limits);
      const artifacts: ArtifactRow[] = [];
      await walk(outputs, '', async (folder, name, path) => {
        const file = await folder.file(name);
        if (!file) return;
        try {
          copied.add(file.size);
          const content = sizedStream(file.handle, file.size);
          const size = await target.store.put({ jobId: target.jobId, executionId: target.executionId, path, content });
          artifacts.push({ executionId: target.executionId, jobId: target.jobId, path, size, createdAt: new Date().toISOString() });
        } finally {
          await file.handle.close();
        }
      });
      return { artifacts, skipped };
    } finally {
      await outputs.close();
    }
  });
  return collected ?? { artifacts: [], skipped: [] };
}

class Budget {
  private files = 0;
  private bytes = 0;

  constructor(private readonly limits: OutputLimits) {}

  add(size: number): void {
    this.files += 1;
    this.bytes += size;
    if (this.files > this.limits.maxFiles) {
      throw new OutputLimitError(`outputs exceed the limit of ${this.limits.maxFiles} files per execution`);
    }
    if (this.bytes > this.limits.maxBytes) {
      throw new OutputLimitError(`outputs exceed the limit of ${formatBytes(this.limits.maxBytes)} per execution`);
    }
  }
}

type Visit = (folder: HeldFolder, name: string, path: string) => Promise<void>;

/** Depth first; `visit` gets every entry that is not a folder (links to folders included). */
async function walk(folder: HeldFolder, prefix: string, visit: Visit): Promise<void> {
  for await (const name of folder.names()) {
    const path = prefix === '' ? name : `${prefix}/${name}`;
    const inner = await folder.folder(name);
    if (!inner) {
      await visit(folder, name, path);
      continue;
    }
    try {
      await walk(inner, path, visit);
    } finally {
      await inner.close();
    }
  }
}

/** The first `size` bytes of an open file; the handle stays open for its owner to close. */
function sizedStream(handle: FileHandle, size: number): Readable {
  if (size === 0) return Readable.from([]);
  return handle.createReadStream({ start: 0, end: size - 1, autoClose: false });
}

function formatBytes(bytes: number): string {
  const mib = 1024 * 1024;
  return bytes % mib === 0 ? `${bytes / mib} MiB` : `${bytes} bytes`;
}
