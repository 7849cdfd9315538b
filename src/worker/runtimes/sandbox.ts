/**
 * The bubblewrap sandbox for the shell runtime. Inside: the system folders read-only with
 * credential files masked, a fresh /dev, /proc and private /tmp, the work folder read-write at its
 * own path, no capabilities, and new namespaces for everything (network only when the task asks).
 *
 * The task never runs as root. A worker that is not root starts bwrap unprivileged: bwrap makes a
 * user namespace and the task keeps the worker's own uid. A root worker starts bwrap privileged
 * (so it can bind a work folder inside the 0700 data folder) without a user namespace, lets it
 * keep only CAP_SETUID, CAP_SETGID and CAP_SETPCAP, and inside the sandbox `setpriv` drops to the
 * task user (`--task-user`, default nobody, 65534) with no capabilities, supplementary groups or
 * bounding set left; the work folder is handed to that user first. Host files readable only by
 * root (/etc/shadow, private keys) are then out of reach even where they are not masked.
 *
 * Processes: where no cgroup caps them, wrap() can cap them with RLIMIT_NPROC. That limit counts
 * processes per user and user namespace, so the task gets a user namespace of its own (`unshare
 * --user` as the task user, for a root worker; bwrap's own otherwise) and its count is its own,
 * not that of every task running as nobody.
 *
 * Deliberately not `--new-session`: node already starts the child in a new session with no
 * terminal (so TIOCSTI has nothing to inject into), and a second setsid would move the script out
 * of the process group that cancel and timeout signal. `--die-with-parent` and the PID namespace
 * make sure nothing outlives bwrap itself.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { lchown, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

export type IsolationMode = 'auto' | 'bwrap' | 'none';

/** Read-only inside the sandbox when they exist; symlinks (merged /usr) are recreated as symlinks. */
const SYSTEM_PATHS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt'];

/** Masked inside the sandbox: files by an empty device node, folders by an empty tmpfs. */
const CREDENTIAL_PATHS = [
  '/etc/shadow',
  '/etc/shadow-',
  '/etc/gshadow',
  '/etc/gshadow-',
  '/etc/security/opasswd',
  '/etc/sudoers',
  '/etc/sudoers.d',
  '/etc/ssl/private',
  '/etc/krb5.keytab',
];

/** The user tasks run as when the worker is root and names none: nobody. */
const DEFAULT_TASK_USER = 65534;

export interface SandboxPlace {
  workDir: string;
  cwd: string;
  network: boolean;
  /** Host folders bound read-write at their targets (filesystems). (Default: none) */
  binds?: Array<{ source: string; target: string }>;
  /** Caps the task's processes with RLIMIT_NPROC; only when `canLimitProcesses`. */
  maxProcesses?: number;
}

export interface TaskUser {
  uid: number;
  gid: number;
  /** For messages and the node's info: `nobody (65534)`. */
  label: string;
}

export interface Sandbox {
  readonly kind: 'bwrap' | 'none';
  /** Why there is no sandbox, when there is none. */
  readonly unavailable: string | null;
  /** The host user tasks run as, when it is not the worker's own. */
  readonly taskUser: TaskUser | null;
  /** Whether wrap() honours `maxProcesses`. */
  readonly canLimitProcesses: boolean;
  /** The command line that runs `command` inside the sandbox. */
  wrap(command: string[], place: SandboxPlace): string[];
  /** Makes the prepared work folder (and the top of each shared folder) the task user's, so the task can write there. */
  handOver(workDir: string, sharedFolders?: string[]): Promise<void>;
}

export interface SandboxOptions {
  /** Extra folders bound read-only. (Default: none) */
  readOnlyPaths?: string[];
  /** Folders and files of the worker's own (its data folder) masked should they lie inside a bound folder. */
  hiddenPaths?: string[];
  /** `name`, `uid` or `uid:gid`; needs a root worker. (Default for a root worker: nobody, 65534) */
  taskUser?: string;
  /** Where bwrap, setpriv, unshare and prlimit are looked for. (Default: the worker's PATH) */
  searchPath?: string;
}

function noSandbox(unavailable: string | null): Sandbox {
  return {
    kind: 'none',
    unavailable,
    taskUser: null,
    canLimitProcesses: false,
    wrap: (command) => command,
    handOver: async () => undefined,
  };
}

