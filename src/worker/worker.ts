/**
 * The worker loop: claim what fits in the free capacity, run each execution in its runtime in a
 * private work folder, stream its log in batches, keep its lease alive, collect its outputs, and
 * report its end. Stopping drains: no new claims, running executions get `drainGraceMs` to
 * finish, and whatever is still running then is handed back as a new attempt.
 */
import { cpus as machineCpus, hostname, totalmem } from 'node:os';
import type { ExecutionKind, ExecutionRow, LogStream, NodeRow } from '../core/model.js';
import { coerceError } from '../core/errors.js';
import { parseCpus } from '../core/duration.js';
import type { ArtifactStore } from '../artifacts/artifacts.js';
import type { FinishReport } from '../engine/engine.js';
import type { Runtime, RunOutcome } from './runtimes/runtime.js';
import type { WorkSource } from './source.js';
import { CpuUsage } from './cpu-usage.js';
import { deliver } from './deliver.js';
import { LogBatcher } from './logs.js';
import { collectOutputs, DEFAULT_OUTPUT_LIMITS, OutputLimitError, type OutputLimits } from './outputs.js';
import { WorkFolders } from './work-folders.js';

/** See WorkerOptions.defaultTimeoutMs. */
const DEFAULT_TIMEOUT_MS: Partial<Record<ExecutionKind, number>> = { lua: 10 * 60_000 };

export interface WorkerOptions {
  source: WorkSource;
  artifacts: ArtifactStore;
  nodeId: string;
  name?: string;
  version: string;
  /** Where work folders are made, one per running execution, reused or removed after (see work-folders.ts). */
  workRoot: string;
  runtimes: Partial<Record<ExecutionKind, Runtime>>;
  /** (Default: this machine's cpus) */
  cpus?: number;
  /** (Default: this machine's memory) */
  memoryMb?: number;
  /** (Default: ['default']) */
  queues?: string[];
  /** Files and bytes an execution may leave in outputs/; more fails it. (Default: 10,000 files, 1 GiB) */
  outputLimits?: Partial<OutputLimits>;
  /** Log bytes kept per execution; the rest is counted and reported. (Default: 10 MiB) */
  logCapBytes?: number;
  /** Lease renewal and cancel check period. (Default: 1 s) */
  renewMs?: number;
  heartbeatMs?: number;
  /** How long running executions may go on after stop() before being handed back. (Default: 10 s) */
  drainGraceMs?: number;
  /** Poll period when nothing wakes the worker. (Default: 1 s) */
  idlePollMs?: number;
  /**
   * Time limit per kind for executions without a `timeout` of their own: a Lua loop cannot be
   * stopped from outside its thread by anything else. (Default: Lua 10 minutes, others none)
   */
  defaultTimeoutMs?: Partial<Record<ExecutionKind, number>>;
  /** Extra facts for the node row (isolation in use, …). */
  info?: NodeRow['info'];
  role?: NodeRow['role'];
}

interface Running {
  execution: ExecutionRow;
  abort: AbortController;
  /** Set when the worker hands the execution back instead of reporting its end. */
  released: boolean;
  done: Promise<void>;
}

export class Worker {
  readonly capacity: { cpus: number; memoryMb: number };
  readonly queues: string[];
  private readonly running = new Map<string, Running>();
  private stopping = false;
  private loop: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private wake: (() => void) | undefined;
  private offRevoked: (() => void) | undefined;
  private readonly startedAt = new Date().toISOString();
  private readonly cpuUsage = new CpuUsage();
  private readonly folders: WorkFolders;

  constructor(private readonly options: WorkerOptions) {
    this.capacity = {
      cpus: options.cpus ?? machineCpus().length,
      memoryMb: options.memoryMb ?? Math.floor(totalmem() / 1024 / 1024),
    };
    this.queues = options.queues ?? ['default'];
    this.folders = new WorkFolders(options.workRoot);
  }

