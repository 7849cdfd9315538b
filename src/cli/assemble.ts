/**
 * The one place that decides which store, runtimes and services a process runs: `barge up` (API,
 * engine, worker, UI), `barge server` (API and engine) and `barge worker` (engine and worker).
 */
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { NodeRow } from '../core/model.js';
import { FolderArtifactStore } from '../artifacts/artifacts.js';
import { Engine } from '../engine/engine.js';
import { OutboxDispatcher } from '../engine/outbox.js';
import { Reaper } from '../engine/reaper.js';
import { Scheduler } from '../engine/scheduler.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import {
  createLuaRuntime,
  createShellRuntime,
  detectContainerRuntime,
  type Runtime,
  type ShellRuntimeOptions,
} from '../worker/runtimes/index.js';
import { removeLeftoverCgroups } from '../worker/runtimes/limits.js';
import { CpuUsage } from '../worker/cpu-usage.js';
import { engineSource } from '../worker/source.js';
import { Worker } from '../worker/worker.js';
import { buildApp } from '../api/app.js';
import { JwtVerifier, loadOrCreateSigningKey } from '../api/auth/jwt.js';
import { registerTorkWebhooks } from '../api/compat/tork/index.js';
import { VERSION } from '../version.js';
import type { ServerConfig } from './config.js';
import { credentialsPath } from './credentials.js';
import { DataFolder } from './data-folder.js';

export type Mode = 'up' | 'server' | 'worker';

export interface Running {
  url: string | null;
  /** Printed loudly at start: e.g. shell tasks run without a sandbox. */
  warnings: string[];
  engine: Engine;
  worker: Worker | null;
  stop(): Promise<void>;
}

export async function start(mode: Mode, config: ServerConfig): Promise<Running> {
  // Before anything touches the store: a second worker-running process on this folder stops here.
  const folder = mode === 'server' ? DataFolder.share(config.data, mode) : DataFolder.claim(config.data, mode);
  try {
    return await startParts(mode, config, folder);
  } catch (error) {
    folder.release();
    throw error;
  }
}

async function startParts(mode: Mode, config: ServerConfig, folder: DataFolder): Promise<Running> {
  // Asking podman or docker takes a moment: do it while the store opens.
  const containerChoice = mode === 'server' ? Promise.resolve(undefined) : chooseContainerRuntime(config, folder.nodeId);
  const store: Store = await openStore(config.db);
  const engine = new Engine({
    store,
    artifacts: new FolderArtifactStore(join(config.data, 'artifacts')),
    maxArrayItems: config.maxArrayItems,
  });
  // Every process is its own node. The folder's previous holder is not running (this process
  // holds the lock), so what is still leased to it goes back now rather than when its leases lapse.
  const { nodeId } = folder;
  if (folder.previousNodeId) await engine.releaseNode(folder.previousNodeId, 'node restarted');
  // Whichever process finishes a Tork job writes its webhook deliveries, so every mode needs
  // Tork's payload shapes, not only the one serving Tork's API.
  registerTorkWebhooks();
  const unlisten = await store.listen('work', () => engine.bus.emit('work:available', { count: 1 }));

  const reaper = new Reaper(engine, { nodeId });
  const dispatcher = new OutboxDispatcher({ store, clock: engine.clock, allowPrivateTargets: config.allowPrivateWebhooks });
  reaper.start();
  dispatcher.start();

  let worker: Worker | null = null;
  const warnings: string[] = [];
  // Read by the worker at each heartbeat, so the port can join once the API listens.
  let nodeInfo: NodeRow['info'] = {};
  if (mode !== 'server') {
    // A worker killed with -9 could not remove its cgroups (and what still runs in them).
    if (folder.previousNodeId) await removeLeftoverCgroups(folder.previousNodeId);
    const shell = createShellRuntime(shellOptions(config, nodeId));
    warnings.push(...sandboxWarnings(shell.describe(), config));
    const lua = createLuaRuntime({ threads: config.cpus });
    const container = await containerChoice;
    nodeInfo = { ...shell.describe(), lua: 'wasmoon', ...(container ? { container: container.info } : {}) };
    worker = new Worker({
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
      outputLimits: { maxFiles: config.maxOutputFiles, maxBytes: Math.floor(config.maxOutputMb * 1024 * 1024) },
      info: nodeInfo,
    });
    worker.start();
  }

  let app: FastifyInstance | null = null;
  let url: string | null = null;
  // Cron schedules (Tork's scheduled jobs) fire on servers; a compare-and-set makes one fire each tick.
  const scheduler = new Scheduler(engine);
  if (mode !== 'worker') {
    scheduler.start();
    const jwt = new JwtVerifier({
      store,
      signingKey: await loadOrCreateSigningKey(config.data),
      trusted: config.jwtIssuer && config.jwtJwks ? [{ issuer: config.jwtIssuer, jwks: config.jwtJwks }] : [],
      audiences: config.jwtAudience,
    });
    app = await buildApp({ engine, version: VERSION, open: config.open, tork: { open: config.torkOpen, guest: config.torkGuest, scheduler }, jwt, rateLimit: config.rateLimit });
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    nodeInfo.port = port;
    folder.announce(url);
    if (mode === 'server') void heartbeatServer(engine, nodeId);
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // Order matters: stop taking requests, drain the worker, then the services, then the store.
      await app?.close();
      await worker?.stop();
      await scheduler.stop();
      await reaper.stop();
      await dispatcher.stop();
      await unlisten();
      await store.close();
      folder.release();
    })();
    return stopping;
  };
  return { url, engine, worker, warnings, stop };
}

/** The shell runtime as configured; also for tasks with an image under `--image-policy ignore`. */
function shellOptions(config: ServerConfig, nodeId: string): ShellRuntimeOptions {
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
async function chooseContainerRuntime(config: ServerConfig, nodeId: string): Promise<{ runtime: Runtime; info: string } | undefined> {
  if (config.imagePolicy === 'ignore') {
    return { runtime: createShellRuntime({ ...shellOptions(config, nodeId), ignoreImage: true }), info: 'shell (image ignored)' };
  }
  if (config.containers === 'off') return undefined;
  const runtime = await detectContainerRuntime();
  return runtime ? { runtime, info: String(runtime.describe().container) } : undefined;
}

async function heartbeatServer(engine: Engine, nodeId: string): Promise<void> {
  const startedAt = new Date().toISOString();
  // A Tork coordinator reports its host's CPU use too.
  const cpu = new CpuUsage();
  const beat = (): Promise<void> =>
    engine
      .heartbeat({
        id: nodeId,
        name: 'server',
        role: 'server',
        hostname: hostname(),
        version: VERSION,
        startedAt,
        lastHeartbeatAt: new Date().toISOString(),
        cpuPercent: cpu.sample(),
        cpus: 0,
        memoryMb: 0,
        usedCpus: 0,
        usedMemoryMb: 0,
        queues: [],
        status: 'UP',
        info: {},
      })
      .catch(() => undefined);
  await beat();
  setInterval(() => void beat(), 10_000).unref();
}
