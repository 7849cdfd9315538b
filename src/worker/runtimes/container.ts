/**
 * The `container` runtime: a task with an `image` runs in a container under podman (or docker),
 * following Tork's docker runtime (see container-command.ts for the command, container-folder.ts
 * for /tork). Each step — pre tasks, the task, post tasks — is one `<engine> run --rm` whose
 * stdout and stderr are the log, whose exit code ends the step, and which is named after the
 * execution (`barge-<executionId>`, `…-pre-1`, `…-post-1`) so that it can be removed by name.
 *
 * Stopping a step (cancel, timeout) sends SIGTERM to the engine client, which passes it on to the
 * container (the engines' signal proxy); after the grace period the client is killed and the
 * container removed by name (`rm --force`), which kills whatever still runs in it. Removing by name
 * also covers a container that the client created just as it was being killed.
 *
 * The environment contract is the shell runtime's, with container paths: `$TORK_OUTPUT` =
 * `$BARGE_OUTPUT` = /tork/stdout, `$TORK_PROGRESS` = `$BARGE_PROGRESS` = /tork/progress,
 * `$BARGE_WORKDIR` = /tork, `$BARGE_EXECUTION_ID`, `$BARGE_JOB_ID`. Nothing from the worker's own
 * environment reaches the container. The network is off unless the task sets `network: true`;
 * `limits` become `--memory` (no extra swap) and `--cpus`.
 *
 * Images are used as they are on the worker: `pull: 'missing'` pulls one that is not there, and
 * `pull: 'never'` (for machines without a registry) fails at once with "image X not found locally".
 */
import { coerceError } from '../../core/errors.js';
import type { AuxTaskSpec, TaskSpec } from '../../core/spec-types.js';
import type { LogStream } from '../../core/model.js';
import {
  CONTAINER_MOUNT,
  CONTAINER_OUTPUT,
  CONTAINER_PROGRESS,
  containerCommand,
  runCommandLine,
  type ContainerCommand,
  type RunCommandLine,
} from './container-command.js';
import { engineCli, runEngineCommand, type EngineCli, type EngineName } from './container-engine.js';
import { prepareContainerFolder, type ContainerFolder } from './container-folder.js';
import { LastLines, LineSplitter, DEFAULT_MAX_LINE_LENGTH } from './lines.js';
import { cancelled, failed, refused, succeeded, timedOut, type Ending } from './outcomes.js';
import { runProcessGroup, type GroupExit } from './process-group.js';
import { spawnThroughHelper } from './spawn-helper.js';
import { pollProgress } from './progress.js';
import type { RunOutcome, RunRequest, Runtime } from './runtime.js';
import { findExecutable } from './sandbox.js';
import { isFilesystemMount } from './filesystems.js';
import { checkedArgs, checkedEnv, readRegularFile, replaceFile, ResultTooLargeError, SpecRefusal } from './workspace.js';

export interface ContainerRuntimeOptions {
  /** (Default: 'podman') */
  engine?: EngineName;
  /** The engine's binary. (Default: the engine's name, found on PATH) */
  binary?: string;
  /** podman's `--runtime`; for docker, a runtime the daemon knows. (Default: 'runc' for podman) */
  ociRuntime?: string;
  /** `missing` pulls an image the worker lacks; `never` fails at once. (Default: 'missing') */
  pull?: 'never' | 'missing';
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
}

interface Settings {
  cli: EngineCli;
  pull: 'never' | 'missing';
  killGraceMs: number;
  cancelGraceMs: number;
  progressPollMs: number;
  maxLineLength: number;
  maxResultBytes: number;
}

export function createContainerRuntime(options: ContainerRuntimeOptions = {}): Runtime {
  const settings: Settings = {
    cli: engineCli({ engine: options.engine ?? 'podman', binary: options.binary, ociRuntime: options.ociRuntime }),
    pull: options.pull ?? 'missing',
    killGraceMs: options.killGraceMs ?? 5000,
    cancelGraceMs: options.cancelGraceMs ?? 500,
    progressPollMs: options.progressPollMs ?? 500,
    maxLineLength: options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH,
    maxResultBytes: options.maxResultBytes ?? 16 * 1024 * 1024,
  };
  return {
    name: 'container',
    run: (request) => runContainer(request, settings),
    healthCheck: () => probeEngine(settings.cli),
    describe: () => ({ container: settings.cli.name }),
  };
}

/**
 * A container runtime when podman works here (tried first), or docker with a daemon that answers;
 * undefined when neither does. Takes up to a few seconds: call it once at start.
 */
