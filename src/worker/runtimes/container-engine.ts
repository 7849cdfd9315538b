/**
 * The container engine's command line (podman or docker): which binary, which flags it needs on
 * this kind of host, and short commands (image exists, pull, rm) run to completion.
 *
 * Flags that podman needs here, found on Debian 12 as root without systemd, cgroup v1:
 * - `--runtime runc`: crun refuses a hybrid cgroup v1/v2 host ("cgroups in hybrid mode not supported").
 * - `--cgroup-manager cgroupfs`, `--events-backend file`: no systemd to ask for scopes or a journal.
 * - `--ulimit nofile=…,nproc=…` on every run: rootful podman asks for 1048576 of each, and a host
 *   whose root lacks CAP_SYS_RESOURCE (as in these VMs) cannot raise its hard limits that far, so
 *   the container fails to start ("error setting rlimit type 7: operation not permitted"). We pass
 *   the worker's own hard limits instead, which is what a shell task gets too; podman itself caps
 *   its process limit at kernel.pid_max, so nproc is capped there as well.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';

export type EngineName = 'podman' | 'docker';

export interface EngineCli {
  readonly name: EngineName;
  readonly binary: string;
  /** Flags before the subcommand, on every call. */
  readonly globalFlags: string[];
  /** Extra flags for `run`, after the subcommand. */
  readonly runFlags: string[];
  imageExists(image: string): string[];
  pull(image: string): string[];
  /** Removes a container, running or not; succeeds when there is none. */
  remove(name: string): string[];
  removeVolumes(names: string[]): string[];
  /** A cheap call that fails when the engine cannot run containers here. */
  probe(): string[];
}

export interface EngineCliOptions {
  engine: EngineName;
  /** The binary; (Default: the engine's name, found on PATH) */
  binary?: string;
  /** podman's `--runtime`. (Default for podman: runc; docker: the daemon's default) */
  ociRuntime?: string;
}

export function engineCli(options: EngineCliOptions): EngineCli {
  const binary = options.binary ?? options.engine;
  return options.engine === 'podman' ? podmanCli(binary, options.ociRuntime ?? 'runc') : dockerCli(binary, options.ociRuntime);
}

function podmanCli(binary: string, ociRuntime: string): EngineCli {
  return {
    name: 'podman',
    binary,
    globalFlags: ['--runtime', ociRuntime, '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'],
    // The worker's proxy settings are the worker's business, not the task's.
    runFlags: ['--http-proxy=false', ...hostUlimitFlags()],
    imageExists: (image) => ['image', 'exists', image],
    pull: (image) => ['pull', dockerHubReference(image)],
    remove: (name) => ['rm', '--force', '--ignore', '--time=0', name],
    removeVolumes: (names) => ['volume', 'rm', '--force', ...names],
    // Fails (exit 125) when the OCI runtime is missing; `info` would also check storage, at ten times the cost.
    probe: () => ['version', '--format', '{{.Client.Version}}'],
  };
}

function dockerCli(binary: string, ociRuntime: string | undefined): EngineCli {
  return {
    name: 'docker',
    binary,
    globalFlags: [],
    runFlags: [...(ociRuntime ? [`--runtime=${ociRuntime}`] : []), ...hostUlimitFlags()],
    imageExists: (image) => ['image', 'inspect', '--format', '{{.Id}}', image],
    pull: (image) => ['pull', image],
    // docker has no --ignore: a missing container is an error we do not care about.
    remove: (name) => ['rm', '--force', name],
    removeVolumes: (names) => ['volume', 'rm', '--force', ...names],
    // `version` reaches the daemon: it fails when the client is installed but no daemon runs.
    probe: () => ['version', '--format', '{{.Server.Version}}'],
  };
}

/**
 * `ubuntu:24.04` → `docker.io/library/ubuntu:24.04`, `me/app` → `docker.io/me/app`: docker's
 * reading of a short name, which Tork's jobs assume. podman refuses to guess a registry for a pull
 * unless registries.conf lists one (Debian's lists none); it does find the pulled image by its short
 * name afterwards.
 */
export function dockerHubReference(image: string): string {
  const slash = image.indexOf('/');
  if (slash === -1) return `docker.io/library/${image}`;
  const first = image.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost') return image;
  return `docker.io/${image}`;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a short engine command to completion; never rejects (a missing binary is code null). */
export function runEngineCommand(cli: EngineCli, args: string[], timeoutMs = 30_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(cli.binary, [...cli.globalFlags, ...args], { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

let cachedUlimits: string[] | undefined;

/** `--ulimit` flags carrying this process's hard nofile and nproc limits (see the file comment). */
export function hostUlimitFlags(): string[] {
  cachedUlimits ??= readHostUlimits();
  return cachedUlimits;
}

function readHostUlimits(): string[] {
  const limits = readOr('/proc/self/limits', '');
  const nofile = hardLimit(limits, 'Max open files');
  const pidMax = Number(readOr('/proc/sys/kernel/pid_max', '').trim()) || undefined;
  const nprocHard = hardLimit(limits, 'Max processes');
  const nproc = nprocHard !== undefined && pidMax !== undefined ? Math.min(nprocHard, pidMax) : (nprocHard ?? pidMax);
  const flags: string[] = [];
  if (nofile !== undefined) flags.push(`--ulimit=nofile=${nofile}:${nofile}`);
  if (nproc !== undefined) flags.push(`--ulimit=nproc=${nproc}:${nproc}`);
  return flags;
}

/** The hard limit on a /proc/<pid>/limits line, or undefined when unlimited or absent. */
function hardLimit(limits: string, label: string): number | undefined {
  const line = limits.split('\n').find((l) => l.startsWith(label));
  const fields = line?.slice(label.length).trim().split(/\s+/) ?? [];
  const hard = Number(fields[1]);
  return Number.isSafeInteger(hard) && hard > 0 ? hard : undefined;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}
