/**
 * Artifact stores keep the files executions leave in `outputs/`. The folder store is the default;
 * an S3-compatible store can implement the same interface.
 */
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { dirname, join, normalize, sep } from 'node:path';
import type { Readable } from 'node:stream';

export interface ArtifactStore {
  /** Copies a local file in as `<jobId>/<executionId>/<path>`; returns its size in bytes. */
  put(params: { jobId: string; executionId: string; path: string; source: string }): Promise<number>;
  open(params: { jobId: string; executionId: string; path: string }): Promise<Readable>;
  deleteJob(jobId: string): Promise<void>;
}

export class FolderArtifactStore implements ArtifactStore {
  constructor(private readonly root: string) {}

  private pathOf(jobId: string, executionId: string, path: string): string {
    const clean = normalize(path);
    if (clean.startsWith('..') || clean.startsWith(sep)) throw new Error(`artifact path escapes its folder: ${path}`);
    return join(this.root, jobId, executionId, clean);
  }

  /** Refuses a source that is a symlink or not a regular file (O_NOFOLLOW, then fstat). */
  async put(params: { jobId: string; executionId: string; path: string; source: string }): Promise<number> {
    const target = this.pathOf(params.jobId, params.executionId, params.path);
    const handle = await open(params.source, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new Error(`artifact ${params.path} is not a regular file`);
      // Others' artifacts are private: owner-only folders and files, whatever the umask.
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      await pipeline(handle.createReadStream({ autoClose: false }), createWriteStream(target, { mode: 0o600 }));
      return info.size;
    } finally {
      await handle.close();
    }
  }

  async open(params: { jobId: string; executionId: string; path: string }): Promise<Readable> {
    return createReadStream(this.pathOf(params.jobId, params.executionId, params.path));
  }

  async deleteJob(jobId: string): Promise<void> {
    await rm(join(this.root, jobId), { recursive: true, force: true });
  }
}
