/**
 * The `lua` runtime: a task's `lua` script in Lua 5.4 (wasmoon, WebAssembly) in a fresh Lua state
 * on a pooled worker thread (lua-pool.ts), so that a script stuck in `while true do end` is stopped by
 * terminating the thread, which is then replaced.
 *
 * Conventions follow the SlideRule runner: `arg[1]` is the script's name, `arg[2]` its argument
 * string (`spec.args[0]`), further args in `arg[3]…` (also passed as `...`); `print` writes tab-joined
 * lines to stdout; the first value the script returns is the result (strings as they are, numbers
 * and booleans through `tostring`, tables as JSON with an empty table as `{}`, nil as no result).
 *
 * Sandbox: no os.execute, os.exit, os.remove, os.rename, os.tmpname, io.popen, require, package,
 * dofile, loadfile, debug, string.dump, nor binary chunks in `load`. `io.open`, `io.lines` read and
 * write text files inside the work folder only (so a script can leave files in `outputs/`);
 * `os.getenv` sees the task's `env` and nothing else.
 *
 * Limits: wasmoon's allocator cap (the task's memory) makes an oversized script fail with
 * "not enough memory", reason `memory limit`; the thread's V8 heap is capped as a backstop.
 */
import { createRequire } from 'node:module';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpus as machineCpus } from 'node:os';
import type { TaskSpec } from '../../core/spec-types.js';
import { coerceError } from '../../core/errors.js';
import type { RunOutcome, RunRequest, Runtime } from './runtime.js';
import { DEFAULT_MAX_LINE_LENGTH, LastLines, LineSplitter } from './lines.js';
import { LuaThreadPool } from './lua-pool.js';
import type { LuaTask, LuaWorkerMessage } from './lua-worker.js';
import { cancelled, failed, refused, succeeded, timedOut, type Ending } from './outcomes.js';
import { resolveInside, SpecRefusal, writeTaskFiles } from './workspace.js';

export interface LuaRuntimeOptions {
  /** Longer lines are cut into pieces of this many characters. (Default: 65536) */
  maxLineLength?: number;
  /** Lower bound for the worker thread's V8 heap, in MB. (Default: 64) */
  minHeapMb?: number;
  /** The name the script sees in `arg[1]` and in error messages. (Default: 'script.lua') */
  scriptName?: string;
  /** Idle Lua threads kept for the next tasks: the worker's slots. (Default: this machine's cpus) */
  threads?: number;
  /** Threads to run on instead of a pool of its own (tests and benches look into it). */
  pool?: LuaThreadPool;
}

const NOTHING_RAN: Ending = { exitCode: null };
const OUT_OF_MEMORY = /not enough memory/;

/** Where the Lua threads load wasmoon from: an absolute path, whatever the current folder. */
export function wasmoonPath(): string {
  return createRequire(import.meta.url).resolve('wasmoon');
}

export function createLuaRuntime(options: LuaRuntimeOptions = {}): Runtime {
  const settings: Settings = {
    pool: options.pool ?? new LuaThreadPool(Math.max(1, Math.ceil(options.threads ?? machineCpus().length)), wasmoonPath()),
    maxLineLength: options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH,
    minHeapMb: options.minHeapMb ?? 64,
    scriptName: options.scriptName ?? 'script.lua',
  };
  return {
    name: 'lua',
    run: (request) => runLua(request, settings),
    healthCheck: () => probe(settings),
    describe: () => ({ lua: 'wasmoon', luaVersion: '5.4' }),
    close: () => settings.pool.close(),
  };
}

type Settings = { pool: LuaThreadPool; maxLineLength: number; minHeapMb: number; scriptName: string };

async function runLua(request: RunRequest, settings: Settings): Promise<RunOutcome> {
  if (request.signal.aborted) return cancelled(NOTHING_RAN);
  const refusal = findUnsupported(request.spec);
  if (refusal) return refusal;
  let cwd: string;
  try {
    cwd = await prepareFolder(request);
  } catch (error) {
    if (error instanceof SpecRefusal) return failed(error.message, error.reason, NOTHING_RAN);
    return failed(`could not prepare the work folder: ${coerceError(error).message}`, null, NOTHING_RAN);
  }
  return runInThread(request, settings, cwd);
}

function findUnsupported(spec: TaskSpec): RunOutcome | null {
  if (typeof spec.lua !== 'string') return failed('the lua runtime needs a lua script', 'invalid: lua', NOTHING_RAN);
  if (spec.run !== undefined) return refused('run', 'lua');
  if (spec.image) return refused('image', 'lua');
  if (spec.registry) return refused('registry', 'lua');
  if (spec.cmd?.length) return refused('cmd', 'lua');
  if (spec.entrypoint?.length) return refused('entrypoint', 'lua');
  if (spec.pre?.length) return refused('pre', 'lua', true);
  if (spec.post?.length) return refused('post', 'lua', true);
  if (spec.mounts?.length) return refused('mounts', 'lua', true);
  if (spec.sidecars?.length) return refused('sidecars', 'lua', true);
  if (spec.networks?.length) return refused('networks', 'lua', true);
  if (spec.gpus) return refused('gpus', 'lua', true);
  return null;
}

