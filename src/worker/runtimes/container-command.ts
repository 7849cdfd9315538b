/**
 * The `run` command line for one container, built from a task as Tork's docker runtime reads it
 * (runtime/docker/docker.go):
 * - `run` is written to /tork/entrypoint; without `cmd` the container runs `sh -c /tork/entrypoint`,
 *   so a script with a `#!` line runs under its own interpreter and any other under sh;
 * - `cmd` replaces that command and `entrypoint` replaces `sh -c`; with neither and no `run`, the
 *   image's own ENTRYPOINT and CMD run;
 * - barge's `args` (`$1…`) reach the `run` script, or are appended to `cmd`.
 *
 * Every flag is written `--flag=value`, and the image reference is checked, so that no task value
 * can be read as another flag. Environment values are not put on the command line, where any local
 * user could read them in `ps`: the engine is told `--env=NAME` and finds the value in its own
 * environment. Only names the engine itself reads (PATH, HOME, proxies, …) must go as
 * `--env=NAME=VALUE`, so that they do not change how the engine behaves.
 */
import { SpecRefusal } from './workspace.js';

/** Where the execution's work folder appears in the container (Tork's convention). */
export const CONTAINER_MOUNT = '/tork';
export const CONTAINER_SCRIPT = `${CONTAINER_MOUNT}/entrypoint`;
export const CONTAINER_OUTPUT = `${CONTAINER_MOUNT}/stdout`;
export const CONTAINER_PROGRESS = `${CONTAINER_MOUNT}/progress`;
/** Where `files` go when the task names no `workdir`, as in Tork. */
export const DEFAULT_CONTAINER_WORKDIR = `${CONTAINER_MOUNT}/workdir`;

export interface CommandSource {
  run?: string;
  cmd?: string[];
  entrypoint?: string[];
}

export interface ContainerCommand {
  /** Empty: the image's ENTRYPOINT. */
  entrypoint: string[];
  /** Empty: the image's CMD (only when the entrypoint is the image's too). */
  cmd: string[];
}

export function containerCommand(source: CommandSource, args: string[]): ContainerCommand {
  const hasRun = (source.run ?? '') !== '';
  const ownEntrypoint = source.entrypoint ?? [];
  const ownCmd = source.cmd ?? [];
  if (hasRun && ownCmd.length === 0) {
    const entrypoint = ownEntrypoint.length > 0 ? ownEntrypoint : ['sh', '-c'];
    if (args.length === 0) return { entrypoint, cmd: [CONTAINER_SCRIPT] };
    // `sh -c 'script "$@"' sh a b`: the script sees a and b as $1 and $2.
    return { entrypoint, cmd: [`${CONTAINER_SCRIPT} "$@"`, 'sh', ...args] };
  }
  // Tork: with `run` and no entrypoint, `cmd` runs under `sh -c`.
  const entrypoint = ownEntrypoint.length > 0 ? ownEntrypoint : hasRun ? ['sh', '-c'] : [];
  return { entrypoint, cmd: [...ownCmd, ...args] };
}

export interface RunPlan {
  name: string;
  image: string;
  command: ContainerCommand;
  env: Record<string, string>;
  /** Container path to start in; null keeps the image's WORKDIR. */
  workdir: string | null;
  /** `--volume` values: `host:container` binds and `name:container` volumes. */
  volumes: string[];
  tmpfs: string[];
  labels: Record<string, string>;
  network: boolean;
  cpus: number;
  memoryMb: number;
}

export interface RunCommandLine {
  args: string[];
  /** Variables the engine process needs in its environment for `--env=NAME`. */
  env: Record<string, string>;
}

/** `run` and its flags (without the engine's global flags). */
export function runCommandLine(plan: RunPlan, engineRunFlags: string[]): RunCommandLine {
  const { entrypoint, cmd } = plan.command;
  const envFlags = environmentFlags(plan.env);
  const args = [
    'run',
    '--rm',
    `--name=${plan.name}`,
    ...Object.entries(plan.labels).map(([key, value]) => `--label=${key}=${value}`),
    '--pull=never',
    ...(plan.network ? [] : ['--network=none']),
    ...resourceFlags(plan.cpus, plan.memoryMb),
    ...engineRunFlags,
    ...plan.volumes.map((volume) => `--volume=${volume}`),
    ...plan.tmpfs.map((target) => `--tmpfs=${target}`),
    ...(plan.workdir ? [`--workdir=${plan.workdir}`] : []),
    ...envFlags.flags,
    // docker takes one word here; the rest of an entrypoint goes before the command.
    ...(entrypoint.length > 0 ? [`--entrypoint=${entrypoint[0]}`] : []),
    checkedImage(plan.image),
    ...entrypoint.slice(1),
    ...cmd,
  ];
  return { args, env: envFlags.env };
}

function resourceFlags(cpus: number, memoryMb: number): string[] {
  const flags: string[] = [];
  if (memoryMb > 0) {
    const limit = `${Math.ceil(memoryMb)}m`;
    // The same swap limit: swap is no way around the memory limit.
    flags.push(`--memory=${limit}`, `--memory-swap=${limit}`);
  }
  if (cpus > 0) flags.push(`--cpus=${cpus}`);
  return flags;
}

/** Names the engine reads from its own environment, which a task must not change for it. */
const ENGINE_VARIABLES =
  /^(PATH|HOME|USER|SHELL|TERM|TMPDIR|TZ|LANG|LANGUAGE|LC_\w*|XDG_\w*|CONTAINERS?_\w*|PODMAN_\w*|DOCKER_\w*|BUILDAH_\w*|STORAGE_\w*|REGISTRY_\w*|NOTIFY_SOCKET|LISTEN_\w*|SSL_CERT_\w*|GODEBUG|GOGC|GOMAXPROCS|GOMEMLIMIT|GOTRACEBACK|\w*_PROXY)$/i;

function environmentFlags(env: Record<string, string>): { flags: string[]; env: Record<string, string> } {
  const flags: string[] = [];
  const passed: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    // The engines read `--env=PREFIX*` as "every variable of mine starting with PREFIX".
    if (/[*\s]/.test(name)) throw new SpecRefusal(`env name "${name}" is not a valid variable name`, 'invalid: env');
    if (ENGINE_VARIABLES.test(name)) {
      flags.push(`--env=${name}=${value}`);
    } else {
      flags.push(`--env=${name}`);
      passed[name] = value;
    }
  }
  return { flags, env: passed };
}

/** A reference such as `alpine`, `ubuntu:24.04`, `localhost:5000/a/b:1`, `x@sha256:…`. */
const IMAGE_REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$/;

export function checkedImage(image: string): string {
  if (!IMAGE_REFERENCE.test(image) || image.length > 512) {
    throw new SpecRefusal(`image "${image}" is not a valid image reference`, 'invalid: image');
  }
  return image;
}