  /** Joins the node's info at its next heartbeat (the API's port, once it listens). */
  addInfo(info: NodeRow['info']): void {
    this.options.info = { ...this.options.info, ...info };
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  get activeCount(): number {
    return this.running.size;
  }

  start(): void {
    if (this.loop) return;
    const { source } = this.options;
    this.offRevoked = source.onRevoked?.((id) => this.revoke(id));
    this.timers.push(setInterval(() => void this.renewLeases(), this.options.renewMs ?? 1_000));
    this.timers.push(setInterval(() => void this.heartbeat(), this.options.heartbeatMs ?? 5_000));
    void this.heartbeat();
    this.loop = this.claimLoop();
  }

  /** Drains: stops claiming, waits up to the grace period, hands back what still runs. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    const grace = this.options.drainGraceMs ?? 10_000;
    const all = Promise.all([...this.running.values()].map((r) => r.done));
    const timedOut = await Promise.race([all.then(() => false), sleep(grace).then(() => true)]);
    if (timedOut) {
      for (const run of this.running.values()) {
        run.released = true;
        run.abort.abort();
      }
      await all;
    }
    await Promise.all(Object.values(this.options.runtimes).map((runtime) => runtime?.close?.()));
    await this.folders.close();
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.offRevoked?.();
    await this.heartbeat('DOWN').catch(() => undefined);
  }

  private used(): { cpus: number; memoryMb: number } {
    let cpus = 0;
    let memoryMb = 0;
    for (const { execution } of this.running.values()) {
      cpus += execution.cpus;
      memoryMb += execution.memoryMb;
    }
    return { cpus, memoryMb };
  }

  private kinds(): ExecutionKind[] {
    return (Object.keys(this.options.runtimes) as ExecutionKind[]).filter((kind) => this.options.runtimes[kind]);
  }

  private async claimLoop(): Promise<void> {
    const { source } = this.options;
    while (!this.stopping) {
      const used = this.used();
      const free = { cpus: this.capacity.cpus - used.cpus, memoryMb: this.capacity.memoryMb - used.memoryMb };
      let claimed: ExecutionRow[] = [];
      if (free.cpus > 0 && free.memoryMb > 0) {
        try {
          claimed = await source.claim({
            nodeId: this.nodeId,
            cpus: free.cpus,
            memoryMb: free.memoryMb,
            queues: this.queues,
            kinds: this.kinds(),
            // Most executions ask for a whole cpu: asking for more candidates than could fit
            // only makes the store read rows the claim then drops.
            max: Math.min(64, Math.max(1, Math.floor(free.cpus))),
          });
        } catch {
          claimed = [];
        }
      }
      for (const execution of claimed) this.launch(execution);
      // Claims, runs and reports can follow each other in promise callbacks alone (a store that
      // answers synchronously, a reused work folder): let timers and I/O have their turn.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (claimed.length > 0) continue;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        source.waitForWork(this.options.idlePollMs ?? 1_000).then(resolve, resolve);
      });
      this.wake = undefined;
    }
  }

  private launch(execution: ExecutionRow): void {
    const abort = new AbortController();
    const run: Running = { execution, abort, released: false, done: Promise.resolve() };
    this.running.set(execution.id, run);
    run.done = this.execute(run)
      .catch(() => undefined)
      .finally(() => {
        this.running.delete(execution.id);
        this.wake?.();
      });
  }

  private async execute(run: Running): Promise<void> {
    const { source, nodeId } = { source: this.options.source, nodeId: this.nodeId };
    const { execution } = run;
    if (!(await source.start(nodeId, execution.id))) return;
    let workDir: string | undefined;
    const logs = new LogBatcher({
      executionId: execution.id,
      capBytes: this.options.logCapBytes ?? 10 * 1024 * 1024,
      // Kept and sent again while the store is unavailable, until the lease is lost.
      write: (lines) => deliver(() => source.appendLogs(lines), { giveUp: run.abort.signal }),
    });
    let outcome: RunOutcome;
    try {
      workDir = await this.folders.take();
      outcome = await this.runIn(run, workDir, (stream, line) => logs.add(stream, line));
    } catch (error) {
      outcome = failed(`worker error: ${coerceError(error).message}`);
    }
    try {
      if (!run.released && workDir !== undefined) outcome = await this.collect(run, workDir, outcome, (line) => logs.add('system', line));
      await logs.close();
      if (run.released) {
        await source.release(nodeId, execution.id, 'worker stopped');
        return;
      }
      // An end that happened while the store was unavailable is reported once it is back, so the
      // execution does not run again; a report the engine refuses (lease lost) is not retried.
      await deliver(() => source.finish(nodeId, execution.id, toReport(outcome)), { giveUp: run.abort.signal });
    } finally {
      if (workDir !== undefined) await this.folders.give(workDir);
    }
  }

  private async runIn(run: Running, workDir: string, onLog: (stream: LogStream, line: string) => void): Promise<RunOutcome> {
    const { execution } = run;
    const runtime = this.options.runtimes[execution.kind];
    if (!runtime) return failed(`no ${execution.kind} runtime on this worker`);
    return runtime.run({
      executionId: execution.id,
      jobId: execution.jobId,
      // Scripts can tell a retry from a first run.
      spec: { ...execution.spec, env: { ...execution.spec.env, BARGE_ATTEMPT: String(execution.attempt) } },
      workDir,
      timeoutMs: execution.timeoutMs ?? (this.options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS)[execution.kind],
      cpus: cpuCapOf(execution),
      memoryMb: execution.memoryMb,
      signal: run.abort.signal,
      onLog,
      onProgress: (progress) => {
        this.options.source.reportProgress(this.nodeId, execution.id, progress).catch(() => undefined);
      },
    });
  }

  /**
   * Copies what the execution left in outputs/ into the artifact store and records it. Anything
   * that goes wrong here (a limit passed, the artifact store failing) fails the execution with its
   * message, so that its end is still reported; a cancelled execution stays cancelled.
   */
  private async collect(run: Running, workDir: string, outcome: RunOutcome, note: (line: string) => void): Promise<RunOutcome> {
    const { execution } = run;
    const signal = run.abort.signal;
    try {
      const { artifacts, skipped } = await collectOutputs({
        workDir,
        jobId: execution.jobId,
        executionId: execution.id,
        store: this.options.artifacts,
        limits: { ...DEFAULT_OUTPUT_LIMITS, ...this.options.outputLimits },
      });
      for (const path of skipped) note(`${path} is a link or a special file: not collected`);
      if (artifacts.length > 0) await deliver(() => this.options.source.recordArtifacts(artifacts), { giveUp: signal });
      return outcome;
    } catch (error) {
      const limited = error instanceof OutputLimitError;
      const message = limited ? error.message : `could not collect outputs: ${coerceError(error).message}`;
      note(message);
      if (outcome.state === 'CANCELLED') return outcome;
      if (outcome.state === 'FAILED') return { ...outcome, error: `${outcome.error ?? 'failed'}; ${message}` };
      return { ...outcome, state: 'FAILED', result: null, error: message, reason: limited ? 'output limit' : 'worker' };
    }
  }

  /** An execution was taken from this node (cancelled, timed out by the reaper): stop it now. */
  private revoke(executionId: string): void {
    this.running.get(executionId)?.abort.abort();
  }

  private async renewLeases(): Promise<void> {
    const ids = [...this.running.keys()];
    if (ids.length === 0) return;
    try {
      const held = new Set(await this.options.source.renewLeases(this.nodeId, ids));
      for (const id of ids) {
        const run = this.running.get(id);
        // Only revoke executions that were already running when we asked.
        if (run && !held.has(id) && !run.released) run.abort.abort();
      }
    } catch {
      // The server is unreachable: keep running; the reaper decides if the lease lapses.
    }
  }

  private async heartbeat(status: NodeRow['status'] = 'UP'): Promise<void> {
    const used = this.used();
    const node: NodeRow = {
      id: this.nodeId,
      name: this.options.name ?? 'worker',
      role: this.options.role ?? 'worker',
      hostname: hostname(),
      version: this.options.version,
      startedAt: this.startedAt,
      lastHeartbeatAt: new Date().toISOString(),
      cpuPercent: this.cpuUsage.sample(),
      cpus: this.capacity.cpus,
      memoryMb: this.capacity.memoryMb,
      usedCpus: used.cpus,
      usedMemoryMb: used.memoryMb,
      queues: this.queues,
      status,
      info: { ...(this.options.info ?? {}), taskCount: this.running.size },
    };
    await this.options.source.heartbeat(node).catch(() => undefined);
  }
}

function toReport(outcome: RunOutcome): FinishReport {
  return {
    state: outcome.state,
    exitCode: outcome.exitCode,
    result: outcome.result,
    error: outcome.error,
    reason: outcome.reason,
  };
}

function failed(error: string): RunOutcome {
  return { state: 'FAILED', exitCode: null, result: null, error, reason: 'worker' };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The cpu time a task may use: what its spec names, else what it reserved. They differ only for
 * an item whose reservation is a shared share of a cpu (see sharedItemCpus): it reserves the share
 * but may use a whole cpu when the machine has it.
 */
function cpuCapOf(execution: ExecutionRow): number {
  const named = execution.spec.limits?.cpus;
  return named === undefined ? execution.cpus : parseCpus(named);
}
