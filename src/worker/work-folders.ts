/**
 * The executions' private work folders, reused. Creating and removing a folder tree per execution
 * (the folder, `.barge/`, `outputs/`, then `rm -r`) is a handful of journalled metadata writes,
 * each up to a millisecond or more on a busy disk: for short tasks, more than running them. A
 * folder that after its run holds nothing but the runtime's skeleton — `.barge/` with regular
 * files only, an empty `outputs/`, neither a link, none writable by others nor set-id — gets its
 * control files deleted and serves the next execution. Anything else (files the task left, changed
 * modes, a link) is removed whole, in the background, and the next execution gets a new folder.
 *
 * Nothing of one execution reaches the next: the skeleton check reads every name in the folder,
 * and a task's processes are dead before its folder comes back (process group and cgroup kills;
 * in bwrap, the PID namespace).
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { mkdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';

const CONTROL = '.barge';
const OUTPUTS = 'outputs';

export class WorkFolders {
  private readonly idle: string[] = [];
  private readonly removals = new Set<Promise<void>>();

  constructor(
    private readonly root: string,
    /** Clean folders kept for reuse; more are removed. */
    private readonly keep = 256,
  ) {}

  /** An empty (or skeleton-only) folder for one execution. */
  async take(): Promise<string> {
    const reused = this.idle.pop();
    if (reused !== undefined) return reused;
    const path = join(this.root, `w-${randomBytes(8).toString('hex')}`);
    await mkdir(path, { recursive: true, mode: 0o755 });
    return path;
  }

  /** After the run: back for reuse when it holds only the skeleton, else removed (not waited for). */
  async give(path: string): Promise<void> {
    const clean = this.idle.length < this.keep && (await emptySkeleton(path).catch(() => false));
    if (clean) this.idle.push(path);
    else this.remove(path);
  }

  /** Removes the idle folders and waits for every removal under way. */
  async close(): Promise<void> {
    for (const path of this.idle.splice(0)) this.remove(path);
    await Promise.all([...this.removals]);
  }

  private remove(path: string): void {
    const removal = rm(path, { recursive: true, force: true })
      .catch(() => undefined)
      .finally(() => this.removals.delete(removal));
    this.removals.add(removal);
  }
}

/**
 * Whether `path` holds only the skeleton; if so, deletes the control files and answers true. The
 * reads are synchronous: microseconds each, where the thread pool may be queued up with every
 * running execution's work.
 */
async function emptySkeleton(path: string): Promise<boolean> {
  if (!safeFolder(lstatSync(path))) return false;
  const names = readdirSync(path);
  if (names.some((name) => name !== CONTROL && name !== OUTPUTS)) return false;
  if (names.includes(OUTPUTS)) {
    if (!safeFolder(lstatSync(join(path, OUTPUTS)))) return false;
    if (readdirSync(join(path, OUTPUTS)).length > 0) return false;
  }
  if (!names.includes(CONTROL)) return true;
  const control = join(path, CONTROL);
  if (!safeFolder(lstatSync(control))) return false;
  const files = readdirSync(control);
  if (files.some((name) => !lstatSync(join(control, name)).isFile())) return false;
  await Promise.all(files.map((name) => unlink(join(control, name))));
  return true;
}

/** A real folder (not a link), not writable by group or others, without set-id or sticky bits. */
function safeFolder(info: Stats): boolean {
  return info.isDirectory() && (info.mode & 0o7022) === 0;
}