/** Picks the sandbox for `mode`; throws when `bwrap` is demanded and cannot run here. */
export function chooseSandbox(mode: IsolationMode, options: SandboxOptions = {}): Sandbox {
  const runningAsRoot = process.getuid?.() === 0;
  if (options.taskUser !== undefined && !runningAsRoot) {
    throw new Error('shell runtime: --task-user needs the worker to run as root');
  }
  if (mode === 'none') return noSandbox('isolation is "none"');
  const searchPath = options.searchPath ?? process.env.PATH ?? '';
  const setup = findTools(searchPath, runningAsRoot, options);
  const problem = typeof setup === 'string' ? setup : probe(setup, ['true']);
  if (problem === null && typeof setup !== 'string') {
    const canLimitProcesses = probe(setup, processLimit(setup, 64, ['true'])) === null;
    return bwrapSandbox(setup, canLimitProcesses);
  }
  if (mode === 'bwrap') throw new Error(`shell runtime: isolation "bwrap" is unavailable: ${problem}`);
  return noSandbox(problem);
}

interface Setup {
  bwrap: string;
  /** Present when the worker is root: the user to drop to, and the tools to do it with. */
  drop: { user: TaskUser; setpriv: string; unshare: string | null } | null;
  prlimit: string | null;
  readOnly: string[];
  hidden: string[];
}

function findTools(searchPath: string, runningAsRoot: boolean, options: SandboxOptions): Setup | string {
  const bwrap = findExecutable('bwrap', searchPath);
  if (!bwrap) return 'bwrap is not installed';
  let drop: Setup['drop'] = null;
  if (runningAsRoot) {
    const setpriv = findExecutable('setpriv', searchPath);
    if (!setpriv) return 'setpriv (util-linux) is not installed, and tasks must not run as root';
    drop = { user: resolveTaskUser(options.taskUser), setpriv, unshare: findExecutable('unshare', searchPath) };
  }
  return {
    bwrap,
    drop,
    prlimit: findExecutable('prlimit', searchPath),
    readOnly: options.readOnlyPaths ?? [],
    hidden: options.hiddenPaths ?? [],
  };
}

function bwrapSandbox(setup: Setup, canLimitProcesses: boolean): Sandbox {
  const user = setup.drop?.user ?? null;
  return {
    kind: 'bwrap',
    unavailable: null,
    taskUser: user,
    canLimitProcesses,
    wrap: (command, place) => {
      const limited = place.maxProcesses !== undefined && canLimitProcesses ? processLimit(setup, place.maxProcesses, command) : command;
      return [setup.bwrap, ...bwrapArgs(place, setup), '--', ...dropTo(setup, limited)];
    },
    handOver: async (workDir, sharedFolders = []) => {
      if (!user) return;
      await chownTree(workDir, user);
      // A filesystem's files are the task user's anyway (every sandboxed task is that user).
      for (const folder of sharedFolders) await lchown(folder, user.uid, user.gid);
    },
  };
}

export function bwrapArgs(place: Omit<SandboxPlace, 'maxProcesses'>, setup: Pick<Setup, 'readOnly' | 'hidden' | 'drop'>): string[] {
  const privileged = setup.drop !== null;
  return [
    // The fresh /tmp first, so that a read-only folder under /tmp is bound over it, not hidden by it.
    ...['--dev', '/dev', '--proc', '/proc', '--perms', '1777', '--tmpfs', '/tmp', '--perms', '1777', '--tmpfs', '/var/tmp'],
    ...systemBinds(setup.readOnly),
    ...masks(setup.readOnly, setup.hidden),
    ...folderChain(place.workDir, setup.readOnly),
    ...['--bind', place.workDir, place.workDir, '--chdir', place.cwd],
    ...sharedBinds(place.binds ?? []),
    // Privileged bwrap would map root into a user namespace of its own, where setpriv could not
    // become the task user: every namespace but the user's.
    ...(privileged
      ? ['--unshare-ipc', '--unshare-pid', '--unshare-uts', '--unshare-cgroup-try', ...(place.network ? [] : ['--unshare-net'])]
      : ['--unshare-all', ...(place.network ? ['--share-net'] : [])]),
    ...['--die-with-parent', '--cap-drop', 'ALL'],
    // CAP_DAC_READ_SEARCH: bwrap enters the work folder, already the task user's, before setpriv runs.
    ...(privileged ? ['--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID', '--cap-add', 'CAP_SETPCAP', '--cap-add', 'CAP_DAC_READ_SEARCH'] : []),
  ];
}

/**
 * The folders above the work folder, made by us rather than by bwrap: bwrap would copy their host
 * modes, and a 0700 data folder (or /root) would then bar the task user from its own work folder.
 * Search-only (0711): the task can pass through them and list nothing.
 */
function folderChain(workDir: string, extraReadOnly: string[]): string[] {
  const bound = [...SYSTEM_PATHS, ...extraReadOnly];
  const args: string[] = [];
  for (let folder = dirname(workDir); folder !== '/' && folder !== '.'; folder = dirname(folder)) {
    if (['/tmp', '/var/tmp', '/var'].includes(folder)) continue;
    // Inside a read-only bind nothing can be made; there the host's folders are what the task sees.
    if (bound.some((root) => folder === root || folder.startsWith(`${root}/`))) continue;
    args.unshift('--perms', '0711', '--dir', folder);
  }
  return args;
}