export async function detectContainerRuntime(
  options: Omit<ContainerRuntimeOptions, 'engine' | 'binary'> = {},
): Promise<Runtime | undefined> {
  const path = process.env.PATH ?? '';
  for (const engine of ['podman', 'docker'] as const) {
    const binary = findExecutable(engine, path);
    if (!binary) continue;
    const runtime = createContainerRuntime({ ...options, engine, binary });
    try {
      await runtime.healthCheck();
      return runtime;
    } catch {
      // installed but not usable here (no daemon, no OCI runtime): try the next one
    }
  }
  return undefined;
}

async function probeEngine(cli: EngineCli): Promise<void> {
  const probe = cli.probe();
  const result = await runEngineCommand(cli, probe, 20_000);
  if (result.code !== 0) {
    const why = lastLine(result.stderr) || (result.code === null ? 'could not be started' : `exit code ${result.code}`);
    throw new Error(`container runtime: ${cli.binary} ${probe.join(' ')} failed: ${why}`);
  }
}

const NOTHING_RAN: Ending = { exitCode: null };

async function runContainer(request: RunRequest, settings: Settings): Promise<RunOutcome> {
  if (request.signal.aborted) return cancelled(NOTHING_RAN);
  const refusal = findUnsupported(request.spec);
  if (refusal) return refusal;

  let plan: Plan;
  try {
    plan = await preparePlan(request, settings);
  } catch (error) {
    if (error instanceof SpecRefusal) return failed(error.message, error.reason, NOTHING_RAN);
    return failed(`could not prepare the work folder: ${coerceError(error).message}`, null, NOTHING_RAN);
  }

  const progress = pollProgress(request.workDir, plan.folder.progressFile, request.onProgress, settings.progressPollMs);
  let outcome: RunOutcome;
  try {
    outcome = await runSteps(request, settings, plan);
  } catch (error) {
    outcome = failed(`container runtime error: ${coerceError(error).message}`, null, NOTHING_RAN);
  } finally {
    await progress.stop();
    if (plan.folder.namedVolumes.length > 0) {
      await runEngineCommand(settings.cli, settings.cli.removeVolumes(plan.folder.namedVolumes));
    }
  }
  return outcome;
}

// --- refusals -------------------------------------------------------------------------------

function findUnsupported(spec: TaskSpec): RunOutcome | null {
  if (!spec.image) return failed('a container task needs an image', 'invalid: image', NOTHING_RAN);
  if (spec.lua !== undefined) return refused('lua', 'container');
  if (spec.registry) return refused('registry', 'container');
  if (spec.sidecars?.length) return refused('sidecars', 'container', true);
  if (spec.networks?.length) return refused('networks', 'container', true);
  if (spec.gpus) return refused('gpus', 'container', true);
  for (const mount of spec.mounts ?? []) {
    if (isFilesystemMount(mount)) continue;
    if (mount.type === 'bind') return refused('bind mounts', 'container', true);
    if (mount.type !== 'volume' && mount.type !== 'tmpfs') return refused(`mounts of type "${mount.type}"`, 'container', true);
    if (mount.source) return refused('mount sources', 'container', true);
    if (Object.keys(mount.opts ?? {}).length > 0) return refused('mount opts', 'container', true);
  }
  for (const [kind, tasks] of [['pre', spec.pre], ['post', spec.post]] as const) {
    for (const aux of tasks ?? []) {
      if (aux.registry) return refused(`${kind} task registry`, 'container');
    }
  }
  return null;
}

// --- the plan -------------------------------------------------------------------------------

interface Step {
  /** 'pre "setup"', 'post "upload"', or null for the task itself. */
  label: string | null;
  containerName: string;
  image: string;
  /** The `run` script, written to /tork/entrypoint just before the step runs. */
  script: string | null;
  /** Built up front, so that a value the engine would misread is refused before anything runs. */
  commandLine: RunCommandLine;
}

interface Plan {
  folder: ContainerFolder;
  pre: Step[];
  main: Step;
  post: Step[];
}

interface StepSource {
  label: string | null;
  containerName: string;
  image: string;
  run: string | undefined;
  command: ContainerCommand;
  env: Record<string, string>;
}

