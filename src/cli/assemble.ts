/**
 * The one place that decides which store, runtimes and services a process runs: `barge up` (API,
 * engine, worker, UI), `barge server` (API and engine) and `barge worker` (engine and worker).
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { NodeRow } from '../core/model.js';
import { FolderArtifactStore } from '../artifacts/artifacts.js';
import { Engine } from '../engine/engine.js';
import { OutboxDispatcher } from '../engine/outbox.js';
import { Reaper } from '../engine/reaper.js';
import { Scheduler } from '../engine/scheduler.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { removeLeftoverCgroups } from '../worker/runtimes/limits.js';
import { CpuUsage } from '../worker/cpu-usage.js';
import { ThreadedWorker } from './worker-thread.js';
import { buildWorker, chooseContainerRuntime, type Mode } from './worker-parts.js';
import { buildApp } from '../api/app.js';
import { JwtVerifier, loadOrCreateSigningKey } from '../api/auth/jwt.js';
import { registerTorkWebhooks } from '../api/compat/tork/index.js';
import { VERSION } from '../version.js';
import { reportSettingsOf, type ServerConfig } from './config.js';
import { DataFolder } from './data-folder.js';
import { logEngineEvents, makeLogger } from './logging.js';
import { scAppOptions, ScNodes } from './siliconcompiler.js';

export type { Mode } from './worker-parts.js';

export interface Running {
  url: string | null;
  /** Printed loudly at start: e.g. shell tasks run without a sandbox. */
  warnings: string[];
  engine: Engine;
  worker: WorkerHandle | null;
  stop(): Promise<void>;
}

/** A worker in this thread (Worker) or in its own (ThreadedWorker): what the caller may ask of it. */
export interface WorkerHandle {
  readonly nodeId: string;
  readonly capacity: { cpus: number; memoryMb: number };
  readonly queues: string[];
  /** Joins the node's info at its next heartbeat (the API's port, once it listens). */
  addInfo(info: NodeRow['info']): void;
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
  // (`barge up`'s worker thread asks for itself.)
  const workerHere = mode === 'worker' || (mode === 'up' && config.inProcessWorker);
  const containerChoice = workerHere ? chooseContainerRuntime(config, folder.nodeId) : Promise.resolve(undefined);
  const log = makeLogger(config.logLevel, config.logFormat);
  const store: Store = await openStore(config.db);
  const engine = new Engine({
    store,
    artifacts: new FolderArtifactStore(join(config.data, 'artifacts')),
    maxArrayItems: config.maxArrayItems,
    reports: reportSettingsOf(config),
  });
  // Every process is its own node. The folder's previous holder is not running (this process
  // holds the lock), so what is still leased to it goes back now rather than when its leases lapse.
  const { nodeId } = folder;
  if (folder.previousNodeId) await engine.releaseNode(folder.previousNodeId, 'node restarted');
  // Whichever process finishes a Tork job writes its webhook deliveries, so every mode needs
  // Tork's payload shapes, not only the one serving Tork's API.
  registerTorkWebhooks();
  const unlisten = await store.listen('work', () => engine.bus.emit('work:available', { count: 1 }));
  const unlog = logEngineEvents(engine.bus, log);

  const reaper = new Reaper(engine, { nodeId });
  const dispatcher = new OutboxDispatcher({
    store,
    clock: engine.clock,
    allowPrivateTargets: config.allowPrivateWebhooks,
    bus: engine.bus,
    // Failed webhook and status-report deliveries, on stderr at debug level (BARGE_LOG_LEVEL=debug shows them).
    log: pino({ name: 'barge-outbox', level: process.env.BARGE_LOG_LEVEL ?? 'info' }, pino.destination(2)),
  });
  reaper.start();
  dispatcher.start();

  let worker: WorkerHandle | null = null;
  const warnings: string[] = [];
  if (mode !== 'server') {
    // A worker killed with -9 could not remove its cgroups (and what still runs in them).
    if (folder.previousNodeId) await removeLeftoverCgroups(folder.previousNodeId);
    if (mode === 'up' && !config.inProcessWorker) {
      // Its own thread, store connection and engine: the API's requests cannot slow its claims,
      // spawns and log handling (they shared one event loop before), nor it the API's answers.
      const threaded = await ThreadedWorker.start({ config, nodeId, bus: engine.bus });
      warnings.push(...threaded.warnings);
      worker = threaded;
    } else {
      const built = await buildWorker(mode, config, nodeId, engine, await containerChoice);
      warnings.push(...built.warnings);
      worker = built.worker;
    }
  }

  // SiliconCompiler nodes run beside the face that keeps their job folders.
  const scNodes = mode === 'worker' ? null : await ScNodes.open(config, engine, nodeId, folder.previousNodeId);

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
    app = await buildApp({
      engine,
      log,
      version: VERSION,
      open: config.open,
      tork: { open: config.torkOpen, guest: config.torkGuest, scheduler },
      sliderule: true,
      srtslurm: { open: config.srtOpen },
      batches: { filesystemsRoot: config.filesystems },
      jwt,
      rateLimit: config.rateLimit,
      ...(scNodes ? { siliconcompiler: scAppOptions(config, scNodes) } : {}),
    });
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    worker?.addInfo({ port });
    folder.announce(url);
    if (mode === 'server') void heartbeatServer(engine, nodeId);
  }

  if (worker) {
    log.info({ nodeId: worker.nodeId, cpus: worker.capacity.cpus, memoryMb: worker.capacity.memoryMb, queues: worker.queues }, `worker ${worker.nodeId.slice(0, 8)} started`);
  }
  log.info({ nodeId, mode, url }, `${mode} started${url ? ` at ${url}` : ''}`);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // Order matters: stop taking requests, drain the worker, then the services, then the store.
      await app?.close();
      await worker?.stop();
      if (worker) log.info({ nodeId: worker.nodeId }, `worker ${worker.nodeId.slice(0, 8)} stopped`);
      await scNodes?.stop();
      await scheduler.stop();
      await reaper.stop();
      await dispatcher.stop();
      await unlisten();
      unlog();
      await store.close();
      folder.release();
    })();
    return stopping;
  };
  return { url, engine, worker, warnings, stop };
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
