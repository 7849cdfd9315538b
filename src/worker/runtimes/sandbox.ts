/**
 * The bubblewrap sandbox for the shell runtime. Inside: the system folders read-only, a fresh /dev,
 * /proc and private /tmp, the work folder read-write at its own path, no capabilities, and new
 * namespaces for everything (network only when the task asks for it).
 *
 * Deliberately not `--new-session`: node already starts the child in a new session with no
 * terminal (so TIOCSTI has nothing to inject into), and a second setsid would move the script out
 * of the process group that cancel and timeout signal. `--die-with-parent` and the PID namespace
 * make sure nothing outlives bwrap itself.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

export type IsolationMode = 'auto' | 'bwrap' | 'none';

/** Read-only inside the sandbox when they exist; symlinks (merged /usr) are recreated as symlinks. */
const SYSTEM_PATHS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt'];

export interface SandboxPlace {
  workDir: string;
  cwd: string;
  network: boolean;
}

export interface Sandbox {
  readonly kind: 'bwrap' | 'none';
  /** The command line that runs `command` inside the sandbox. */
  wrap(command: string[], place: SandboxPlace): string[];
}

const noSandbox: Sandbox = { kind: 'none', wrap: (command) => command };

/** Picks the sandbox for `mode`; throws when `bwrap` is demanded and cannot run here. */
export function chooseSandbox(mode: IsolationMode, extraReadOnly: string[], searchPath: string): Sandbox {
  if (mode === 'none') return noSandbox;
  const bwrap = findExecutable('bwrap', searchPath);
  const problem = bwrap ? probeBwrap(bwrap, extraReadOnly) : 'bwrap is not installed';
  if (problem === null && bwrap) return bwrapSandbox(bwrap, extraReadOnly);
  if (mode === 'bwrap') throw new Error(`shell runtime: isolation "bwrap" is unavailable: ${problem}`);
  return noSandbox;
}

function bwrapSandbox(bwrap: string, extraReadOnly: string[]): Sandbox {
  return {
    kind: 'bwrap',
    wrap: (command, place) => [bwrap, ...bwrapArgs(place, extraReadOnly), '--', ...command],
  };
}

export function bwrapArgs(place: SandboxPlace, extraReadOnly: string[]): string[] {
  return [
    ...systemBinds(extraReadOnly),
    ...['--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp', '--tmpfs', '/var/tmp'],
    ...['--bind', place.workDir, place.workDir, '--chdir', place.cwd],
    '--unshare-all',
    ...(place.network ? ['--share-net'] : []),
    ...['--die-with-parent', '--cap-drop', 'ALL'],
  ];
}

function systemBinds(extraReadOnly: string[]): string[] {
  const args: string[] = [];
  for (const path of [...SYSTEM_PATHS, ...extraReadOnly]) {
    let info;
    try {
      info = lstatSync(path);
    } catch {
      continue;
    }
    if (info.isSymbolicLink()) args.push('--symlink', readlinkSync(path), path);
    else args.push('--ro-bind', path, path);
  }
  // /etc/resolv.conf often points into /run, which is not bound.
  const resolver = realPathOrNull('/etc/resolv.conf');
  if (resolver && !resolver.startsWith('/etc/')) args.push('--ro-bind-try', resolver, resolver);
  return args;
}

/** null when bwrap runs a trivial command with the flags barge uses, else why not. */
function probeBwrap(bwrap: string, extraReadOnly: string[]): string | null {
  const place = { workDir: tmpdir(), cwd: tmpdir(), network: false };
  const probe = spawnSync(bwrap, [...bwrapArgs(place, extraReadOnly), '--', 'true'], {
    timeout: 10_000,
    encoding: 'utf8',
    env: { PATH: dirname(bwrap) + delimiter + '/usr/bin:/bin' },
  });
  if (probe.error) return probe.error.message;
  if (probe.status !== 0) return probe.stderr.trim() || `bwrap exited with ${probe.status ?? probe.signal}`;
  return null;
}

export function findExecutable(name: string, searchPath: string): string | null {
  for (const dir of searchPath.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function realPathOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}
