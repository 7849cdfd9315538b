/**
 * The `shell` runtime: a task's `run` script in bash, in the execution's work folder, inside a
 * bubblewrap sandbox and under cgroup or rlimit limits where the host allows (see sandbox.ts,
 * limits.ts).
 *
 * The script's contract, a superset of Tork's shell runtime:
 * - `$1…` are `spec.args`; a script starting with `#!` is executed directly so its interpreter runs it.
 * - `$BARGE_OUTPUT` (= `$TORK_OUTPUT`): a file whose raw content becomes the result after exit 0.
 * - `$BARGE_PROGRESS` (= `$TORK_PROGRESS`): a file holding 0..100, polled for progress.
 * - `$BARGE_EXECUTION_ID`, `$BARGE_JOB_ID`, `$BARGE_WORKDIR`; `HOME` is the work folder.
 * - Files left under `outputs/` become the execution's artifacts.
 * - Nothing from the worker's own environment is passed on except PATH and LANG.
 *
 * `pre` tasks run before the script and `post` tasks after it, in the same folder with the same
 * environment plus their own. As in Tork, the first failure ends the execution: a failing pre task
 * means the script never runs, and post tasks run only after the script succeeded. The result is
 * the output file as the script left it, read before post tasks run. One timeout covers pre, script
 * and post together; an aux task's own `timeout` is not enforced separately.
 *
 * The runtime's control files live in `<workDir>/.barge/` (entrypoint.sh, pre-N.sh, post-N.sh,
 * output, progress), out of the way of the task's own files, which may not be written there.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AuxTaskSpec, TaskSpec } from '../../core/spec-types.js';
import { coerceError } from '../../core/errors.js';
import type { LogStream } from '../../core/model.js';
import type { RunOutcome, RunRequest, Runtime } from './runtime.js';
import { LastLines, LineSplitter, DEFAULT_MAX_LINE_LENGTH } from './lines.js';
import { chooseLimiter, DEFAULT_MAX_PROCESSES, type AppliedLimits, type Limiter, type LimitsMode } from './limits.js';
import { cancelled, failed, refused, succeeded, timedOut, type Ending } from './outcomes.js';
import { runProcessGroup, type GroupExit, type ProcessSpawner, type SpawnProcess } from './process-group.js';
import { spawnThroughHelper } from './spawn-helper.js';
import { filesystemBinds, FILESYSTEMS_ROOT, isFilesystemMount, type FilesystemBind } from './filesystems.js';
import { pollProgress } from './progress.js';
import { chooseSandbox, findExecutable, type IsolationMode, type Sandbox } from './sandbox.js';
import {
  checkedArgs,
  checkedEnv,
  readRegularFile,
  resolveInside,
  ResultTooLargeError,
  SpecRefusal,
  writeTaskFiles,
} from './workspace.js';

export interface ShellRuntimeOptions {
  /** `auto` uses bubblewrap when it is installed and works; `bwrap` demands it. (Default: 'auto') */
  isolation?: IsolationMode;
  /** Fail every execution rather than run it without a sandbox. (Default: false) */
  requireSandbox?: boolean;
  /** The user a root worker runs sandboxed tasks as: name, uid or uid:gid. (Default: nobody, 65534) */
  taskUser?: string;
  /** Processes and threads per execution (pids cgroup, else RLIMIT_NPROC in the sandbox). (Default: 4096) */
  maxProcesses?: number;
  /** Names this worker's cgroups, so that a restart can remove leftovers. (Default: none) */
  nodeId?: string;
  /** The worker's own folders (its data folder), masked in the sandbox should a bound folder hold them. */
  hiddenPaths?: string[];
  /** `auto` prefers cgroup-v1, then rlimit. A demanded mode that is unusable throws. (Default: 'auto') */
  limits?: LimitsMode;
  /** Run `run` in the shell even when the task names an `image` (and `registry`). (Default: false) */
  ignoreImage?: boolean;
  /** Between SIGTERM and SIGKILL when a task times out. (Default: 5000) */
  killGraceMs?: number;
  /** Between SIGTERM and SIGKILL when a task is cancelled. (Default: 500) */
  cancelGraceMs?: number;
  /** How often the progress file is read. (Default: 500) */
  progressPollMs?: number;
  /** Longer log lines are cut into pieces of this many characters. (Default: 65536) */
  maxLineLength?: number;
  /** A larger output file fails the execution rather than load the worker. (Default: 16 MiB) */
  maxResultBytes?: number;
  /** PATH given to scripts. (Default: the worker's PATH, else the usual system folders) */
  path?: string;
  /** LANG given to scripts. (Default: the worker's LANG, else C.UTF-8) */
  lang?: string;
  /** The bash binary. (Default: `bash` found on the worker's PATH) */
  bash?: string;
  /** Extra folders bound read-only into the sandbox, e.g. a tool installation. (Default: none) */
  readOnlyPaths?: string[];
  /** Starts processes; tests inject their own, which get the cgroup wrapper. (Default: the spawn helper) */
  spawnProcess?: SpawnProcess;
}

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface Settings {
  ignoreImage: boolean;
  killGraceMs: number;
  cancelGraceMs: number;
  progressPollMs: number;
  maxLineLength: number;
  maxResultBytes: number;
  path: string;
  lang: string;
  bash: string;
  spawner: ProcessSpawner;
  sandbox: Sandbox;
  requireSandbox: boolean;
  limiter: Limiter;
  maxProcesses: number;
}

