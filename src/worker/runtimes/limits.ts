/**
 * cpu, memory and process limits for the shell runtime, strongest first:
 * - `cgroup-v1`: a cgroup per execution under the worker's own memory and cpu cgroups
 *   (memory.limit_in_bytes, cpu.cfs_quota_us), and its pids cgroup (pids.max) where that
 *   hierarchy is writable too. Needs a v1 hierarchy we may create folders in, in practice root.
 *   Also lets us kill every process of the execution, even ones that left the process group, and
 *   tells an out-of-memory kill apart from other deaths. The cgroups are named
 *   `barge-<node id>-<execution id>-<random>`, so that a restarted worker can remove what a killed
 *   one left behind (removeLeftoverCgroups) without touching other workers' groups.
 * - `rlimit`: `ulimit -d` (data segment, which since Linux 4.7 counts private anonymous mappings)
 *   and `ulimit -t` (cpu seconds, per process; only with a timeout). Per process, not per task,
 *   and no cpu rate: a weaker stand-in where cgroups are out of reach.
 * - `none`.
 * Each applies through a `/bin/sh -c` wrapper that sets things up and then execs the real command,
 * so the limits hold from the first instruction of the script, with no race against its forks;
 * cgroups need no wrapper with a spawner that starts the process inside them (the spawn helper).
 * Where no pids cgroup caps the processes, the sandbox does it with RLIMIT_NPROC (see sandbox.ts):
 * that limit counts per user, and only the sandbox gives the task a user of its own.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export type LimitsMode = 'auto' | 'cgroup-v1' | 'rlimit' | 'none';

export interface LimitRequest {
  /** Names the cgroup; any characters, they are sanitized. */
  name: string;
  cpus: number;
  memoryMb: number;
  timeoutMs?: number;
}

export interface AppliedLimits {
  /** Prepended to the command line; empty when nothing needs setting up. */
  wrapper: string[];
  /** The cgroup folders `wrapper` enters; a spawner that joins them itself can do without the wrapper. */
  cgroups: string[];
  /** Whether a pids cgroup caps the number of processes. */
  processesCapped: boolean;
  /** Whether the run was stopped by its memory limit; `recentOutput` serves the rlimit guess. */
  memoryExceeded(recentOutput: string): Promise<boolean>;
  /** Kills every process of the execution that is still alive, wherever it went. */
  killAll(): Promise<void>;
  /** Kills what is left and removes what `apply` created. */
  release(): Promise<void>;
}

export interface Limiter {
  readonly kind: 'cgroup-v1' | 'rlimit' | 'none';
  /** Whether apply() caps processes with a pids cgroup. */
  readonly capsProcesses: boolean;
  apply(request: LimitRequest): Promise<AppliedLimits>;
}

export interface LimiterOptions {
  /** Processes (and threads) per execution, with the pids cgroup. (Default: 4096) */
  maxProcesses?: number;
  /** Names this worker's cgroups. (Default: none: `barge-<execution id>-<random>`) */
  nodeId?: string;
}

export const DEFAULT_MAX_PROCESSES = 4096;

/** Picks the limiter for `mode`; throws when `cgroup-v1` is demanded and unusable here. */
export function chooseLimiter(mode: LimitsMode, options: LimiterOptions = {}): Limiter {
  if (mode === 'none') return noLimits;
  if (mode === 'rlimit') return rlimitLimiter;
  const cgroups = findCgroupV1Parents();
  if (cgroups) return cgroupV1Limiter(cgroups, options.maxProcesses ?? DEFAULT_MAX_PROCESSES, groupPrefix(options.nodeId));
  if (mode === 'cgroup-v1') {
    throw new Error('shell runtime: limits "cgroup-v1" are unavailable (no writable v1 memory and cpu hierarchies)');
  }
  return process.platform === 'linux' ? rlimitLimiter : noLimits;
}

const nothingApplied: AppliedLimits = {
  wrapper: [],
  cgroups: [],
  processesCapped: false,
  memoryExceeded: async () => false,
  killAll: async () => undefined,
  release: async () => undefined,
};

const noLimits: Limiter = { kind: 'none', capsProcesses: false, apply: async () => nothingApplied };

