/**
 * The work folder as a container sees it. The execution's private folder is mounted at /tork
 * (Tork's convention) and holds:
 * - `entrypoint`: the `run` script of the step about to run (each step writes its own);
 * - `stdout`: `$TORK_OUTPUT` = `$BARGE_OUTPUT`, whose raw content becomes the result;
 * - `progress`: `$TORK_PROGRESS` = `$BARGE_PROGRESS`;
 * - `outputs/`: files left here become the execution's artifacts;
 * - `workdir/`: the task's `files`, and where it starts, when it names no `workdir`.
 *
 * A `workdir` outside /tork keeps what the image has there: each file is bound into it one by one
 * from `.barge/files/` instead of a folder being mounted over it.
 *
 * Tork's `mounts`: `volume` becomes a volume named after the execution, shared by its pre, main and
 * post containers and removed after; `tmpfs` a tmpfs in each container. `bind` is refused (see
 * container.ts): a host path chosen by whoever submits the job is not the worker's to give.
 */
import { mkdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { MountSpec, TaskSpec } from '../../core/spec-types.js';
import {
  CONTAINER_MOUNT,
  CONTAINER_OUTPUT,
  CONTAINER_PROGRESS,
  CONTAINER_SCRIPT,
  DEFAULT_CONTAINER_WORKDIR,
} from './container-command.js';
import { resolveInside, SpecRefusal, writeTaskFiles } from './workspace.js';
import { filesystemBinds, isFilesystemMount } from './filesystems.js';

export interface ContainerFolder {
  /** Container path to start in; null keeps the image's WORKDIR. */
  workdir: string | null;
  /** `--volume` values every step gets: the work folder, bound files, named volumes. */
  volumes: string[];
  /** Named volumes to remove once the execution is over. */
  namedVolumes: string[];
  tmpfs: string[];
  /** The control files, relative to the work folder (the worker reads them without following links). */
  scriptFile: string;
  outputFile: string;
  progressFile: string;
}

export async function prepareContainerFolder(spec: TaskSpec, workDir: string, executionId: string): Promise<ContainerFolder> {
  const inWorkDir = (containerPath: string): string => posix.relative(CONTAINER_MOUNT, containerPath);
  const host = (containerPath: string): string => join(workDir, inWorkDir(containerPath));
  await mkdir(join(workDir, 'outputs'), { recursive: true });

  const allFiles = mergedFiles(spec);
  const workdir = containerWorkdir(spec.workdir, Object.keys(allFiles).length > 0);
  const volumes = [`${workDir}:${CONTAINER_MOUNT}`];
  if (workdir !== null && isInsideMount(workdir)) {
    const hostWorkdir = host(workdir);
    await mkdir(hostWorkdir, { recursive: true });
    refuseControlFiles(hostWorkdir, workDir, allFiles);
    await writeTaskFiles(hostWorkdir, allFiles);
  } else if (workdir !== null) {
    volumes.push(...(await bindFilesInto(workdir, join(workDir, '.barge', 'files'), allFiles)));
  }
  const mounts = taskMounts(spec.mounts ?? [], executionId);
  return {
    workdir,
    volumes: [...volumes, ...mounts.volumes],
    namedVolumes: mounts.namedVolumes,
    tmpfs: mounts.tmpfs,
    scriptFile: inWorkDir(CONTAINER_SCRIPT),
    outputFile: inWorkDir(CONTAINER_OUTPUT),
    progressFile: inWorkDir(CONTAINER_PROGRESS),
  };
}

/** The task's files and its pre and post tasks' files: all steps start in the same folder. */
function mergedFiles(spec: TaskSpec): Record<string, string> {
  const aux = [...(spec.pre ?? []), ...(spec.post ?? [])].map((task) => task.files ?? {});
  return Object.assign({}, ...aux, spec.files ?? {}) as Record<string, string>;
}

/** An absolute `workdir` is a container path; a relative one is inside /tork, as in the shell runtime. */
function containerWorkdir(workdir: string | undefined, hasFiles: boolean): string | null {
  if (workdir === undefined || workdir === '') return hasFiles ? DEFAULT_CONTAINER_WORKDIR : null;
  if (workdir.includes('\0') || workdir.includes(':') || workdir.includes(',')) {
    throw new SpecRefusal(`workdir "${workdir}" is not a valid path`, 'invalid: workdir');
  }
  if (posix.isAbsolute(workdir)) return posix.normalize(workdir);
  // Refuses a relative path that climbs out of /tork.
  return resolveInside(CONTAINER_MOUNT, workdir, 'workdir');
}

function isInsideMount(path: string): boolean {
  return path === CONTAINER_MOUNT || path.startsWith(`${CONTAINER_MOUNT}/`);
}

const CONTROL_FILES = new Set(['entrypoint', 'stdout', 'progress', '.barge']);

function refuseControlFiles(hostWorkdir: string, workDir: string, files: Record<string, string>): void {
  for (const name of Object.keys(files)) {
    const path = resolveInside(hostWorkdir, name, 'files');
    const top = posix.relative(workDir, path).split('/')[0] ?? '';
    if (CONTROL_FILES.has(top)) {
      throw new SpecRefusal(`files "${name}" would replace /tork/${top}, which the runtime reserves`, 'invalid: files');
    }
  }
}

async function bindFilesInto(workdir: string, staging: string, files: Record<string, string>): Promise<string[]> {
  await mkdir(staging, { recursive: true });
  await writeTaskFiles(staging, files);
  return Object.keys(files).map((name) => {
    if (name.includes(':') || name.includes(',')) {
      throw new SpecRefusal(`files "${name}": names with ":" or "," cannot be placed outside /tork`, 'invalid: files');
    }
    const target = posix.join(workdir, name);
    return `${resolveInside(staging, name, 'files')}:${target}`;
  });
}

// Tork's rule for mount targets (input/validate.go).
const MOUNT_TARGET = /^[-/.0-9a-zA-Z_= ]+$/;

function taskMounts(mounts: MountSpec[], executionId: string): { volumes: string[]; namedVolumes: string[]; tmpfs: string[] } {
  const volumes: string[] = [];
  const namedVolumes: string[] = [];
  const tmpfs: string[] = [];
  for (const bind of filesystemBinds(mounts)) volumes.push(`${bind.source}:${bind.target}`);
  mounts.forEach((mount, index) => {
    if (isFilesystemMount(mount)) return;
    const target = checkedTarget(mount.target, index);
    if (mount.type === 'tmpfs') {
      tmpfs.push(target);
    } else {
      const name = `barge-${executionId}-${index + 1}`;
      namedVolumes.push(name);
      volumes.push(`${name}:${target}`);
    }
  });
  return { volumes, namedVolumes, tmpfs };
}

function checkedTarget(target: string | undefined, index: number): string {
  const what = `mounts[${index}].target`;
  if (!target || !posix.isAbsolute(target) || !MOUNT_TARGET.test(target)) {
    throw new SpecRefusal(`${what} "${target ?? ''}" must be an absolute path of letters, digits and -/._= `, `invalid: ${what}`);
  }
  const normal = posix.normalize(target);
  if (normal === '/' || isInsideMount(normal)) {
    throw new SpecRefusal(`${what} "${target}" would hide ${normal === '/' ? 'the whole image' : CONTAINER_MOUNT}`, `invalid: ${what}`);
  }
  return normal;
}
