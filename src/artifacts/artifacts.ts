/**
 * Artifact stores keep the files executions leave in `outputs/`. The folder store is the default;
 * an S3-compatible store can implement the same interface.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { dirname, join, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';

export interface ArtifactStore {
  /** Stores `content` as `<jobId>/<executionId>/<path>`; returns its size in bytes. */
  put(params: { jobId: string; executionId: string; path: string; content: Readable }): Promise<number>;
  open(params: { jobId: string; executionId: string; path: string }): Promise<Readable>;
  deleteJob(jobId: string): Promise<void>;
  /**
   * Where the artifacts under `<jobId>/<executionId>/<path>` can be read from outside barge (a
   * `file://` folder, an `s3://` prefix), for APIs that hand out such a location. (Default: none)
   */
  urlOf?(params: { jobId: string; executionId: string; path: string }): string;
}

export class FolderArtifactStore implements ArtifactStore {
  constructor(private readonly root: string) {}

  /** `path` is `/`-separated and relative; `..foo` is a name like any other, `..` is refused. */
  private pathOf(jobId: string, executionId: string, path: string): string {
    const names = [jobId, executionId, ...path.split('/')];
    if (names.some((name) => name === '' || name === '.' || name === '..' || name.includes('\0') || name.includes(sep))) {
      throw new Error(`artifact path is not a plain relative path: ${path}`);
    }
    return join(this.root, ...names);
  }

  async put(params: { jobId: string; executionId: string; path: string; content: Readable }): Promise<number> {
    const target = this.pathOf(params.jobId, params.executionId, params.path);
    // Others' artifacts are private: owner-only folders and files, whatever the umask.
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    const file = createWriteStream(target, { mode: 0o600 });
    await pipeline(params.content, file);
    return file.bytesWritten;
  }

  async open(params: { jobId: string; executionId: string; path: string }): Promise<Readable> {
    return createReadStream(this.pathOf(params.jobId, params.executionId, params.path));
  }

  urlOf(params: { jobId: string; executionId: string; path: string }): string {
    return pathToFileURL(this.pathOf(params.jobId, params.executionId, params.path)).href;
  }

  async deleteJob(jobId: string): Promise<void> {
    await rm(join(this.root, jobId), { recursive: true, force: true });
  }
}
