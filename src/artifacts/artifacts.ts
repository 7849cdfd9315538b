/**
 * Artifact stores keep the files executions leave in `outputs/`. The folder store is the default;
 * an S3-compatible store can implement the same interface.
 */
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
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

  async put(params: { jobId: string; executionId: string; path: string; source: string }): Promise<number> {
    const target = this.pathOf(params.jobId, params.executionId, params.path);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(params.source, target);
    return (await stat(target)).size;
  }

  async open(params: { jobId: string; executionId: string; path: string }): Promise<Readable> {
    return createReadStream(this.pathOf(params.jobId, params.executionId, params.path));
  }

  async deleteJob(jobId: string): Promise<void> {
    await rm(join(this.root, jobId), { recursive: true, force: true });
  }
}