export function createShellRuntime(options: ShellRuntimeOptions = {}): Runtime {
  const workerPath = process.env.PATH || SYSTEM_PATH;
  const maxProcesses = options.maxProcesses ?? DEFAULT_MAX_PROCESSES;
  const settings: Settings = {
    ignoreImage: options.ignoreImage ?? false,
    killGraceMs: options.killGraceMs ?? 5000,
    cancelGraceMs: options.cancelGraceMs ?? 500,
    progressPollMs: options.progressPollMs ?? 500,
    maxLineLength: options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH,
    maxResultBytes: options.maxResultBytes ?? 16 * 1024 * 1024,
    path: options.path ?? workerPath,
    lang: options.lang ?? process.env.LANG ?? 'C.UTF-8',
    bash: options.bash ?? findExecutable('bash', workerPath) ?? 'bash',
    spawner: options.spawnProcess ? { spawn: options.spawnProcess, joinsCgroups: false } : { spawn: spawnThroughHelper, joinsCgroups: true },
    sandbox: chooseSandbox(options.isolation ?? 'auto', {
      readOnlyPaths: options.readOnlyPaths,
      hiddenPaths: options.hiddenPaths,
      taskUser: options.taskUser,
      searchPath: workerPath,
    }),
    requireSandbox: options.requireSandbox ?? false,
    limiter: chooseLimiter(options.limits ?? 'auto', { maxProcesses, nodeId: options.nodeId }),
    maxProcesses,
  };
  return {
    name: 'shell',
    run: (request) => runShell(request, settings),
    healthCheck: async () => {
      if (!settings.bash.includes('/') && !findExecutable(settings.bash, workerPath)) {
        throw new Error(`shell runtime: ${settings.bash} is not on PATH`);
      }
    },
    describe: () => describeShell(settings),
  };
}

/** What the node's info says: `isolation` is `bwrap` or `none`, with why and what follows from it. */
function describeShell(settings: Settings): Record<string, string> {
  const { sandbox, limiter } = settings;
  const processes = limiter.capsProcesses ? 'cgroup-v1' : sandbox.canLimitProcesses && limiter.kind !== 'none' ? 'rlimit' : 'none';
  return {
    isolation: sandbox.kind,
    limits: limiter.kind,
    pids: processes,
    ...(sandbox.taskUser ? { taskUser: sandbox.taskUser.label } : {}),
    ...(sandbox.unavailable && sandbox.kind === 'none' ? { noSandbox: sandbox.unavailable } : {}),
    ...(settings.requireSandbox ? { requireSandbox: 'yes' } : {}),
  };
}

const NOTHING_RAN: Ending = { exitCode: null };

