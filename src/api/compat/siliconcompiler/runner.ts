/**
 * The face's node worker: an ordinary barge worker that serves only the SC queue and runs each
 * node in the shell runtime (sandbox and limits included) after putting the job into the task's
 * own work folder. A task sees nothing but that folder:
 *
 *   before: `<work>/<hash>/<design>/<jobname>/` ← a copy of the job folder (upload, job manifest,
 *           finished nodes' folders), so SiliconCompiler finds its inputs where it expects them;
 *   after:  `<work>/<hash>/<design>/<jobname>/<step>/<index>/` → the node archive
 *           `<hash>_<step><index>.tar.gz` (folders and regular files only), which is then unpacked
 *           into the job folder for the node's successors and kept as the execution's artifact.
 *
 * The archive is written before the end is reported, so a node that `check_progress` shows as done
 * has its results ready. A task on the SC queue that is not a node of an SC job (anyone can name a
 * queue in /v1) fails without seeing any job folder: the job folder's record must name the
 * execution's own job.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { cp, lstat, mkdir, open, rm } from 'node:fs/promises';
import { withFolder } from '../../../worker/runtimes/held-folder.js';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { JobRow } from '../../../core/model.js';
import type { Engine } from '../../../engine/engine.js';
import type { Runtime, RunOutcome, RunRequest } from '../../../worker/runtimes/runtime.js';
import { engineSource } from '../../../worker/source.js';
import { Worker } from '../../../worker/worker.js';
import { copyPlain, extractOwnArchive, writeArchive, type ScFolders } from './folders.js';
import { SC_QUEUE, scJobOf, type ScJobFacts } from './jobs.js';
import { nodeKey } from './manifest.js';

export class ScNodeRuntime implements Runtime {
  readonly name = 'siliconcompiler';

  constructor(
    private readonly shell: Runtime,
    private readonly folders: ScFolders,
    private readonly jobOf: (jobId: string) => Promise<JobRow | undefined>,
  ) {}

  async healthCheck(): Promise<void> {
    await this.shell.healthCheck();
  }

  describe(): Record<string, string | number | boolean> {
    return { ...this.shell.describe(), siliconcompiler: true };
  }

  async close(): Promise<void> {
    await this.shell.close?.();
  }

  async run(request: RunRequest): Promise<RunOutcome> {
    const env = request.spec.env ?? {};
    const record = scJobOf(await this.jobOf(request.jobId));
    if (!record || record.hash !== env.SC_HASH) return refused('this task is not a node of a SiliconCompiler job: the siliconcompiler queue runs only those');
    if (env.SC_STEP === undefined) return { state: 'SUCCEEDED', exitCode: 0, result: null, error: null, reason: null };
    const node = { step: env.SC_STEP, index: env.SC_INDEX ?? '' };
    const hash = record.hash;

    const jobDir = this.folders.jobDir(hash, record.design, record.jobname);
    try {
      await cp(jobDir, join(request.workDir, hash, record.design, record.jobname), { recursive: true, verbatimSymlinks: true });
    } catch (error) {
      return refused(`could not prepare the node's folder: ${(error as Error).message}`);
    }
    request.onLog('system', `siliconcompiler: job folder prepared at ${join(request.workDir, hash)}`);
    const outcome = await this.shell.run(request);
    try {
      await this.harvest(request, hash, record, nodeKey(node), join(node.step, node.index));
    } catch (error) {
      const message = `could not collect the node's results: ${(error as Error).message}`;
      request.onLog('system', message);
      if (outcome.state === 'SUCCEEDED') return { ...outcome, state: 'FAILED', error: message, reason: 'worker' };
    }
    return outcome;
  }

  /** The node's folder → its archive → the job folder (for successors) and the execution's outputs. */
  private async harvest(request: RunRequest, hash: string, record: ScJobFacts, key: string, nodePath: string): Promise<void> {
    const member = join(hash, record.design, record.jobname, nodePath);
    const archive = this.folders.archive(hash, key);
    // The task could have swapped any folder on the way (hash, design, jobname, step) for a link:
    // every component is checked, not only the last, so the copy never starts on the host.
    if ((await withFolder(request.workDir, member, async () => true)) !== true) {
      request.onLog('system', `siliconcompiler: the node left no folder ${nodePath}; no results archive`);
      return;
    }
    const plain = await this.folders.stagingFolder();
    try {
      const left = await copyPlain(join(request.workDir, member), join(plain, member));
      for (const path of left) request.onLog('system', `siliconcompiler: ${join(nodePath, path)} is a link or special file: not in the results`);
      await writeArchive(archive, plain, [member]);
    } finally {
      await rm(plain, { recursive: true, force: true });
    }
    await rm(join(this.folders.jobDir(hash, record.design, record.jobname), nodePath), { recursive: true, force: true });
    await extractOwnArchive(archive, this.folders.root);
    await keepAsArtifact(archive, request.workDir, `${key}.tar.gz`);
  }
}

function refused(error: string): RunOutcome {
  return { state: 'FAILED', exitCode: null, result: null, error, reason: 'invalid: siliconcompiler node' };
}

async function isRealFolder(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Copies the archive into the work folder's `outputs/`, which the worker collects as artifacts.
 * The task controlled that folder: an `outputs` that is a link is left alone, and the file is
 * created new, never written through an existing name.
 */
async function keepAsArtifact(archive: string, workDir: string, name: string): Promise<void> {
  const outputs = join(workDir, 'outputs');
  try {
    await mkdir(outputs);
  } catch {
    if (!(await isRealFolder(outputs))) return;
  }
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
  const handle = await open(join(outputs, name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644).catch(() => null);
  if (handle) await pipeline(createReadStream(archive), handle.createWriteStream());
}

export interface NodeWorkerOptions {
  engine: Engine;
  folders: ScFolders;
  /** The shell runtime the nodes run in (the server's sandbox and limits). */
  shell: Runtime;
  /** The process's own node id; the node worker's is derived from it, so a restart can release its work. */
  processNodeId: string;
  version: string;
  /** How many nodes run at once, as cpus. (Default: this machine's cpus) */
  cpus?: number;
  memoryMb?: number;
}

/** The node worker's id: stable for a data folder, distinct from the process's own worker. */
export function nodeWorkerId(processNodeId: string): string {
  return createHash('sha256').update(`siliconcompiler:${processNodeId}`).digest('hex').slice(0, 32);
}

export function createNodeWorker(options: NodeWorkerOptions): Worker {
  const runtime = new ScNodeRuntime(options.shell, options.folders, (id) => options.engine.store.jobGet(id));
  return new Worker({
    source: engineSource(options.engine),
    artifacts: options.engine.artifacts,
    nodeId: nodeWorkerId(options.processNodeId),
    name: 'siliconcompiler nodes',
    role: 'worker',
    version: options.version,
    workRoot: join(options.folders.root, '.work'),
    runtimes: { shell: runtime },
    // The node's info says how nodes run here (sandbox, limits), as the main worker's does.
    info: runtime.describe(),
    queues: [SC_QUEUE],
    cpus: options.cpus,
    memoryMb: options.memoryMb,
  });
}
