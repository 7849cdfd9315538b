/**
 * Filesystem mounts in a runtime: the host folder the engine stored in `opts.path`
 * (engine/filesystems.ts), bound read-write at the mount's target. The engine fills `opts.path`
 * from the filesystem's row whatever the spec said, so here it is trusted, but still checked for
 * shape: absolute, normalised, and never the root.
 */
import { posix } from 'node:path';
import type { MountSpec } from '../../core/spec-types.js';
import { SpecRefusal } from './workspace.js';

export interface FilesystemBind {
  /** Host folder. */
  source: string;
  /** Where the task sees it: `/mnt/efs` or `/mnt/efs/<name>`. */
  target: string;
}

const FILESYSTEM_MOUNT = 'filesystem';
/** Where filesystems live inside a task; the ET Engine path. */
export const FILESYSTEMS_ROOT = '/mnt/efs';

export function isFilesystemMount(mount: MountSpec): boolean {
  return mount.type === FILESYSTEM_MOUNT;
}

/** The binds of a task's filesystem mounts; throws a SpecRefusal for a malformed one. */
export function filesystemBinds(mounts: MountSpec[] | undefined): FilesystemBind[] {
  return (mounts ?? []).filter(isFilesystemMount).map((mount, index) => {
    const source = mount.opts?.path;
    const target = mount.target;
    const what = `filesystem mount ${index + 1}`;
    if (!source || !posix.isAbsolute(source) || posix.normalize(source) !== source || source === '/') {
      throw new SpecRefusal(`${what} has no host folder: was the job written by barge's engine?`, 'invalid: mounts');
    }
    if (!target || posix.normalize(target) !== target || (target !== FILESYSTEMS_ROOT && !target.startsWith(`${FILESYSTEMS_ROOT}/`))) {
      throw new SpecRefusal(`${what} target "${target ?? ''}" must be ${FILESYSTEMS_ROOT} or inside it`, 'invalid: mounts');
    }
    return { source, target };
  });
}