async function runShell(request: RunRequest, settings: Settings): Promise<RunOutcome> {
  if (request.signal.aborted) return cancelled(NOTHING_RAN);
  if (settings.requireSandbox && settings.sandbox.kind === 'none') {
    const why = settings.sandbox.unavailable ?? 'no sandbox';
    return failed(`this worker runs shell tasks only in a sandbox (--require-sandbox), and has none: ${why}`, 'sandbox required', NOTHING_RAN);
  }
  const refusal = findUnsupported(request.spec, settings.ignoreImage);
  if (refusal) return refusal;

  let folder: Folder;
  try {
    folder = await prepareFolder(request, settings.sandbox.kind === 'bwrap');
    await settings.sandbox.handOver(request.workDir, folder.binds.map((bind) => bind.source));
  } catch (error) {
    if (error instanceof SpecRefusal) return failed(error.message, error.reason, NOTHING_RAN);
    return failed(`could not prepare the work folder: ${coerceError(error).message}`, null, NOTHING_RAN);
  }

  let limits: AppliedLimits;
  try {
    limits = await settings.limiter.apply({
      name: request.executionId,
      cpus: request.cpus,
      memoryMb: request.memoryMb,
      timeoutMs: request.timeoutMs,
    });
  } catch (error) {
    return failed(`could not apply ${settings.limiter.kind} limits: ${coerceError(error).message}`, null, NOTHING_RAN);
  }
  const progress = pollProgress(request.workDir, PROGRESS_FILE, request.onProgress, settings.progressPollMs);
  let outcome: RunOutcome;
  try {
    outcome = await runSteps(request, settings, folder, limits);
  } catch (error) {
    outcome = failed(`shell runtime error: ${coerceError(error).message}`, null, NOTHING_RAN);
  } finally {
    await progress.stop();
    await limits.release();
  }
  return outcome;
}

// --- refusals -------------------------------------------------------------------------------

function findUnsupported(spec: TaskSpec, ignoreImage: boolean): RunOutcome | null {
  if (spec.image && !ignoreImage) return refused('image', 'shell');
  if (spec.registry && !ignoreImage) return refused('registry', 'shell');
  if (spec.lua !== undefined) return refused('lua', 'shell');
  if (spec.cmd?.length) return refused('cmd', 'shell');
  if (spec.entrypoint?.length) return refused('entrypoint', 'shell');
  // Filesystem mounts are barge's own (engine/filesystems.ts); Tork's mount types are not for a shell.
  if (spec.mounts?.some((mount) => !isFilesystemMount(mount))) return refused('mounts', 'shell', true);
  if (spec.sidecars?.length) return refused('sidecars', 'shell', true);
  if (spec.networks?.length) return refused('networks', 'shell', true);
  if (spec.gpus) return refused('gpus', 'shell', true);
  for (const [kind, tasks] of [['pre', spec.pre], ['post', spec.post]] as const) {
    for (const aux of tasks ?? []) {
      if (aux.image && !ignoreImage) return refused(`${kind} task image`, 'shell');
      if (aux.registry && !ignoreImage) return refused(`${kind} task registry`, 'shell');
      if (aux.cmd?.length) return refused(`${kind} task cmd`, 'shell');
      if (aux.entrypoint?.length) return refused(`${kind} task entrypoint`, 'shell');
    }
  }
  return null;
}

// --- the work folder ------------------------------------------------------------------------

interface Step {
  /** 'pre "setup"', 'post "upload"', or null for the task's own script. */
  label: string | null;
  script: string;
  args: string[];
  /** Run the script itself (it has a `#!` line) rather than through bash. */
  direct: boolean;
  env: Record<string, string>;
}

/** The control files, relative to the work folder. */
const CONTROL_FOLDER = '.barge';
const OUTPUT_FILE = `${CONTROL_FOLDER}/output`;
const PROGRESS_FILE = `${CONTROL_FOLDER}/progress`;

interface Folder {
  cwd: string;
  /** Filesystems bound into the sandbox (without one, linked from the control folder). */
  binds: FilesystemBind[];
  pre: Step[];
  main: Step;
  post: Step[];
}