async function prepareFolder(request: RunRequest): Promise<string> {
  const { spec, workDir } = request;
  await mkdir(join(workDir, 'outputs'), { recursive: true });
  const cwd = spec.workdir ? resolveInside(workDir, spec.workdir, 'workdir') : workDir;
  await mkdir(cwd, { recursive: true });
  await writeTaskFiles(cwd, spec.files);
  return cwd;
}

/** Runs the script on a pooled thread; settles once, on the first of done, crash, timeout or cancel. */
function runInThread(request: RunRequest, settings: Settings, cwd: string): Promise<RunOutcome> {
  const task: LuaTask = {
    script: request.spec.lua ?? '',
    scriptName: settings.scriptName,
    args: (request.spec.args ?? []).map(String),
    env: { ...request.spec.env },
    workDir: request.workDir,
    cwd,
    memoryBytes: Math.max(0, Math.floor(request.memoryMb * 1024 * 1024)),
    maxLineLength: settings.maxLineLength,
  };
  const { pool } = settings;
  const thread = pool.acquire(Math.max(settings.minHeapMb, Math.ceil(request.memoryMb)));
  const recent = new LastLines(10);
  const log = (stream: 'stdout' | 'stderr', line: string): void => {
    recent.add(line);
    request.onLog(stream, line);
  };
  // Anything the thread itself prints (wasmoon warnings) goes to the task's stderr.
  const threadOutput = new LineSplitter((line) => log('stderr', line), settings.maxLineLength);

  return new Promise((resolve) => {
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    /** `reusable`: the task ended on its own and left the thread fit for the next one. */
    const settle = (outcome: RunOutcome, reusable = false): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      request.signal.removeEventListener('abort', onAbort);
      threadOutput.end();
      if (reusable) {
        pool.release(thread);
        resolve(outcome);
      } else {
        void pool.retire(thread).finally(() => resolve(outcome));
      }
    };
    const onAbort = (): void => settle(cancelled(NOTHING_RAN));
    request.signal.addEventListener('abort', onAbort, { once: true });
    if (request.timeoutMs !== undefined) {
      const timeoutMs = request.timeoutMs;
      timers.push(setTimeout(() => settle(timedOut(timeoutMs, NOTHING_RAN)), timeoutMs));
    }
    thread.run(task, {
      message: (message: LuaWorkerMessage) => {
        if (message.type === 'log') log(message.stream === 'stderr' ? 'stderr' : 'stdout', message.line);
        else {
          const outcome = finished(message, request, log);
          settle(outcome, outcome.reason !== 'memory limit');
        }
      },
      output: (chunk) => threadOutput.push(chunk),
      error: (error) => {
        if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
          settle(failed(`memory limit of ${request.memoryMb} MB exceeded`, 'memory limit', NOTHING_RAN));
        } else {
          settle(failed(`lua runtime error: ${error.message}`, null, NOTHING_RAN));
        }
      },
      exit: (code) => settle(failed(`lua worker stopped unexpectedly (exit ${code})`, null, NOTHING_RAN)),
    });
  });
}

function finished(
  message: Extract<LuaWorkerMessage, { type: 'done' }>,
  request: RunRequest,
  log: (stream: 'stdout' | 'stderr', line: string) => void,
): RunOutcome {
  if (message.ok) return succeeded(message.result ?? null, { exitCode: 0 });
  const error = message.message ?? 'lua error';
  for (const line of `${error}${message.trace ?? ''}`.split('\n')) log('stderr', line);
  if (OUT_OF_MEMORY.test(error)) {
    return failed(`memory limit of ${request.memoryMb} MB exceeded: ${error}`, 'memory limit', { exitCode: 1 });
  }
  return failed(error, null, { exitCode: 1 });
}

/** Runs a one-line script in a throwaway folder. */
async function probe(settings: Settings): Promise<void> {
  const workDir = await mkdtemp(join(tmpdir(), 'barge-lua-health-'));
  try {
    const outcome = await runLua(
      {
        executionId: 'health',
        jobId: 'health',
        spec: { name: 'health', lua: "return 'ok'" },
        workDir,
        cpus: 1,
        memoryMb: 16,
        signal: new AbortController().signal,
        onLog: () => undefined,
      },
      settings,
    );
    if (outcome.result !== 'ok') throw new Error(`lua runtime: ${outcome.error ?? 'health probe failed'}`);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