async function preparePlan(request: RunRequest, settings: Settings): Promise<Plan> {
  const { spec, executionId } = request;
  const folder = await prepareContainerFolder(spec, request.workDir, executionId);
  const baseEnv = { ...checkedEnv(spec.env, 'env'), ...contractEnv(request) };
  const name = `barge-${executionId}`;
  const step = (source: StepSource): Step => ({
    label: source.label,
    containerName: source.containerName,
    image: source.image,
    script: source.run || null,
    commandLine: runCommandLine(
      {
        name: source.containerName,
        image: source.image,
        command: source.command,
        env: source.env,
        workdir: folder.workdir,
        volumes: folder.volumes,
        tmpfs: folder.tmpfs,
        labels: { 'barge.execution': executionId, 'barge.job': request.jobId },
        network: spec.network === true,
        cpus: request.cpus,
        memoryMb: request.memoryMb,
      },
      settings.cli.runFlags,
    ),
  });
  const auxStep = (kind: 'pre' | 'post', aux: AuxTaskSpec, index: number): Step =>
    step({
      label: `${kind} "${aux.name}"`,
      containerName: `${name}-${kind}-${index + 1}`,
      image: aux.image || (spec.image ?? ''),
      run: aux.run,
      command: containerCommand(aux, []),
      env: { ...baseEnv, ...checkedEnv(aux.env, `${kind} env`), ...contractEnv(request) },
    });
  return {
    folder,
    pre: (spec.pre ?? []).map((aux, i) => auxStep('pre', aux, i)),
    main: step({
      label: null,
      containerName: name,
      image: spec.image ?? '',
      run: spec.run,
      command: containerCommand(spec, checkedArgs(spec.args)),
      env: baseEnv,
    }),
    post: (spec.post ?? []).map((aux, i) => auxStep('post', aux, i)),
  };
}

/** The variables every step sees; they win over the task's own `env`. */
function contractEnv(request: RunRequest): Record<string, string> {
  return {
    BARGE_OUTPUT: CONTAINER_OUTPUT,
    TORK_OUTPUT: CONTAINER_OUTPUT,
    BARGE_PROGRESS: CONTAINER_PROGRESS,
    TORK_PROGRESS: CONTAINER_PROGRESS,
    BARGE_EXECUTION_ID: request.executionId,
    BARGE_JOB_ID: request.jobId,
    BARGE_WORKDIR: CONTAINER_MOUNT,
  };
}

// --- running --------------------------------------------------------------------------------

interface StepContext {
  request: RunRequest;
  settings: Settings;
  folder: ContainerFolder;
  deadline: number | undefined;
  recent: LastLines;
}

async function runSteps(request: RunRequest, settings: Settings, plan: Plan): Promise<RunOutcome> {
  const deadline = request.timeoutMs === undefined ? undefined : Date.now() + request.timeoutMs;
  const context: StepContext = { request, settings, folder: plan.folder, deadline, recent: new LastLines(10) };
  const notStarted = (): RunOutcome | null => {
    if (request.signal.aborted) return cancelled(NOTHING_RAN);
    if (deadline !== undefined && Date.now() >= deadline) return timedOut(request.timeoutMs ?? 0, NOTHING_RAN);
    return null;
  };
  const runAndJudge = async (step: Step): Promise<{ exit: GroupExit; end: RunOutcome | null }> => {
    const exit = await runStep(step, context);
    return { exit, end: judgeExit(step, exit, request, context.recent) };
  };

  const steps = [...plan.pre, plan.main, ...plan.post];
  for (const image of new Set(steps.map((step) => step.image))) {
    const end = notStarted() ?? (await ensureImage(image, context));
    if (end) return end;
  }
  for (const step of plan.pre) {
    const end = notStarted() ?? (await runAndJudge(step)).end;
    if (end) return end;
  }
  const mainEnd = notStarted();
  if (mainEnd) return mainEnd;
  const main = await runAndJudge(plan.main);
  if (main.end) return main.end;

  let result: string | null;
  try {
    result = await readRegularFile(request.workDir, plan.folder.outputFile, settings.maxResultBytes);
  } catch (error) {
    if (error instanceof ResultTooLargeError) return failed(error.message, 'result too large', { exitCode: 0 });
    throw error;
  }
  for (const step of plan.post) {
    const end = notStarted() ?? (await runAndJudge(step)).end;
    if (end) return end;
  }
  return succeeded(result, { exitCode: main.exit.exitCode });
}

async function runStep(step: Step, context: StepContext): Promise<GroupExit> {
  const { request, settings, folder } = context;
  if (step.label) request.onLog('system', `running ${step.label}`);
  // The previous step's container may have left a link here: replace it, never write through it.
  if (step.script !== null) await replaceFile(request.workDir, folder.scriptFile, step.script, 0o755);
  const line = step.commandLine;
  const exit = await runEngineClient(context, line.args, line.env, () => removeContainer(settings.cli, step.containerName));
  // A client killed by someone else's signal may have left its container running.
  if (exit.stoppedBy === null && exit.exitCode === null) await removeContainer(settings.cli, step.containerName);
  return exit;
}