// Messages allocators print when an allocation is refused; rlimits give no other sign.
const OUT_OF_MEMORY_TEXT = /memory exhausted|cannot allocate memory|out of memory|MemoryError|bad_alloc|xmalloc/i;

const rlimitLimiter: Limiter = {
  kind: 'rlimit',
  capsProcesses: false,
  async apply({ cpus, memoryMb, timeoutMs }) {
    const settings: string[] = [];
    if (memoryMb > 0) settings.push(`ulimit -d ${Math.ceil(memoryMb * 1024)}`);
    if (timeoutMs !== undefined && cpus > 0) settings.push(`ulimit -t ${Math.ceil((cpus * timeoutMs) / 1000) + 1}`);
    if (settings.length === 0) return nothingApplied;
    // A hard limit already lower than ours makes ulimit fail; the stricter limit then stands.
    const script = `{ ${settings.join('; ')}; } 2>/dev/null; exec "$@"`;
    return {
      ...nothingApplied,
      wrapper: ['/bin/sh', '-c', script, 'barge-rlimit'],
      memoryExceeded: async (recentOutput) => memoryMb > 0 && OUT_OF_MEMORY_TEXT.test(recentOutput),
    };
  },
};

interface CgroupParents {
  memory: string;
  cpu: string;
  /** Absent when the pids hierarchy is not v1 or not writable. */
  pids: string | null;
}

function groupPrefix(nodeId: string | undefined): string {
  return nodeId === undefined ? 'barge-' : `barge-${safeName(nodeId)}-`;
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
}

function cgroupV1Limiter(parents: CgroupParents, maxProcesses: number, prefix: string): Limiter {
  return {
    kind: 'cgroup-v1',
    capsProcesses: parents.pids !== null,
    async apply(request) {
      const name = `${prefix}${safeName(request.name)}-${randomBytes(4).toString('hex')}`;
      const group = new CgroupSet(join(parents.memory, name), join(parents.cpu, name), parents.pids && join(parents.pids, name));
      try {
        await group.create();
        await group.limit(request, maxProcesses);
      } catch (error) {
        await group.release();
        throw error;
      }
      return group;
    },
  };
}

class CgroupSet implements AppliedLimits {
  readonly wrapper: string[];
  readonly cgroups: string[];
  readonly processesCapped: boolean;

  constructor(
    private readonly memory: string,
    private readonly cpu: string,
    private readonly pidsGroup: string | null,
  ) {
    const folders = [memory, cpu, ...(pidsGroup ? [pidsGroup] : [])];
    this.cgroups = folders;
    const enter = folders.map((folder) => `echo $$ > ${shellQuote(`${folder}/cgroup.procs`)}`).join(' && ');
    this.wrapper = ['/bin/sh', '-c', `${enter} && exec "$@"`, 'barge-cgroup'];
    this.processesCapped = pidsGroup !== null;
  }

  private folders(): string[] {
    return [this.memory, this.cpu, ...(this.pidsGroup ? [this.pidsGroup] : [])];
  }

  async create(): Promise<void> {
    for (const folder of this.folders()) await mkdir(folder);
  }

  async limit({ cpus, memoryMb }: LimitRequest, maxProcesses: number): Promise<void> {
    if (this.pidsGroup) await writeFile(join(this.pidsGroup, 'pids.max'), String(maxProcesses));
    if (memoryMb > 0) {
      const bytes = String(Math.ceil(memoryMb * 1024 * 1024));
      await writeFile(join(this.memory, 'memory.limit_in_bytes'), bytes);
      // Without swap accounting the file is absent and swap is not an escape route anyway.
      await writeFile(join(this.memory, 'memory.memsw.limit_in_bytes'), bytes).catch(() => undefined);
    }
    if (cpus > 0) {
      const period = Number((await readFile(join(this.cpu, 'cpu.cfs_period_us'), 'utf8')).trim()) || 100_000;
      await writeFile(join(this.cpu, 'cpu.cfs_quota_us'), String(Math.max(1000, Math.round(cpus * period))));
    }
  }