async function prepareFolder(request: RunRequest, sandboxed: boolean): Promise<Folder> {
  const { spec, workDir } = request;
  const control = join(workDir, CONTROL_FOLDER);
  await mkdir(control, { recursive: true });
  const binds = filesystemBinds(spec.mounts);
  const filesystems: Record<string, string> = binds.length === 0 ? {} : { BARGE_EFS: sandboxed ? FILESYSTEMS_ROOT : await linkFilesystems(control, binds) };
  await mkdir(join(workDir, 'outputs'), { recursive: true });
  const cwd = spec.workdir ? resolveInside(workDir, spec.workdir, 'workdir') : workDir;
  await mkdir(cwd, { recursive: true });
  for (const files of [spec.files, ...(spec.pre ?? []).map((t) => t.files), ...(spec.post ?? []).map((t) => t.files)]) {
    refuseControlFiles(cwd, control, files);
    await writeTaskFiles(cwd, files);
  }

  const outputFile = join(workDir, OUTPUT_FILE);
  const progressFile = join(workDir, PROGRESS_FILE);
  const baseEnv = {
    ...checkedEnv(spec.env, 'env'),
    BARGE_OUTPUT: outputFile,
    TORK_OUTPUT: outputFile,
    BARGE_PROGRESS: progressFile,
    TORK_PROGRESS: progressFile,
    BARGE_EXECUTION_ID: request.executionId,
    BARGE_JOB_ID: request.jobId,
    BARGE_WORKDIR: workDir,
    ...filesystems,
  };
  const auxStep = async (kind: 'pre' | 'post', aux: AuxTaskSpec, index: number): Promise<Step> => ({
    label: `${kind} "${aux.name}"`,
    ...(await writeScript(join(control, `${kind}-${index + 1}.sh`), aux.run ?? '', [])),
    env: { ...baseEnv, ...checkedEnv(aux.env, `${kind} env`), ...pick(baseEnv, /^(BARGE|TORK)_/) },
  });
  const args = checkedArgs(spec.args);
  return {
    cwd,
    binds,
    pre: await Promise.all((spec.pre ?? []).map((aux, i) => auxStep('pre', aux, i))),
    main: { label: null, ...(await writeScript(join(control, 'entrypoint.sh'), spec.run ?? '', args)), env: baseEnv },
    post: await Promise.all((spec.post ?? []).map((aux, i) => auxStep('post', aux, i))),
  };
}

/**
 * Without a sandbox nothing can be mounted at /mnt/efs: each filesystem is a symlink at the same
 * place under the control folder instead, and `$BARGE_EFS` says where (the sandbox's /mnt/efs).
 */
async function linkFilesystems(control: string, binds: FilesystemBind[]): Promise<string> {
  for (const bind of binds) {
    const link = join(control, bind.target);
    await mkdir(dirname(link), { recursive: true });
    await symlink(bind.source, link);
  }
  return join(control, FILESYSTEMS_ROOT);
}

/** Writes the script, executable so that one with a `#!` line can run under its own interpreter. */
async function writeScript(path: string, content: string, args: string[]): Promise<Pick<Step, 'script' | 'args' | 'direct'>> {
  await writeFile(path, content, { mode: 0o700 });
  return { script: path, args, direct: content.startsWith('#!') };
}

function refuseControlFiles(cwd: string, control: string, files: Record<string, string> | undefined): void {
  for (const name of Object.keys(files ?? {})) {
    const path = resolveInside(cwd, name, 'files');
    if (path === control || path.startsWith(`${control}/`)) {
      throw new SpecRefusal(`files "${name}" is inside .barge/, which the runtime reserves`, 'invalid: files');
    }
  }
}

function pick(values: Record<string, string>, names: RegExp): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([name]) => names.test(name)));
}

// --- running --------------------------------------------------------------------------------