/**
 * Shared folders (filesystems) bound read-write at their targets. bwrap would make the folders
 * above a target 0700 and root's, out of the task user's reach: they are made 0755 first.
 */
function sharedBinds(binds: Array<{ source: string; target: string }>): string[] {
  const made = new Set<string>();
  const args: string[] = [];
  for (const bind of binds) {
    const above: string[] = [];
    for (let folder = dirname(bind.target); folder !== '/' && folder !== '.'; folder = dirname(folder)) above.unshift(folder);
    for (const folder of above) {
      if (made.has(folder)) continue;
      made.add(folder);
      args.push('--perms', '0755', '--dir', folder);
    }
    args.push('--bind', bind.source, bind.target);
  }
  return args;
}

/** For a root worker: become the task user, with nothing of root's left. */
function dropTo(setup: Setup, command: string[]): string[] {
  if (!setup.drop) return command;
  const { user, setpriv } = setup.drop;
  return [setpriv, `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--', ...command];
}

/** RLIMIT_NPROC in a user namespace of the task's own (bwrap's, or a new one under a root worker). */
function processLimit(setup: Setup, max: number, command: string[]): string[] {
  if (!setup.prlimit || (setup.drop && !setup.drop.unshare)) return command;
  const limit = [setup.prlimit, `--nproc=${max}`, '--', ...command];
  return setup.drop?.unshare ? [setup.drop.unshare, '--user', '--map-current-user', '--', ...limit] : limit;
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

/** Credential files, SSH host keys and the worker's own folders, where they are inside a bound folder. */
function masks(extraReadOnly: string[], hidden: string[]): string[] {
  const bound = [...SYSTEM_PATHS, ...extraReadOnly].map((path) => realPathOrNull(path)).filter((path): path is string => path !== null);
  const inside = (path: string): boolean => bound.some((root) => path === root || path.startsWith(`${root}/`));
  const hostKeys = readdirOrEmpty('/etc/ssh')
    .filter((name) => name.startsWith('ssh_host_') && !name.endsWith('.pub'))
    .map((name) => `/etc/ssh/${name}`);
  const args: string[] = [];
  for (const path of [...CREDENTIAL_PATHS, ...hostKeys, ...hidden]) {
    const real = realPathOrNull(path);
    if (!real || !inside(real) || real === '/' || bound.includes(real)) continue;
    const info = lstatSync(real);
    if (info.isDirectory()) args.push('--tmpfs', real);
    else args.push('--ro-bind', '/dev/null', real);
  }
  return args;
}

/** null when bwrap runs `command` with the flags barge uses, else why not. */
function probe(setup: Setup, command: string[]): string | null {
  const place = { workDir: tmpdir(), cwd: tmpdir(), network: false };
  const result = spawnSync(setup.bwrap, [...bwrapArgs(place, setup), '--', ...dropTo(setup, command)], {
    timeout: 10_000,
    encoding: 'utf8',
    env: { PATH: dirname(setup.bwrap) + delimiter + '/usr/bin:/bin' },
  });
  if (result.error) return result.error.message;
  if (result.status !== 0) return result.stderr.trim() || `bwrap exited with ${result.status ?? result.signal}`;
  return null;
}

/** `nobody`, `1001` or `1001:1001`; a name is looked up in /etc/passwd. */
export function resolveTaskUser(spec: string | undefined): TaskUser {
  if (spec === undefined) return { uid: DEFAULT_TASK_USER, gid: DEFAULT_TASK_USER, label: `nobody (${DEFAULT_TASK_USER})` };
  const numeric = /^(\d+)(?::(\d+))?$/.exec(spec);
  if (numeric) {
    const uid = Number(numeric[1]);
    const gid = numeric[2] === undefined ? uid : Number(numeric[2]);
    if (uid === 0 || gid === 0) throw new Error('--task-user must not be root');
    return { uid, gid, label: `${uid}:${gid}` };
  }
  const entry = readTextOrEmpty('/etc/passwd')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === spec);
  if (!entry) throw new Error(`--task-user: no user "${spec}" in /etc/passwd (give a uid or uid:gid instead)`);
  const uid = Number(entry[2]);
  const gid = Number(entry[3]);
  if (uid === 0 || gid === 0) throw new Error('--task-user must not be root');
  return { uid, gid, label: `${spec} (${uid})` };
}

/** lchown of a tree the worker has just written (no task has run in it yet). */
async function chownTree(path: string, user: TaskUser): Promise<void> {
  await lchown(path, user.uid, user.gid);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await chownTree(child, user);
    else await lchown(child, user.uid, user.gid);
  }
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

function readdirOrEmpty(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function readTextOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function realPathOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}
