/**
 * Filesystem mounts (`{type: 'filesystem', source: <filesystem id>, target}`): named folders a
 * user owns, mounted read-write into tasks. Every job is written through Flow.createJob, which
 * calls `resolveFilesystemMounts` first, so a spec can only mount a filesystem its owner may use,
 * and the host folder the worker binds (`opts.path`) is always the stored one, never what the spec
 * says: whatever the API, a task cannot name a host folder of its own choosing.
 */
import { ValidationError, type Problem } from '../core/errors.js';
import type { FilesystemRow } from '../core/model.js';
import type { JobSpec, MountSpec, TaskSpec } from '../core/spec-types.js';
import type { Queries } from '../store/store.js';

export const FILESYSTEM_MOUNT = 'filesystem';

/** Fills in each filesystem mount's host folder; refuses mounts of filesystems the owner may not use. */
export async function resolveFilesystemMounts(tx: Queries, owner: string, spec: JobSpec): Promise<void> {
  const found = [...mountsOf(spec.tasks, 'tasks')];
  if (found.length === 0) return;
  const problems: Problem[] = [];
  const ownerRow = await tx.userGetByName(owner);
  for (const { mount, path } of found) {
    const filesystem = mount.source === undefined ? undefined : await tx.filesystemGet(mount.source);
    if (!filesystem || !(await mayUse(tx, owner, ownerRow?.role === 'admin', filesystem))) {
      problems.push({ path: `${path}.source`, message: `no filesystem "${mount.source ?? ''}" that ${owner} may use` });
      continue;
    }
    mount.opts = { path: filesystem.path };
  }
  if (problems.length > 0) throw new ValidationError(problems);
}

async function mayUse(tx: Queries, user: string, admin: boolean, filesystem: FilesystemRow): Promise<boolean> {
  if (admin || filesystem.owner === user) return true;
  return tx.grantExists({ kind: 'filesystem', resourceId: filesystem.id, userName: user });
}

function* mountsOf(tasks: TaskSpec[] | undefined, path: string): Generator<{ mount: MountSpec; path: string }> {
  for (const [i, task] of (tasks ?? []).entries()) {
    const at = `${path}[${i}]`;
    for (const [m, mount] of (task.mounts ?? []).entries()) {
      if (mount.type === FILESYSTEM_MOUNT) yield { mount, path: `${at}.mounts[${m}]` };
    }
    if (task.each) yield* mountsOf([task.each.task], `${at}.each.task`);
    yield* mountsOf(task.parallel?.tasks, `${at}.parallel.tasks`);
    yield* mountsOf(task.subjob?.tasks, `${at}.subjob.tasks`);
  }
}