async function runSteps(
  request: RunRequest,
  settings: Settings,
  folder: Folder,
  limits: AppliedLimits,
): Promise<RunOutcome> {
  const deadline = request.timeoutMs === undefined ? undefined : Date.now() + request.timeoutMs;
  const recent = new LastLines(10);
  const run = (step: Step): Promise<GroupExit> => runStep(step, { request, settings, folder, limits, deadline, recent });
  const judge = (step: Step, exit: GroupExit): Promise<RunOutcome | null> => judgeExit(step, exit, request, limits, recent);
  const notStarted = (): RunOutcome | null => {
    if (request.signal.aborted) return cancelled(NOTHING_RAN);
    if (deadline !== undefined && Date.now() >= deadline) return timedOut(request.timeoutMs ?? 0, NOTHING_RAN);
    return null;
  };

  for (const step of folder.pre) {
    const end = notStarted() ?? (await judge(step, await run(step)));
    if (end) return end;
  }
  const mainEnd = notStarted();
  if (mainEnd) return mainEnd;
  const mainExit = await run(folder.main);
  const mainFailure = await judge(folder.main, mainExit);
  if (mainFailure) return mainFailure;

  let result: string | null;
  try {
    result = await readRegularFile(request.workDir, OUTPUT_FILE, settings.maxResultBytes);
  } catch (error) {
    if (error instanceof ResultTooLargeError) return failed(error.message, 'result too large', { exitCode: 0 });
    throw error;
  }
  for (const step of folder.post) {
    const end = notStarted() ?? (await judge(step, await run(step)));
    if (end) return end;
  }
  return succeeded(result, { exitCode: mainExit.exitCode });
}

interface StepContext {
  request: RunRequest;
  settings: Settings;
  folder: Folder;
  limits: AppliedLimits;
  deadline: number | undefined;
  recent: LastLines;
}

async function runStep(step: Step, context: StepContext): Promise<GroupExit> {
  const { request, settings, folder, limits, recent } = context;
  if (step.label) request.onLog('system', `running ${step.label}`);
  const splitter = (stream: LogStream): LineSplitter =>
    new LineSplitter((line) => {
      recent.add(line);
      request.onLog(stream, line);
    }, settings.maxLineLength);
  const stdout = splitter('stdout');
  const stderr = splitter('stderr');

  const script = step.direct ? [step.script, ...step.args] : [settings.bash, step.script, ...step.args];
  const place = {
    workDir: request.workDir,
    cwd: folder.cwd,
    binds: folder.binds,
    network: request.spec.network === true,
    // Where a pids cgroup caps processes, RLIMIT_NPROC would only add a second, per-process count.
    maxProcesses: limits.processesCapped || settings.limiter.kind === 'none' ? undefined : settings.maxProcesses,
  };
  const joinCgroups = settings.spawner.joinsCgroups && limits.cgroups.length > 0;
  const wrapper = joinCgroups ? [] : limits.wrapper;
  const [command = settings.bash, ...args] = [...wrapper, ...settings.sandbox.wrap(script, place)];
  try {
    return await runProcessGroup({
      command,
      args,
      cwd: folder.cwd,
      env: { PATH: settings.path, HOME: request.workDir, LANG: settings.lang, ...step.env },
      spawnProcess: settings.spawner.spawn,
      cgroups: joinCgroups ? limits.cgroups : undefined,
      onStdout: (chunk) => stdout.push(chunk),
      onStderr: (chunk) => stderr.push(chunk),
      deadline: context.deadline,
      signal: request.signal,
      killGraceMs: settings.killGraceMs,
      cancelGraceMs: settings.cancelGraceMs,
      spareSandboxFromTerm: settings.sandbox.kind === 'bwrap',
      killStragglers: () => limits.killAll(),
    });
  } finally {
    stdout.end();
    stderr.end();
  }
}

async function judgeExit(
  step: Step,
  exit: GroupExit,
  request: RunRequest,
  limits: AppliedLimits,
  recent: LastLines,
): Promise<RunOutcome | null> {
  const ending: Ending = { exitCode: exit.exitCode };
  if (exit.stoppedBy === 'cancel') return cancelled(ending);
  if (exit.stoppedBy === 'timeout') return timedOut(request.timeoutMs ?? 0, ending);
  if (exit.exitCode === 0) return null;

  const how = exit.exitCode === null ? `killed by ${exit.exitSignal ?? 'a signal'}` : `exit code ${exit.exitCode}`;
  const prefix = step.label ? `${step.label} failed: ` : '';
  const lines = recent.text();
  if (await limits.memoryExceeded(lines)) {
    return failed(`${prefix}memory limit of ${request.memoryMb} MB exceeded (${how}): ${lines}`, 'memory limit', ending);
  }
  return failed(`${prefix}${how}: ${lines}`, null, ending);
}
