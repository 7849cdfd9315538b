/**
 * The worker's parts as `barge up` and `barge worker` configure them: its runtimes, sandbox
 * warnings and container choice. Kept apart from assemble.ts so `barge up`'s worker thread
 * (worker-thread-entry.ts) loads the worker without the HTTP side.
 */
import { dirname, join } from 'node:path';
import type { Engine } from '../engine/engine.js';
import {
  createLuaRuntime,
  createShellRuntime,
  detectContainerRuntime,
  type Runtime,
  type ShellRuntimeOptions,
} from '../worker/runtimes/index.js';
import { engineSource } from '../worker/source.js';
import { Worker } from '../worker/worker.js';
import { VERSION } from '../version.js';
import type { ServerConfig } from './config.js';
import { credentialsPath } from './credentials.js';

export type Mode = 'up' | 'server' | 'worker';

/** The worker of a `barge up` or `barge worker` (here, or in a worker thread), started. */
export async function buildWorker(
  mode: Mode,
  config: ServerConfig,
  nodeId: string,
  engine: Engine,
  container: { runtime: Runtime; info: string } | undefined,
): Promise<{ worker: Worker; warnings: string[] }> {
  const shell = createShellRuntime(shellOptions(config, nodeId));
  const lua = createLuaRuntime({ threads: config.cpus });
  const worker = new Worker({
    source: engineSource(engine),
    artifacts: engine.artifacts,
    nodeId,
    name: mode === 'up' ? 'barge up' : 'worker',
    role: mode === 'up' ? 'standalone' : 'worker',
    version: VERSION,
    workRoot: join(config.data, 'work'),
    runtimes: { shell, lua, ...(container ? { container: container.runtime } : {}) },
    cpus: config.cpus,
    memoryMb: config.memory,
    queues: config.queues,
    drainGraceMs: config.drainGrace * 1000,
    defaultTimeoutMs: config.luaTimeout > 0 ? { lua: config.luaTimeout * 1000 } : {},
    outputLimits: { maxFiles: config.maxOutputFiles, maxBytes: Math.floor(config.maxOutputMb * 1024 * 1024) },
    info: { ...shell.describe(), lua: 'wasmoon', ...(container ? { container: container.info } : {}) },
  });
  worker.start();
  return { worker, warnings: sandboxWarnings(shell.describe(), config) };
}

/** The shell runtime as configured; also for tasks with an image under `--image-policy ignore`. */
export function shellOptions(config: ServerConfig, nodeId: string): ShellRuntimeOptions {
  return {
    isolation: config.isolation,
    requireSandbox: config.requireSandbox,
    taskUser: config.taskUser,
    maxProcesses: config.maxProcesses,
    nodeId,
    // Should a bound system folder hold them, the task must not see the data folder or the CLI's token.
    hiddenPaths: [config.data, dirname(credentialsPath())],
  };
}

/** What the operator must hear at start: shell tasks run on the host itself, or not at all. */
function sandboxWarnings(shell: Record<string, string | number | boolean>, config: ServerConfig): string[] {
  if (shell.isolation !== 'none') return [];
  const why = String(shell.noSandbox ?? 'no sandbox');
  if (config.requireSandbox) return [`shell tasks will FAIL on this worker: --require-sandbox is set and there is no sandbox (${why})`];
  const who = process.getuid?.() === 0 ? 'root' : 'the worker\'s own user';
  return [
    `shell tasks run WITHOUT a sandbox, as ${who}, with full access to this host (${why}); ` +
      'install bubblewrap, or pass --require-sandbox to refuse them',
  ];
}

/**
 * The runtime for tasks with an `image`, and what the node's info says about it (the reaper's
 * explainWaiting reads `info.container`). `ignore`: the shell runs their `run` script, as under
 * Tork's shell runtime. Otherwise podman or docker when one works here; without one the worker
 * does not claim such tasks and they wait, queued, for a worker that has one.
 */
export async function chooseContainerRuntime(config: ServerConfig, nodeId: string): Promise<{ runtime: Runtime; info: string } | undefined> {
  if (config.imagePolicy === 'ignore') {
    return { runtime: createShellRuntime({ ...shellOptions(config, nodeId), ignoreImage: true }), info: 'shell (image ignored)' };
  }
  if (config.containers === 'off') return undefined;
  const runtime = await detectContainerRuntime();
  return runtime ? { runtime, info: String(runtime.describe().container) } : undefined;
}