/** Runs the engine's client as a process group, its output as log lines. */
async function runEngineClient(
  context: StepContext,
  args: string[],
  env: Record<string, string>,
  removeLeftovers: () => Promise<void>,
  stream: (which: LogStream) => LogStream = (which) => which,
): Promise<GroupExit> {
  const { request, settings, deadline, recent } = context;
  const splitter = (which: LogStream): LineSplitter =>
    new LineSplitter((text) => {
      recent.add(text);
      request.onLog(stream(which), text);
    }, settings.maxLineLength);
  const stdout = splitter('stdout');
  const stderr = splitter('stderr');
  const stopRequested = (): boolean => request.signal.aborted || (deadline !== undefined && Date.now() >= deadline);
  try {
    return await runProcessGroup({
      command: settings.cli.binary,
      args: [...settings.cli.globalFlags, ...args],
      cwd: request.workDir,
      env: { ...workerEnvironment(), ...env },
      spawnProcess: spawnThroughHelper,
      onStdout: (chunk) => stdout.push(chunk),
      onStderr: (chunk) => stderr.push(chunk),
      deadline,
      signal: request.signal,
      killGraceMs: settings.killGraceMs,
      cancelGraceMs: settings.cancelGraceMs,
      spareSandboxFromTerm: false,
      // Called when the grace period is over and again once the client is gone; only a stop needs it.
      killStragglers: async () => {
        if (stopRequested()) await removeLeftovers();
      },
    });
  } finally {
    stdout.end();
    stderr.end();
  }
}

/** The engine client needs the worker's environment (PATH, HOME, XDG_…); the container never sees it. */
function workerEnvironment(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

async function removeContainer(cli: EngineCli, name: string): Promise<void> {
  await runEngineCommand(cli, cli.remove(name));
}

/** Null when the image is here (or was pulled); otherwise how the execution ends. */
async function ensureImage(image: string, context: StepContext): Promise<RunOutcome | null> {
  const { settings, request } = context;
  const { cli } = settings;
  const exists = await runEngineCommand(cli, cli.imageExists(image));
  if (exists.code === 0) return null;
  if (exists.code === null) {
    return failed(`container runtime: could not run ${cli.binary}: ${lastLine(exists.stderr) || 'not found'}`, null, NOTHING_RAN);
  }
  if (settings.pull === 'never') return failed(`image ${image} not found locally`, 'image not found', NOTHING_RAN);

  request.onLog('system', `pulling image ${image}`);
  const exit = await runEngineClient(context, cli.pull(image), {}, async () => undefined, () => 'system');
  if (exit.stoppedBy === 'cancel') return cancelled(NOTHING_RAN);
  if (exit.stoppedBy === 'timeout') return timedOut(request.timeoutMs ?? 0, NOTHING_RAN);
  if (exit.exitCode !== 0) {
    const why = lastLine(context.recent.text()) || `exit code ${exit.exitCode}`;
    return failed(`image ${image} not found locally, and pulling it failed: ${why}`, 'image not found', NOTHING_RAN);
  }
  return null;
}

/** Exit code of `podman run` / `docker run` when a process in the container was SIGKILLed. */
const KILLED_EXIT_CODE = 137;

function judgeExit(step: Step, exit: GroupExit, request: RunRequest, recent: LastLines): RunOutcome | null {
  const ending: Ending = { exitCode: exit.exitCode };
  if (exit.stoppedBy === 'cancel') return cancelled(ending);
  if (exit.stoppedBy === 'timeout') return timedOut(request.timeoutMs ?? 0, ending);
  if (exit.exitCode === 0) return null;

  const how = exit.exitCode === null ? `killed by ${exit.exitSignal ?? 'a signal'}` : `exit code ${exit.exitCode}`;
  const prefix = step.label ? `${step.label} failed: ` : '';
  const lines = recent.text();
  // The engines cannot say after `--rm` whether the kernel's OOM killer struck (podman's
  // State.OOMKilled stays false on cgroup v1 even then); a SIGKILL nobody here sent, under a
  // memory limit, is almost always it.
  if (exit.exitCode === KILLED_EXIT_CODE && request.memoryMb > 0) {
    return failed(`${prefix}memory limit of ${request.memoryMb} MB exceeded (${how}): ${lines}`, 'memory limit', ending);
  }
  return failed(`${prefix}${how}: ${lines}`, null, ending);
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() ?? '';
}