  async memoryExceeded(): Promise<boolean> {
    const control = await readFile(join(this.memory, 'memory.oom_control'), 'utf8').catch(() => '');
    const kills = /^oom_kill (\d+)$/m.exec(control);
    if (kills) return Number(kills[1]) > 0;
    const failures = await readFile(join(this.memory, 'memory.failcnt'), 'utf8').catch(() => '0');
    return Number(failures.trim()) > 0;
  }

  async killAll(): Promise<void> {
    await killMembers(this.folders());
  }

  async release(): Promise<void> {
    await this.killAll();
    for (const folder of this.folders()) await removeCgroup(folder);
  }
}

/** SIGKILLs every process in the cgroups, again until none is left (a fork may race the first round). */
async function killMembers(folders: string[]): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const pids: number[] = [];
    for (const folder of folders) pids.push(...(await membersOf(folder)));
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await sleep(20);
  }
}

async function membersOf(folder: string): Promise<number[]> {
  const text = await readFile(join(folder, 'cgroup.procs'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map(Number);
}

/**
 * Removes the cgroups a previous process of this node left (killed with -9, it could not), with
 * whatever still runs in them. Only groups named for `nodeId`: other workers on the machine keep
 * theirs. Answers how many were removed.
 */
export async function removeLeftoverCgroups(nodeId: string): Promise<number> {
  const parents = findCgroupV1Parents();
  if (!parents) return 0;
  const prefix = groupPrefix(nodeId);
  let removed = 0;
  for (const parent of [parents.memory, parents.cpu, parents.pids]) {
    if (!parent) continue;
    const leftovers = (await readdir(parent).catch(() => [] as string[])).filter((name) => name.startsWith(prefix));
    for (const name of leftovers) {
      await killMembers([join(parent, name)]);
      await removeCgroup(join(parent, name));
      removed += 1;
    }
  }
  return removed;
}

/** rmdir, retried: a killed process leaves its cgroup a moment after it is reaped. */
async function removeCgroup(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (attempt >= 50) throw error;
      await sleep(20);
    }
  }
}

/**
 * The worker's own memory and cpu cgroup folders, if both are v1 and we may create children there,
 * and its pids cgroup folder if that is too.
 */
export function findCgroupV1Parents(): CgroupParents | null {
  if (process.platform !== 'linux') return null;
  const memory = ownCgroupFolder('memory');
  const cpu = ownCgroupFolder('cpu');
  if (!memory || !cpu) return null;
  if (!canCreateChild(memory, 'memory.limit_in_bytes') || !canCreateChild(cpu, 'cpu.cfs_quota_us')) return null;
  const pids = ownCgroupFolder('pids');
  return { memory, cpu, pids: pids && canCreateChild(pids, 'pids.max') ? pids : null };
}

function ownCgroupFolder(controller: string): string | null {
  const own = ownCgroupPath(controller);
  const mount = v1Mount(controller);
  if (own === null || mount === null) return null;
  const inside = mount.root === '/' ? own : own.startsWith(mount.root) ? own.slice(mount.root.length) : '';
  return join(mount.point, inside);
}

/** From /proc/self/cgroup: `4:memory:/some/path`. */
function ownCgroupPath(controller: string): string | null {
  const text = readTextOrEmpty('/proc/self/cgroup');
  for (const line of text.split('\n')) {
    const [, controllers, path] = line.split(':');
    if (controllers?.split(',').includes(controller) && path !== undefined) return path;
  }
  return null;
}

/** From /proc/self/mountinfo: `35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory`. */
function v1Mount(controller: string): { root: string; point: string } | null {
  for (const line of readTextOrEmpty('/proc/self/mountinfo').split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const [fsType, , superOptions = ''] = right.split(' ');
    if (fsType !== 'cgroup' || !superOptions.split(',').includes(controller)) continue;
    const fields = left.split(' ');
    return { root: unescapeMountField(fields[3] ?? '/'), point: unescapeMountField(fields[4] ?? '') };
  }
  return null;
}

function canCreateChild(parent: string, limitFile: string): boolean {
  const probe = join(parent, `barge-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(probe);
  } catch {
    return false;
  }
  try {
    accessSync(join(probe, limitFile), constants.W_OK);
    return true;
  } catch {
    return false;
  } finally {
    try {
      rmdirSync(probe);
    } catch {
      // an empty cgroup we cannot remove is harmless
    }
  }
}

function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function readTextOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
