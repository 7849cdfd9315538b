/**
 * The engine: submit, claim, start, finish, cancel, restart, delete, and the leases that tie
 * executions to workers. It receives its I/O (a Store, a Clock, an artifact store) and knows
 * nothing about HTTP. Each operation is one transaction; its consequences are written by a Flow in
 * that same transaction, and its events are emitted on `bus` after commit.
 *
 * Durability: when `submit` resolves, the job, its tasks and first executions are committed.
 * Races: a finish report that arrives after a cancel (or after the reaper took the lease back) is
 * ignored: the guarded write finds the row no longer leased to that node and changes nothing.
 */
import type { ExecutionKind, ExecutionRow, JobRow, LogLine, NodeRow, State, TaskRow } from '../core/model.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import { Redactor } from '../core/redact.js';
import { assertTransition, isFinal } from '../core/states.js';
import { sanitizeLogText } from '../core/text.js';
import { validateJobSpec, type ValidateOptions } from '../core/spec.js';
import type { JobDeleteLimits, Queries, Store } from '../store/store.js';
import type { ArtifactStore } from '../artifacts/artifacts.js';
import { ArrayItems } from './arrays.js';
import { chooseFair } from './claim.js';
import { systemClock, type Clock } from './clock.js';
import { EventBus } from './events.js';
import { Flow, inFlow, type FlowOptions } from './flow.js';
import { newExecution, resourcesOf } from './expand.js';
import { JobCache } from './job-cache.js';
import { QuotaGate } from './quotas.js';
import type { ReportSettings } from './reports.js';

export interface EngineOptions {
  store: Store;
  artifacts: ArtifactStore;
  clock?: Clock;
  bus?: EventBus;
  /** How long a claim is held without a heartbeat. (Default: 30 s) */
  leaseMs?: number;
  /** First retry backoff, doubling per attempt. (Default: 1 s, capped at 5 min) */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Crash rescues (lease expiries) an execution gets beyond its retry limit. (Default: 5) */
  rescueBudget?: number;
  /** The longest `each` list, server-wide. (Default: 1,000,000) */
  maxArrayItems?: number;
  /** A per-user longest `each` list, overriding `maxArrayItems` where it answers a number. (Default: the user's `quotas.maxArrayItems`) */
  maxArrayItemsFor?: (owner: string) => number | undefined | Promise<number | undefined>;
  /** The most items of one `each` that exist as executions at once; the rest are made as these settle. (Default: 1,000) */
  arrayWindow?: number;
  /** How much one step of a job delete removes before it lets other work in. */
  deleteLimits?: JobDeleteLimits;
  /** Status collectors every job reports to, besides its spec's own (`--status-endpoint`). (Default: none) */
  reports?: ReportSettings;
}

/** Each step of a delete is one short transaction; the event loop runs between steps. */
const DEFAULT_DELETE_LIMITS: JobDeleteLimits = { executions: 500, logChunks: 32, events: 2_000 };

export interface SubmitOptions {
  owner: string;
  origin?: string;
  metadata?: JobRow['metadata'];
  /** How strictly the spec is read (Tork's JSON bodies refuse numbers in string maps). */
  validation?: ValidateOptions;
}

export interface ClaimRequest {
  nodeId: string;
  cpus: number;
  memoryMb: number;
  queues: string[];
  kinds: ExecutionKind[];
  /** At most this many executions. */
  max: number;
}

export interface JobView {
  job: JobRow;
  tasks: TaskRow[];
  /** Items by state (the latest attempt of each task and array element). */
  counts: Partial<Record<State, number>>;
  /** Every execution by state: attempts, retries and composites included. */
  attempts: Partial<Record<State, number>>;
  progress: number;
}

export interface FinishReport {
  state: 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  exitCode: number | null;
  result: string | null;
  error: string | null;
  reason: string | null;
}

/** Executions whose log redactors are kept: more than a worker fleet runs at once. */
const LOG_REDACTORS_KEPT = 10_000;

export class Engine {
  readonly store: Store;
  readonly artifacts: ArtifactStore;
  readonly clock: Clock;
  readonly bus: EventBus;
  readonly leaseMs: number;
  /** Per-user quotas, checked at submit and claim (quotas.ts). */
  readonly quotas: QuotaGate;
  private readonly flowOptions: FlowOptions;
  private readonly rescueBudget: number;
  private readonly deleteLimits: JobDeleteLimits;
  /** Per execution whose logs stream in, its job's redactor (oldest dropped past LOG_REDACTORS_KEPT). */
  private readonly logRedactors = new Map<string, Redactor>();

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.artifacts = options.artifacts;
    this.clock = options.clock ?? systemClock;
    this.bus = options.bus ?? new EventBus();
    this.leaseMs = options.leaseMs ?? 30_000;
    this.rescueBudget = options.rescueBudget ?? 5;
    this.deleteLimits = options.deleteLimits ?? DEFAULT_DELETE_LIMITS;
    const maxArrayItems = options.maxArrayItems ?? 1_000_000;
    this.quotas = new QuotaGate(this.store, this.clock);
    const perUser = options.maxArrayItemsFor ?? (async (owner: string) => (await this.quotas.quotasOf(owner)).maxArrayItems);
    this.flowOptions = {
      arrays: new ArrayItems(),
      arrayWindow: options.arrayWindow ?? 1_000,
      maxArrayItems: async (owner) => (await perUser(owner)) ?? maxArrayItems,
      clock: this.clock,
      bus: this.bus,
      jobs: new JobCache(),
      retryBaseMs: options.retryBaseMs ?? 1_000,
      retryMaxMs: options.retryMaxMs ?? 300_000,
      reports: options.reports,
    };
  }

  /** The settings a Flow runs with, for services (reaper) that open their own. */
  flowSettings(): FlowOptions {
    return this.flowOptions;
  }

  private flow<T>(fn: (flow: Flow) => Promise<T>): Promise<T> {
    return inFlow(this.store, this.flowOptions, fn);
  }

  private now(): string {
    return this.clock.now().toISOString();
  }

  // ---- submit ------------------------------------------------------------------------------

  /** Validates a spec (throws ValidationError with every problem) and writes the job durably. */
  async submit(input: unknown, options: SubmitOptions): Promise<JobRow> {
    const spec = validateJobSpec(input, options.validation);
    await this.quotas.checkSubmit(options.owner);
    const job = await this.flow(async (flow) => {
      flow.refuseOverLimits = true;
      const created = await flow.createJob({
        spec,
        owner: options.owner,
        origin: options.origin ?? 'v1',
        parentExecutionId: null,
        metadata: options.metadata ?? {},
      });
      await this.quotas.checkQueuedIn(flow, options.owner);
      return created;
    });
    if (job.state === 'RUNNABLE') this.store.notify('work').catch(() => undefined);
    return job;
  }

  // ---- the worker's side -------------------------------------------------------------------

  /** Hands a worker the runnable executions that fit, each leased to it. */
  async claim(request: ClaimRequest): Promise<ExecutionRow[]> {
    if (request.max <= 0 || request.queues.length === 0) return [];
    const started = performance.now();
    const claimed = await this.flow(async (flow) => {
      const now = this.now();
      const candidates = await flow.tx.executionClaimCandidates({
        queues: request.queues,
        now,
        perOwner: request.max,
        kinds: request.kinds,
        // Work that cannot fit now must not take the places of work that can (an owner's later jobs).
        fits: { cpus: request.cpus, memoryMb: request.memoryMb },
      });
      const { allowed, held } = await this.quotas.holdBack(flow.tx, candidates);
      if (held.length > 0) await explainHeld(flow.tx, held);
      const chosen = chooseFair(allowed, request, request.max);
      if (chosen.length === 0) return [];
      const leaseExpiresAt = new Date(this.clock.now().getTime() + this.leaseMs).toISOString();
      // A claimed execution no longer waits: drop the reason it was waiting for.
      const patch = { nodeId: request.nodeId, leaseExpiresAt, reason: null };
      const changed = new Set(
        await flow.tx.executionSetStateMany({ ids: chosen.map((e) => e.id), from: ['RUNNABLE'], to: 'STARTING', patch }),
      );
      const rows = chosen.filter((e) => changed.has(e.id));
      for (const row of rows) {
        Object.assign(row, patch, { state: 'STARTING' });
        await flow.recordExecution(row);
      }
      return rows;
    });
    this.bus.emit('claim:latency', { ms: performance.now() - started, claimed: claimed.length });
    await this.prepareLogRedactors(claimed);
    return claimed;
  }

  /**
   * The logs of what was just claimed will stream in: their redactors are known now, from the
   * cached job (one read per job at most), rather than by reading each execution when its first
   * log batch arrives.
   */
  private async prepareLogRedactors(claimed: ExecutionRow[]): Promise<void> {
    const byJob = new Map<string, Redactor | null>();
    for (const row of claimed) {
      if (!byJob.has(row.jobId)) {
        // Never fail a claim over this (the job deleted meanwhile): logRedactor reads it later.
        byJob.set(row.jobId, await this.jobRedactor(row.jobId).catch(() => null));
      }
      const redactor = byJob.get(row.jobId);
      if (redactor) this.keepLogRedactor(row.id, redactor);
    }
  }

  /** The worker began running it. False when it is no longer this node's (cancelled, rescued). */
  async start(nodeId: string, executionId: string): Promise<boolean> {
    return this.flow(async (flow) => {
      const execution = await flow.tx.executionMove({
        id: executionId,
        from: ['STARTING'],
        to: 'RUNNING',
        patch: { startedAt: this.now() },
        nodeId,
      });
      if (!execution) return false;
      await flow.recordExecution(execution);
      await flow.markJobRunning(execution.jobId);
      return true;
    });
  }

  /**
   * The worker's end report. Advances the job in the same transaction. A late report (the
   * execution was cancelled or rescued meanwhile) changes nothing, is recorded in the job's
   * history as refused, and answers false. The same report sent again (its first answer was lost
   * with the connection) answers true and changes nothing.
   */
  async finish(nodeId: string, executionId: string, report: FinishReport): Promise<boolean> {
    assertTransition('execution', executionId, 'RUNNING', report.state);
    return this.flow(async (flow) => {
      // One guarded write both checks the lease and moves the row; no read before it.
      const execution = await flow.tx.executionMove({
        id: executionId,
        from: ['STARTING', 'RUNNING'],
        to: report.state,
        patch: {
          completedAt: this.now(),
          exitCode: report.exitCode,
          result: report.result === null ? null : sanitizeLogText(report.result),
          error: report.error === null ? null : sanitizeLogText(report.error),
          reason: report.reason,
          leaseExpiresAt: null,
          ...(report.state === 'SUCCEEDED' ? { progress: 100 } : {}),
        },
        nodeId,
      });
      if (!execution) return this.lateReport(flow, nodeId, executionId, report);
      await this.redactError(flow, execution, nodeId);
      await flow.recordExecution(execution);
      flow.settled(execution);
      return true;
    });
  }

  /** A finish the guarded write refused: a repeat of the one applied (true), or a late one, recorded. */
  private async lateReport(flow: Flow, nodeId: string, executionId: string, report: FinishReport): Promise<boolean> {
    const row = await flow.tx.executionGet(executionId);
    if (!row) return false;
    const repeated =
      row.nodeId === nodeId && row.state === report.state && row.exitCode === report.exitCode && row.reason === report.reason;
    if (repeated) return true;
    await flow.tx.eventInsertMany([
      {
        jobId: row.jobId,
        executionId,
        at: this.now(),
        kind: 'execution.report_refused',
        state: row.state,
        stage: row.name,
        message: `a ${report.state} report from node ${nodeId} came too late: the execution is already ${row.state}${row.reason ? ` (${row.reason})` : ''}`,
        data: { nodeId, reported: report.state, exitCode: report.exitCode },
      },
    ]);
    return false;
  }

  /**
   * A failing task's error is its last log lines, which may print a secret: cut the job's secret
   * values out before anything (events, the job's error, webhooks, every API) reads it. The move
   * above wrote it unredacted, unseen by others inside this transaction; this rewrites it only
   * when a secret actually occurs. (core/redact.ts says why redaction happens where text is produced.)
   */
  private async redactError(flow: Flow, execution: ExecutionRow, nodeId: string): Promise<void> {
    if (execution.error === null) return;
    const redacted = Redactor.forJob(await flow.job(execution.jobId)).text(execution.error);
    if (redacted === execution.error) return;
    await flow.tx.executionMove({ id: execution.id, from: [execution.state], to: execution.state, patch: { error: redacted }, nodeId });
    execution.error = redacted;
  }

  /** Hands an execution back (a draining worker that could not finish it): a new attempt. */
  async release(nodeId: string, executionId: string, reason: string): Promise<void> {
    await this.rescueIf(executionId, reason, (row) => row.nodeId === nodeId);
  }

  /**
   * Hands back everything still leased to a node that cannot be running it (the same worker
   * restarted after a crash): no need to wait for the leases to lapse. Answers how many.
   */
  async releaseNode(nodeId: string, reason: string): Promise<number> {
    const held = await this.store.executionList({ nodeId, states: ['STARTING', 'RUNNING'], limit: 100_000 });
    let released = 0;
    for (const execution of held) {
      if (await this.rescueIf(execution.id, reason, (row) => row.nodeId === nodeId)) released += 1;
    }
    return released;
  }

  /**
   * Rescues one execution if, read again inside the transaction, it is still STARTING or RUNNING
   * and `stillHeld` says so (it is the node's, its lease lapsed, …). True when it was rescued.
   */
  async rescueIf(executionId: string, reason: string, stillHeld: (execution: ExecutionRow) => boolean): Promise<boolean> {
    return this.flow(async (flow) => {
      const execution = await flow.tx.executionGet(executionId);
      if (!execution || (execution.state !== 'STARTING' && execution.state !== 'RUNNING') || !stillHeld(execution)) return false;
      await this.rescue(flow, execution, reason);
      return true;
    });
  }

  /**
   * Takes an execution back from a node that lost it: the attempt is FAILED with `reason`, and a
   * new attempt is queued while the rescue budget lasts; otherwise it settles as a failure.
   */
  private async rescue(flow: Flow, execution: ExecutionRow, reason: string): Promise<void> {
    const now = this.now();
    const moved = await flow.moveExecution(execution, 'FAILED', { completedAt: now, error: reason, reason, leaseExpiresAt: null });
    if (!moved) return;
    const job = await flow.job(execution.jobId);
    const { retryLimit } = resourcesOf(execution.spec, job.spec);
    if (execution.attempt <= retryLimit + this.rescueBudget && (await flow.stillOpen(execution))) {
      await flow.launchNew(
        newExecution({
          job,
          taskId: execution.taskId,
          spec: execution.spec,
          parentId: execution.parentId,
          idx: execution.idx,
          attempt: execution.attempt + 1,
          now,
          cpus: execution.cpus,
        }),
      );
    } else {
      flow.settled(execution);
    }
  }

  /** Extends a node's leases; answers the ids it still holds, so it can stop the others. */
  async renewLeases(nodeId: string, executionIds: string[]): Promise<string[]> {
    if (executionIds.length === 0) return [];
    const until = new Date(this.clock.now().getTime() + this.leaseMs).toISOString();
    return this.store.executionRenewLeases({ nodeId, ids: executionIds, until });
  }

  /**
   * Stores log lines with the job's secret values cut out (core/redact.ts says why here), so no
   * view, stream or search of the logs can show them.
   */
  async appendLogs(raw: LogLine[]): Promise<void> {
    if (raw.length === 0) return;
    const lines = await this.redactLogs(raw);
    await this.store.logAppendMany(lines);
    const byExecution = new Map<string, LogLine[]>();
    for (const line of lines) {
      const list = byExecution.get(line.executionId) ?? [];
      list.push(line);
      byExecution.set(line.executionId, list);
    }
    for (const [executionId, list] of byExecution) this.bus.emit('log:lines', { executionId, lines: list });
  }

  private async redactLogs(lines: LogLine[]): Promise<LogLine[]> {
    const redactors = new Map<string, Redactor>();
    for (const { executionId } of lines) {
      if (!redactors.has(executionId)) redactors.set(executionId, await this.logRedactor(executionId));
    }
    return lines.map((line) => {
      const redactor = redactors.get(line.executionId);
      if (!redactor || redactor.empty) return line;
      const text = redactor.text(line.line);
      return text === line.line ? line : { ...line, line: text };
    });
  }

  /**
   * The redactor of an execution's job: known since its claim, or (claimed by another process, or
   * before a restart) found by reading the execution, then remembered for its next log batches.
   */
  private async logRedactor(executionId: string): Promise<Redactor> {
    const known = this.logRedactors.get(executionId);
    if (known) return known;
    const execution = await this.store.executionGet(executionId);
    const redactor = execution ? await this.jobRedactor(execution.jobId) : new Redactor([]);
    this.keepLogRedactor(executionId, redactor);
    return redactor;
  }

  private async jobRedactor(jobId: string): Promise<Redactor> {
    return Redactor.forJob(await this.flowOptions.jobs.get(this.store, jobId));
  }

  private keepLogRedactor(executionId: string, redactor: Redactor): void {
    this.logRedactors.set(executionId, redactor);
    if (this.logRedactors.size > LOG_REDACTORS_KEPT) this.logRedactors.delete(this.logRedactors.keys().next().value as string);
  }

  /** A script's progress (0..100); a job whose webhooks ask for task.Progress hears of it. */
  async reportProgress(nodeId: string, executionId: string, progress: number): Promise<void> {
    const clamped = Math.max(0, Math.min(100, progress));
    await this.flow(async (flow) => {
      const execution = await flow.tx.executionMove({ id: executionId, from: ['RUNNING'], to: 'RUNNING', patch: { progress: clamped }, nodeId });
      if (execution) await flow.reportProgress(execution);
    });
  }

  async heartbeat(node: NodeRow): Promise<void> {
    await this.store.nodeUpsert(node);
  }

  // ---- people's side -----------------------------------------------------------------------

  async getJob(id: string): Promise<JobRow> {
    const job = await this.store.jobGet(id);
    if (!job) throw new NotFoundError('job', id);
    return job;
  }

  async getExecution(id: string): Promise<ExecutionRow> {
    const execution = await this.store.executionGet(id);
    if (!execution) throw new NotFoundError('execution', id);
    return execution;
  }

  /** Cancels a job: every unfinished execution becomes CANCELLED; workers stop them within a beat. */
  async cancelJob(id: string): Promise<JobRow> {
    return this.flow(async (flow) => {
      const job = await flow.tx.jobGet(id);
      if (!job) throw new NotFoundError('job', id);
      if (isFinal(job.state)) throw new ConflictError(`job ${id} is ${job.state} and cannot be cancelled`);
      flow.remember(job);
      await flow.cancelJob(job, 'cancelled');
      return job;
    });
  }

  /** Cancels one execution; its parent and job then settle as for a failure. */
  async cancelExecution(id: string): Promise<ExecutionRow> {
    return this.flow(async (flow) => {
      const execution = await flow.tx.executionGet(id);
      if (!execution) throw new NotFoundError('execution', id);
      if (isFinal(execution.state)) throw new ConflictError(`execution ${id} is ${execution.state} and cannot be cancelled`);
      if (execution.state === 'SUBMITTED') throw new ConflictError(`execution ${id} is being created`);
      if (await flow.cancelExecution(execution, { error: 'cancelled' })) flow.settled(execution);
      return execution;
    });
  }

  /**
   * Restarts a FAILED or CANCELLED job from the tasks that did not succeed: they are reset to
   * PENDING and those whose dependencies are met run again as new attempts. Tasks that
   * succeeded (or were skipped by their `if`) keep their results.
   */
  async restartJob(id: string): Promise<JobRow> {
    const job = await this.flow(async (flow) => {
      // Under the job's lock: of two restarts at once, the second finds the job RUNNING again.
      const job = await flow.tx.jobLock({ id, mode: 'update' });
      if (!job) throw new NotFoundError('job', id);
      if (job.state !== 'FAILED' && job.state !== 'CANCELLED') {
        throw new ConflictError(`job ${id} is ${job.state} and can not be restarted`);
      }
      flow.remember(job);
      const tasks = await flow.tx.taskList(id);
      const again: typeof tasks = [];
      for (const task of tasks) {
        if (task.state === 'SUCCEEDED') continue;
        const rows = await flow.tx.executionList({ taskId: task.id, parentId: null, limit: 10_000 });
        if (task.state === 'SKIPPED' && rows.at(-1)?.reason === 'if') continue;
        again.push(task);
      }
      if (again.length === 0) throw new ConflictError(`job ${id} has no more tasks to run`);
      await flow.tx.taskReset({ ids: again.map((t) => t.id) });
      for (const task of again) task.state = 'PENDING';
      await flow.moveJob(job, 'RUNNING', { failedAt: null, completedAt: null, error: null });
      const done = new Set(tasks.filter((t) => t.state === 'SUCCEEDED' || t.state === 'SKIPPED').map((t) => t.id));
      for (const task of again) {
        if (task.needs.every((need) => done.has(need))) await flow.startTask(job, task);
      }
      return job;
    });
    this.store.notify('work').catch(() => undefined);
    return job;
  }

  /**
   * Deletes a finished job with its sub-jobs, logs, events and artifacts, in short steps with the
   * event loop free between them (a million-item array is thousands of rows per step, not one
   * transaction). The job row goes last, so a delete cut short by a crash can simply be repeated.
   */
  async deleteJob(id: string): Promise<void> {
    const job = await this.getJob(id);
    if (!isFinal(job.state)) throw new ConflictError(`job ${id} is ${job.state}; cancel it before deleting it`);
    for (const sub of await this.store.jobListSubjobs(id)) {
      if (isFinal(sub.state)) await this.deleteJob(sub.id);
    }
    // Compute used by what is deleted still counts against the owner's quota for its period.
    await this.quotas.keepCompute(job.owner, id);
    while ((await this.store.jobDeleteSome({ id, ...this.deleteLimits })) === 'more') await yieldToEventLoop();
    await this.artifacts.deleteJob(id);
  }

  /** Resolves with the job once it is final, or with its current state after `timeoutMs`. */
  async waitForJob(id: string, timeoutMs: number, signal?: AbortSignal): Promise<JobRow> {
    const job = await this.getJob(id);
    if (isFinal(job.state)) return job;
    return new Promise<JobRow>((resolve, reject) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        off();
        clearInterval(poll);
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        this.getJob(id).then(resolve, reject);
      };
      const off = this.bus.on('job:state', (event) => {
        if (event.jobId === id && isFinal(event.state)) finish();
      });
      // Another server may finish it (PostgreSQL fleets): poll as a backstop.
      const poll = setInterval(() => {
        this.store.jobGet(id).then((row) => row && isFinal(row.state) && finish(), () => undefined);
      }, 1_000);
      const timer = setTimeout(finish, timeoutMs);
      signal?.addEventListener('abort', finish);
    });
  }

  /**
   * A job with what people want to see of it: its tasks, its executions counted by state, and a
   * live progress that includes the share of items done in running arrays.
   */
  async describeJob(id: string): Promise<JobView> {
    const job = await this.getJob(id);
    const [tasks, counts, attempts] = await Promise.all([
      this.store.taskList(id),
      this.executionCounts(id),
      this.store.executionCountByState({ jobId: id }),
    ]);
    return { job, tasks, counts, attempts, progress: await this.liveProgress(job, tasks) };
  }

  private async liveProgress(job: JobRow, tasks: TaskRow[]): Promise<number> {
    if (job.state === 'CANCELLED' && job.taskCount > 0) return this.progressWhenCancelled(job, tasks);
    if (isFinal(job.state) || job.taskCount === 0) return job.progress;
    let done = tasks.filter((t) => isFinal(t.state)).length;
    const running = await this.store.executionList({ jobId: job.id, parentId: null, states: ['RUNNING'], limit: 100 });
    for (const composite of running) {
      if (composite.childCount > 0) done += composite.childDone / composite.childCount;
    }
    return Math.round((done / job.taskCount) * 10000) / 100;
  }

  /**
   * How far a cancelled job got, in items: tasks that ran to their end count whole, a cancelled
   * `each`/`parallel` counts the share of its items that had finished (the stored progress counts
   * only settled tasks, so a cancelled 1-task map would read 0% whatever it had done).
   */
  private async progressWhenCancelled(job: JobRow, tasks: TaskRow[]): Promise<number> {
    const tops = await this.store.executionList({ jobId: job.id, parentId: null, limit: Math.max(100, tasks.length * 4) });
    const latest = new Map(tops.map((execution) => [execution.taskId, execution]));
    let done = 0;
    for (const task of tasks) {
      if (task.state === 'SUCCEEDED' || task.state === 'SKIPPED' || task.state === 'FAILED') done += 1;
      const composite = task.state === 'CANCELLED' ? latest.get(task.id) : undefined;
      if (composite && composite.childCount > 0) done += Math.min(composite.childDone, composite.childCount) / composite.childCount;
    }
    return Math.round((done / job.taskCount) * 10000) / 100;
  }

  /**
   * Counts of a job's items by state: each task and array element once, in the state of its
   * latest attempt (retries and a restarted job's earlier run are not counted again; composites
   * only hold items and are left out); array items not made yet count as PENDING.
   */
  async executionCounts(jobId: string): Promise<Partial<Record<State, number>>> {
    return (await this.executionCountsMany([jobId]))[jobId] ?? {};
  }

  /** The same counts for a page of jobs, in two queries. */
  async executionCountsMany(jobIds: string[]): Promise<Record<string, Partial<Record<State, number>>>> {
    const [counts, unmade] = await Promise.all([
      this.store.executionItemCountByStateMany({ jobIds }),
      this.store.executionCountUnmade({ jobIds }),
    ]);
    for (const [jobId, n] of Object.entries(unmade)) {
      const job = (counts[jobId] ??= {});
      job.PENDING = (job.PENDING ?? 0) + n;
    }
    return counts;
  }
}

/** Lets timers and I/O (HTTP requests) run before the next step of a long job. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Held work says which quota holds it; only rows whose reason changes are written. */
async function explainHeld(tx: Queries, held: Array<{ execution: ExecutionRow; reason: string }>): Promise<void> {
  const byReason = new Map<string, string[]>();
  for (const { execution, reason } of held) {
    if (execution.reason !== reason) byReason.set(reason, [...(byReason.get(reason) ?? []), execution.id]);
  }
  for (const [reason, ids] of byReason) {
    await tx.executionSetStateMany({ ids, from: ['RUNNABLE'], to: 'RUNNABLE', patch: { reason } });
  }
}
