/**
 * The job flow, run inside one transaction: launching executions, settling them, and advancing
 * their parents, tasks and jobs. Every engine operation (submit, finish, cancel, restart, reaper)
 * opens a Flow on its transaction, queues what happened, and `drain()`s it, so the consequences of
 * one event (a sequence's next task, a graph's dependents, an each slot, a sub-job's parent, the
 * job's final state) are written in the same transaction as the event itself.
 *
 * Work is a queue rather than recursion so a long chain (a skipped task that unblocks another that
 * is skipped…) cannot blow the stack.
 */
import { hasChildren, isRunnableKind, RUNNABLE_KINDS, type EventRow, type ExecutionKind, type ExecutionRow, type JobRow, type OutboxRow, type State, type TaskRow } from '../core/model.js';
import { assertTransition, isFinal, sourcesOf } from '../core/states.js';
import { coerceError, ValidationError } from '../core/errors.js';
import { Redactor } from '../core/redact.js';
import { evaluateExpression, renderTemplate } from '../core/expr.js';
import { validateJobSpec } from '../core/spec.js';
import { parseDuration } from '../core/duration.js';
import type { ExecutionPatch, JobPatch, Queries } from '../store/store.js';
import type { Clock } from './clock.js';
import type { EventBus } from './events.js';
import { PendingEvents } from './events.js';
import { storedChunks, type ArrayItems } from './arrays.js';
import { DEFAULT_CPUS, jobContext, newExecution, renderTask, resourcesOf, sharedItemCpus } from './expand.js';
import { resolveFilesystemMounts } from './filesystems.js';
import { newId } from './ids.js';
import type { JobCache, JobStatic } from './job-cache.js';
import { webhookDeliveries, type WebhookEvent } from './webhooks.js';
import { reportRows, type ReportEvent, type ReportSettings } from './reports.js';

export interface FlowOptions {
  clock: Clock;
  /** Where jobs report their stages (reports.ts). (Default: only where a job's spec says) */
  reports?: ReportSettings;
  bus: EventBus;
  jobs: JobCache;
  /** First retry waits this long, doubling each attempt (capped at `retryMaxMs`). */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Reads items of stored each lists (see arrays.ts). */
  arrays: ArrayItems;
  /** The most items of an each that exist as executions at once. */
  arrayWindow: number;
  /** The longest each list this owner may run. */
  maxArrayItems(owner: string): number | Promise<number>;
}

type Work = { kind: 'launch'; execution: ExecutionRow } | { kind: 'settled'; execution: ExecutionRow };

export class Flow {
  private readonly work: Work[] = [];
  private readonly jobs = new Map<string, JobRow>();
  private readonly events: EventRow[] = [];
  private readonly outbox: OutboxRow[] = [];
  /** Per job, the exit code of its latest top-level execution to end: its status report's `exit_code`. */
  private readonly exitCodes = new Map<string, number>();
  private readonly inserts: ExecutionRow[] = [];
  readonly notices = new PendingEvents();
  /** Leaf executions that became RUNNABLE: workers are told after commit. */
  runnable = 0;
  /** A submit's flow: a spec over a limit is refused (400) rather than failed. */
  refuseOverLimits = false;

  constructor(
    readonly tx: Queries,
    readonly options: FlowOptions,
  ) {}

  private stamp: string | undefined;

  /** One timestamp for the whole transaction: everything it writes happened at the same moment. */
  now(): string {
    this.stamp ??= this.options.clock.now().toISOString();
    return this.stamp;
  }

  remember(job: JobRow): void {
    this.jobs.set(job.id, job);
    this.options.jobs.remember(job);
  }

  /** The whole job row, read once per flow: for its state, vars and templates. */
  async job(id: string): Promise<JobRow> {
    const cached = this.jobs.get(id);
    if (cached) return cached;
    const job = await this.tx.jobGet(id);
    if (!job) throw new Error(`job ${id} vanished during its flow`);
    this.remember(job);
    return job;
  }

  /**
   * The job read again under its row lock (Queries.jobLock), refreshing the copy this flow holds:
   * what is decided next about the job sees everything committed before the lock was granted.
   */
  async lockJob(id: string, mode: 'update' | 'share' = 'update'): Promise<JobRow> {
    const fresh = await this.tx.jobLock({ id, mode });
    if (!fresh) throw new Error(`job ${id} vanished during its flow`);
    const held = this.jobs.get(id);
    if (!held) {
      this.remember(fresh);
      return fresh;
    }
    Object.assign(held, fresh);
    return held;
  }

  /** What never changes about a job (its spec, owner): cached across flows. */
  jobStatic(id: string): Promise<JobStatic> {
    const inFlow = this.jobs.get(id);
    return inFlow ? Promise.resolve(inFlow) : this.options.jobs.get(this.tx, id);
  }

  // ---- state writes ------------------------------------------------------------------------

  /** Guarded execution write. Returns false when the row was no longer where we thought (a race). */
  async moveExecution(execution: ExecutionRow, to: State, patch: ExecutionPatch = {}, nodeId?: string): Promise<boolean> {
    assertTransition('execution', execution.id, execution.state, to);
    const changed = await this.tx.executionSetState({ id: execution.id, from: [execution.state], to, patch, nodeId });
    if (!changed) return false;
    Object.assign(execution, patch, { state: to });
    await this.recordExecution(execution);
    if (isFinal(to) && execution.childCreated !== null) await this.tx.arrayItemsDelete({ executionId: execution.id });
    return true;
  }

  async recordExecution(execution: ExecutionRow): Promise<void> {
    const at = this.now();
    this.events.push({
      jobId: execution.jobId,
      executionId: execution.id,
      at,
      kind: 'execution.state',
      state: execution.state,
      stage: execution.name,
      message: execution.error ?? execution.reason,
      data: execution.exitCode === null ? null : { exitCode: execution.exitCode },
    });
    this.notices.add(this.options.bus, 'execution:state', {
      executionId: execution.id,
      jobId: execution.jobId,
      state: execution.state,
      nodeId: execution.nodeId,
    });
    const { spec } = await this.jobStatic(execution.jobId);
    if (spec.webhooks?.some((hook) => hook.event === 'task.StateChange')) {
      await this.deliver(await this.job(execution.jobId), 'task.StateChange', execution);
    }
    if (execution.parentId === null) {
      if (execution.exitCode !== null) this.exitCodes.set(execution.jobId, execution.exitCode);
      if (execution.state === 'RUNNING' && this.reports(spec)) await this.report(await this.job(execution.jobId), { kind: 'running', execution });
    }
  }

  /** Whether a job with this spec reports its stages anywhere. */
  private reports(spec: JobRow['spec']): boolean {
    return (this.options.reports?.endpoints.length ?? 0) > 0 || spec.reporting?.status !== undefined;
  }

  private async report(job: JobRow, event: ReportEvent): Promise<void> {
    this.outbox.push(...reportRows(job, event, this.options.reports ?? { endpoints: [] }, this.now()));
  }

  async moveJob(job: JobRow, to: State, patch: JobPatch = {}): Promise<boolean> {
    if (job.state === to) return false;
    assertTransition('job', job.id, job.state, to);
    const changed = await this.tx.jobSetState({ id: job.id, from: [job.state], to, patch });
    if (!changed) return false;
    Object.assign(job, patch, { state: to });
    if (to === 'RUNNING') this.options.jobs.markRunning(job.id);
    else this.options.jobs.markNotRunning(job.id);
    if (isFinal(to) && job.spec.autoDelete) await this.scheduleDeletion(job, job.spec.autoDelete.after);
    this.events.push({
      jobId: job.id,
      executionId: null,
      at: this.now(),
      kind: 'job.state',
      state: to,
      stage: null,
      message: job.error,
      data: null,
    });
    this.notices.add(this.options.bus, 'job:state', { jobId: job.id, state: to });
    await this.deliver(job, 'job.StateChange');
    if (isFinal(to) && this.reports(job.spec)) await this.report(job, { kind: 'ended', exitCode: this.exitCodes.get(job.id) ?? null });
    return true;
  }

  /** Progress is not a state change: no event row, only the webhooks that ask for it. */
  async reportProgress(execution: ExecutionRow): Promise<void> {
    const { spec } = await this.jobStatic(execution.jobId);
    if (spec.webhooks?.some((hook) => hook.event === 'task.Progress')) {
      await this.deliver(await this.job(execution.jobId), 'task.Progress', execution);
    }
  }

  /** `autoDelete: {after}`: the reaper deletes the finished job once `metadata.deleteAt` passes. */
  private async scheduleDeletion(job: JobRow, after: string): Promise<void> {
    const deleteAt = new Date(Date.parse(this.now()) + parseDuration(after)).toISOString();
    job.metadata = { ...job.metadata, deleteAt };
    await this.tx.jobUpdate({ id: job.id, patch: {}, metadata: { deleteAt } });
  }

  /** Writes the job's webhooks for this event (their renderer may read more in this transaction). */
  private async deliver(job: JobRow, event: WebhookEvent, execution?: ExecutionRow): Promise<void> {
    if (!job.spec.webhooks?.length) return;
    this.outbox.push(...(await webhookDeliveries({ job, event, execution, tx: this.tx, now: this.now() })));
  }

  /** A job (or its parent job, for a sub-job) is RUNNING once any of its work runs. */
  async markJobRunning(jobId: string): Promise<void> {
    if (this.options.jobs.isRunning(jobId)) return;
    const job = await this.job(jobId);
    if (job.state === 'PENDING' || job.state === 'RUNNABLE') {
      await this.moveJob(job, 'RUNNING', { startedAt: job.startedAt ?? this.now() });
    } else if (job.state === 'RUNNING') {
      this.options.jobs.markRunning(jobId);
    }
    if (job.parentExecutionId) {
      const parent = await this.tx.executionGet(job.parentExecutionId);
      if (parent) await this.markJobRunning(parent.jobId);
    }
  }

  // ---- launching -----------------------------------------------------------------------------

  /** Creates a top-level task's next execution and launches it. */
  async startTask(job: JobRow, task: TaskRow): Promise<void> {
    await this.tx.taskSetState({ id: task.id, from: sourcesOf('execution', 'RUNNING'), to: 'RUNNING' });
    // A restarted job runs its tasks again as further attempts, never as attempt 1 twice.
    const earlier = await this.tx.executionList({ taskId: task.id, parentId: null, limit: 10_000 });
    const attempt = earlier.reduce((max, e) => Math.max(max, e.attempt), 0) + 1;
    await this.launchNew(this.build(job, task.id, task.spec, null, 0, attempt));
  }

  /** Renders a spec into a new execution; a template error makes it FAILED from the start. */
  build(job: JobRow, taskId: string, spec: ExecutionRow['spec'], parentId: string | null, idx: number, attempt: number, extra: Record<string, unknown> = {}): ExecutionRow {
    const now = this.now();
    try {
      const rendered = renderTask(spec, jobContext(job, extra), Object.keys(extra).length > 0);
      return newExecution({ job, taskId, spec: rendered, parentId, idx, attempt, now });
    } catch (error) {
      const execution = newExecution({ job, taskId, spec: { ...spec, parallel: undefined, each: undefined, subjob: undefined, run: '' }, parentId, idx, attempt, now });
      execution.state = 'FAILED';
      execution.error = templateError(job, error);
      execution.reason = 'template';
      execution.completedAt = now;
      return execution;
    }
  }

  /**
   * Queues a not-yet-inserted execution: it is inserted in the next batch, then launched. A plain
   * leaf (no `if`) is inserted RUNNABLE at once, so a 10,000-item array costs one batched insert
   * rather than 10,000 updates.
   */
  async launchNew(execution: ExecutionRow, options: { record?: boolean } = {}): Promise<void> {
    this.inserts.push(execution);
    if (execution.state === 'FAILED') {
      this.work.push({ kind: 'settled', execution });
    } else if (isLeaf(execution) && !hasCondition(execution)) {
      execution.state = 'RUNNABLE';
      execution.scheduledAt = this.now();
      this.runnable += 1;
      if (options.record !== false) await this.recordExecution(execution);
    } else {
      this.work.push({ kind: 'launch', execution });
    }
  }

  /** Decides an execution's first state: SKIPPED (`if` false), RUNNABLE (leaf), or expands a composite. */
  private async launch(execution: ExecutionRow): Promise<void> {
    const job = await this.job(execution.jobId);
    const condition = execution.spec.if;
    if (condition !== undefined && hasCondition(execution)) {
      let outcome: string;
      try {
        outcome = renderTemplate(condition.includes('{{') ? condition : `{{ ${condition} }}`, jobContext(job));
      } catch (error) {
        return this.failNew(execution, templateError(job, error), 'template');
      }
      if (outcome.trim() === 'false') {
        const now = this.now();
        if (await this.enter(execution, 'SKIPPED', { scheduledAt: now, startedAt: now, completedAt: now, reason: 'if' })) {
          this.work.push({ kind: 'settled', execution });
        }
        return;
      }
    }
    switch (execution.kind) {
      case 'parallel':
        return this.expandParallel(job, execution);
      case 'each':
        return this.expandEach(job, execution);
      case 'subjob':
        return this.expandSubjob(job, execution);
      default:
        if (await this.enter(execution, 'RUNNABLE', { scheduledAt: this.now() })) this.runnable += 1;
    }
  }

  /**
   * The first state of a new execution. Rows are inserted in SUBMITTED and moved at once, inside
   * the same transaction, so the move is an ordinary guarded write with its event.
   */
  private async enter(execution: ExecutionRow, to: State, patch: ExecutionPatch = {}): Promise<boolean> {
    await this.flushInserts();
    return this.moveExecution(execution, to, patch);
  }

  private async failNew(execution: ExecutionRow, error: string, reason: string): Promise<void> {
    if (await this.enter(execution, 'FAILED', { error, reason, completedAt: this.now() })) {
      this.work.push({ kind: 'settled', execution });
    }
  }

  private async expandParallel(job: JobRow, parent: ExecutionRow): Promise<void> {
    const tasks = parent.spec.parallel?.tasks ?? [];
    if (!(await this.enter(parent, 'RUNNING', { startedAt: this.now(), childCount: tasks.length }))) return;
    await this.markJobRunning(job.id);
    if (tasks.length === 0) return this.completeComposite(parent);
    for (const [idx, spec] of tasks.entries()) await this.launchNew(this.build(job, parent.taskId, spec, parent.id, idx, 1));
  }

  private async expandEach(job: JobRow, parent: ExecutionRow): Promise<void> {
    const each = parent.spec.each;
    if (!each) return this.failNew(parent, 'each task without each', 'spec');
    let list: unknown;
    try {
      list = evaluateExpression(each.list, jobContext(job));
    } catch (error) {
      return this.failNew(parent, templateError(job, error), 'template');
    }
    if (!Array.isArray(list)) return this.failNew(parent, 'each.list does not evaluate to a list', 'template');
    const limit = await this.options.maxArrayItems(job.owner);
    if (list.length > limit) {
      const message = `each.list has ${list.length} items, more than the ${limit} allowed (maxArrayItems)`;
      if (this.refuseOverLimits) throw new ValidationError([{ path: `tasks[${parent.name}].each.list`, message }]);
      return this.failNew(parent, message, 'limit');
    }
    // The first items are made now (at most ITEMS_PER_STEP, so this transaction stays short); the
    // rest as earlier ones settle, up to the window (the concurrency, at most arrayWindow) at once.
    const made = Math.min(windowOf(parent, this.options.arrayWindow), list.length, ITEMS_PER_STEP);
    const windowed = made < list.length;
    const patch = { startedAt: this.now(), childCount: list.length, childCreated: windowed ? made : null };
    if (!(await this.enter(parent, 'RUNNING', patch))) return;
    await this.markJobRunning(job.id);
    if (list.length === 0) return this.completeComposite(parent);
    if (windowed) await this.tx.arrayItemsInsert({ executionId: parent.id, chunks: storedChunks(list) });
    for (let idx = 0; idx < made; idx += 1) await this.launchItem(job, parent, idx, list[idx]);
  }

  /**
   * An array item is born RUNNABLE; its history starts when a worker claims it (the array's own
   * event says it was created), which halves what a 10,000-item submit writes.
   */
  private async launchItem(job: JobRow, parent: ExecutionRow, idx: number, value: unknown): Promise<void> {
    const each = parent.spec.each;
    if (!each) return;
    const child = this.build(job, parent.taskId, each.task, parent.id, idx, 1, { [each.var || 'item']: { index: String(idx), value } });
    const shared = isLeaf(child) ? sharedItemCpus(each.task, job.spec, each.concurrency) : undefined;
    if (shared !== undefined) {
      // Reserve the share; cap its cpu time at the default as if nothing were named.
      child.cpus = shared;
      child.spec = { ...child.spec, limits: { ...child.spec.limits, cpus: DEFAULT_CPUS } };
    }
    await this.launchNew(child, { record: false });
  }

  /**
   * A settled item of a windowed each makes room for the next ones (from its stored list): the
   * window fills up again, at most ITEMS_PER_STEP at a time.
   */
  private async makeNextItem(parent: ExecutionRow): Promise<void> {
    const unsettled = (parent.childCreated ?? 0) - parent.childDone;
    const room = Math.min(windowOf(parent, this.options.arrayWindow) - unsettled, ITEMS_PER_STEP);
    if (room <= 0) return;
    const taken = await this.tx.executionTakeItems({ id: parent.id, max: room });
    if (!taken) return;
    const values = await this.options.arrays.read(this.tx, parent.id, taken.first, taken.count);
    const job = await this.job(parent.jobId);
    for (const [offset, value] of values.entries()) await this.launchItem(job, parent, taken.first + offset, value);
  }

  private async expandSubjob(job: JobRow, parent: ExecutionRow): Promise<void> {
    const subjob = parent.spec.subjob;
    if (!subjob) return this.failNew(parent, 'subjob task without subjob', 'spec');
    const ctx = jobContext(job);
    let childSpec;
    try {
      childSpec = validateJobSpec({
        name: renderTemplate(subjob.name, ctx),
        description: subjob.description,
        tasks: subjob.tasks,
        inputs: subjob.inputs && Object.fromEntries(Object.entries(subjob.inputs).map(([k, v]) => [k, renderTemplate(v, ctx)])),
        secrets: subjob.secrets && Object.fromEntries(Object.entries(subjob.secrets).map(([k, v]) => [k, renderTemplate(v, ctx)])),
        output: subjob.output,
        webhooks: subjob.webhooks,
        autoDelete: subjob.autoDelete,
      });
    } catch (error) {
      return this.failNew(parent, templateError(job, error), 'spec');
    }
    if (!(await this.enter(parent, 'RUNNING', { startedAt: this.now(), childCount: 1 }))) return;
    await this.markJobRunning(job.id);
    const child = await this.createJob({
      spec: childSpec,
      owner: job.owner,
      origin: job.origin,
      parentExecutionId: subjob.detached ? null : parent.id,
      metadata: {},
    });
    this.events.push({
      jobId: job.id,
      executionId: parent.id,
      at: this.now(),
      kind: 'execution.subjob',
      state: null,
      stage: parent.name,
      message: null,
      data: { subjobId: child.id },
    });
    if (subjob.detached) {
      await this.moveExecution(parent, 'SUCCEEDED', { completedAt: this.now(), result: child.id });
      this.work.push({ kind: 'settled', execution: parent });
    } else {
      await this.tx.executionSetState({ id: parent.id, from: ['RUNNING'], to: 'RUNNING', patch: { result: child.id } });
    }
  }

  /** Writes a new job with its tasks and launches the tasks that wait for nothing. */
  async createJob(input: {
    spec: JobRow['spec'];
    owner: string;
    origin: string;
    parentExecutionId: string | null;
    metadata: JobRow['metadata'];
  }): Promise<JobRow> {
    const { spec } = input;
    await resolveFilesystemMounts(this.tx, input.owner, spec);
    const now = this.now();
    const job: JobRow = {
      id: newId(),
      name: spec.name,
      description: spec.description ?? null,
      owner: input.owner,
      origin: input.origin,
      tags: spec.tags ?? [],
      inputs: spec.inputs ?? {},
      secrets: spec.secrets ?? {},
      metadata: input.metadata,
      queue: spec.queue ?? spec.defaults?.queue ?? 'default',
      priority: spec.priority ?? spec.defaults?.priority ?? 0,
      spec,
      state: 'PENDING',
      progress: 0,
      result: null,
      error: null,
      vars: {},
      parentExecutionId: input.parentExecutionId,
      taskCount: spec.tasks.length,
      createdAt: now,
      startedAt: null,
      completedAt: null,
      failedAt: null,
    };
    const tasks = buildTasks(job);
    await this.tx.jobInsert(job);
    await this.tx.taskInsertMany(tasks);
    this.remember(job);
    if (this.reports(spec)) await this.report(job, { kind: 'created' });
    this.events.push({ jobId: job.id, executionId: null, at: now, kind: 'job.state', state: 'PENDING', stage: null, message: 'submitted', data: null });
    await this.moveJob(job, 'RUNNABLE');
    const ready = tasks.filter((task) => task.needs.length === 0);
    if (ready.length === 0) return this.finishJob(job).then(() => job);
    for (const task of ready) await this.startTask(job, task);
    return job;
  }

  // ---- settling ------------------------------------------------------------------------------

  /** An execution reached a final state: retry it, or tell its parent, task and job. */
  settled(execution: ExecutionRow): void {
    this.work.push({ kind: 'settled', execution });
  }

  private async onSettled(execution: ExecutionRow): Promise<void> {
    if (execution.parentId) return this.onChildSettled(execution);
    return this.onTaskSettled(execution);
  }

  /** A retry is a new execution of the same task, attempt + 1, after exponential backoff. */
  async retryIfAllowed(execution: ExecutionRow): Promise<boolean> {
    if (execution.state !== 'FAILED' || execution.reason === 'template' || execution.reason === 'cancelled') return false;
    const job = await this.jobStatic(execution.jobId);
    const { retryLimit } = resourcesOf(execution.spec, job.spec);
    if (execution.attempt > retryLimit || !(await this.stillOpen(execution))) return false;
    const delay = Math.min(this.options.retryBaseMs * 2 ** (execution.attempt - 1), this.options.retryMaxMs);
    const retry: ExecutionRow = {
      ...newExecution({
        job,
        taskId: execution.taskId,
        spec: execution.spec,
        parentId: execution.parentId,
        idx: execution.idx,
        attempt: execution.attempt + 1,
        now: this.now(),
        cpus: execution.cpus,
      }),
      notBefore: new Date(Date.parse(this.now()) + delay).toISOString(),
    };
    await this.launchNew(retry);
    return true;
  }

  /**
   * Whether an execution may still get a new attempt: its job is not final, nor its parent (a
   * sibling failed). A cancel committing meanwhile must not miss the new attempt: the share lock
   * waits for a cancel that already moved the job or parent, and holds back one that has not (a
   * cancel looks for unfinished executions again after its move).
   */
  async stillOpen(execution: ExecutionRow): Promise<boolean> {
    if (execution.parentId) {
      const parent = await this.tx.executionLock({ id: execution.parentId, mode: 'share' });
      if (!parent || isFinal(parent.state)) return false;
    }
    return !isFinal((await this.lockJob(execution.jobId, 'share')).state);
  }

  private async onChildSettled(child: ExecutionRow): Promise<void> {
    const parentId = child.parentId as string;
    const childFailed = child.state === 'FAILED' || child.state === 'CANCELLED';
    if (childFailed) {
      const parent = await this.tx.executionGet(parentId);
      if (!parent || isFinal(parent.state)) return;
      if (parent.spec.each?.failFast === false) return this.countChild(parentId);
      // The parent's move comes first and locks it: siblings failing at the same moment wait on it
      // and then find it final. Their own rows they hold are passed over by the cancel.
      const failed = await this.moveExecution(parent, 'FAILED', {
        completedAt: this.now(),
        error: `${child.name}: ${child.error ?? child.state.toLowerCase()}`,
        reason: 'child failed',
      });
      if (!failed) return;
      await this.cancelChildren(parent.id);
      this.work.push({ kind: 'settled', execution: parent });
      return;
    }
    await this.keepVar(child);
    await this.countChild(parentId);
  }

  /** A child is done (succeeded, or failed in an each that is not fail-fast): the parent moves on. */
  private async countChild(parentId: string): Promise<void> {
    // One statement counts the child and reads the parent (no longer RUNNING: it failed meanwhile).
    const parent = await this.tx.executionAddChildDone({ id: parentId, by: 1 });
    if (!parent) return;
    if (parent.kind === 'each' && parent.childCreated !== null) await this.makeNextItem(parent);
    else if (parent.kind === 'each' && hasConcurrencyLimit(parent)) await this.releaseEachSlot(parent);
    if (parent.childDone < parent.childCount) return;
    if (parent.spec.each?.failFast === false) await this.completeTolerantEach(parent);
    else await this.completeComposite(parent);
  }

  /**
   * An each whose items settle independently fails when any item did not succeed (an attempt that
   * failed and was retried counts too: such eaches are meant for items without retries).
   */
  private async completeTolerantEach(parent: ExecutionRow): Promise<void> {
    const counts = await this.tx.executionCountByState({ parentId: parent.id });
    const unsucceeded = (counts.FAILED ?? 0) + (counts.CANCELLED ?? 0);
    if (unsucceeded === 0) return this.completeComposite(parent);
    const moved = await this.moveExecution(parent, 'FAILED', {
      completedAt: this.now(),
      error: `${unsucceeded} of ${parent.childCount} items did not succeed`,
      reason: 'child failed',
    });
    if (moved) this.work.push({ kind: 'settled', execution: parent });
  }

  /**
   * Eaches expanded before items were made a window at a time made every item at once, those
   * past the concurrency PENDING. Each item that settles frees one concurrency slot for the next waiting item. Two finishes may
   * race for the same item (PostgreSQL); the guarded write lets one win and the other tries the next.
   */
  private async releaseEachSlot(parent: ExecutionRow): Promise<void> {
    for (let tries = 0; tries < 5; tries += 1) {
      const [next] = await this.tx.executionList({ parentId: parent.id, states: ['PENDING'], orderByIdx: true, limit: 1 });
      if (!next) return;
      if (!isLeaf(next) || hasCondition(next)) {
        this.work.push({ kind: 'launch', execution: next });
        return;
      }
      if (await this.moveExecution(next, 'RUNNABLE', { scheduledAt: this.now() })) {
        this.runnable += 1;
        return;
      }
    }
  }

  private async completeComposite(parent: ExecutionRow): Promise<void> {
    await this.moveExecution(parent, 'SUCCEEDED', { completedAt: this.now(), progress: 100 });
    this.work.push({ kind: 'settled', execution: parent });
  }

  /** Cancels one unfinished execution and everything under it: its children, or its sub-job. */
  async cancelExecution(execution: ExecutionRow, patch: ExecutionPatch = {}): Promise<boolean> {
    if (execution.state === 'SUBMITTED') return false;
    const moved = await this.moveExecution(execution, 'CANCELLED', { completedAt: this.now(), reason: 'cancelled', ...patch });
    if (!moved) return false;
    if (hasChildren(execution.kind)) await this.cancelChildren(execution.id);
    if (execution.kind === 'subjob') await this.cancelSubjobs(execution.id);
    return true;
  }

  /** Cancels every unfinished child of a composite (a sibling failed, or the composite was cancelled). */
  private async cancelChildren(parentId: string): Promise<void> {
    await this.cancelActive({ parentId });
  }

  /**
   * Cancels the unfinished executions of a job or of a parent. A leaf whose own finish holds its
   * row right now is passed over rather than waited for: that finish waits for the parent or job
   * this transaction moved, then finds it final (waiting instead is a deadlock: it holds the leaf
   * and wants the parent, we hold the parent and want the leaf). It ends in its own reported
   * state. Composites are always waited for: none may be left unfinished. The list is read again
   * while it yields something to cancel, so a retry committed meanwhile is not missed either.
   * Composites go first (their children with them); the leaves left go in one set-based write (an
   * array's window is up to `arrayWindow` rows).
   */
  private async cancelActive(scope: { jobId?: string; parentId?: string }): Promise<void> {
    for (let pass = 0; pass < CANCEL_PASSES; pass += 1) {
      const composites = await this.tx.executionListActive({ ...scope, kinds: COMPOSITE_KINDS });
      let cancelled = 0;
      for (const execution of composites) if (await this.cancelExecution(execution)) cancelled += 1;
      const leaves = await this.tx.executionListActive({ ...scope, kinds: RUNNABLE_KINDS, skipLocked: true });
      cancelled += await this.cancelLeaves(leaves);
      if (composites.length + leaves.length === 0 || cancelled === 0) return;
    }
  }

  /** Cancels leaves in one guarded write and records each that moved; answers how many did. */
  private async cancelLeaves(leaves: ExecutionRow[]): Promise<number> {
    const open = leaves.filter((e) => e.state !== 'SUBMITTED');
    if (open.length === 0) return 0;
    const patch = { completedAt: this.now(), reason: 'cancelled' };
    const changed = new Set(await this.tx.executionSetStateMany({ ids: open.map((e) => e.id), from: CANCELLABLE, to: 'CANCELLED', patch }));
    for (const leaf of open) {
      if (!changed.has(leaf.id)) continue;
      Object.assign(leaf, patch, { state: 'CANCELLED' });
      await this.recordExecution(leaf);
    }
    return changed.size;
  }

  private async cancelSubjobs(executionId: string): Promise<void> {
    for (const sub of await this.tx.jobListByParentExecution([executionId])) {
      this.remember(sub);
      await this.cancelJob(sub, 'parent cancelled');
    }
  }

  /** Cancels a job and everything unfinished in it, sub-jobs included. */
  async cancelJob(job: JobRow, reason: string): Promise<void> {
    if (isFinal(job.state)) return;
    const now = this.now();
    await this.cancelActive({ jobId: job.id });
    for (const task of await this.tx.taskList(job.id)) {
      if (!isFinal(task.state)) await this.tx.taskSetState({ id: task.id, from: [task.state], to: 'CANCELLED' });
    }
    if (!(await this.moveJob(job, 'CANCELLED', { completedAt: now, error: job.error ?? reason }))) {
      // Another transaction settled or cancelled it meanwhile: answer the job as it is now.
      await this.lockJob(job.id, 'share');
      return;
    }
    // A retry committed while the move waited for its share lock (jobStillOpen) is cancelled too.
    await this.cancelActive({ jobId: job.id });
  }

  /** A succeeded task (or array item) with a `var` and a result makes `tasks.<var>` visible to later templates. */
  private async keepVar(execution: ExecutionRow): Promise<void> {
    const name = execution.spec.var;
    if (execution.state !== 'SUCCEEDED' || !name || !execution.result) return;
    await this.tx.jobSetVar({ id: execution.jobId, name, value: execution.result });
    const job = this.jobs.get(execution.jobId);
    if (job) job.vars = { ...job.vars, [name]: execution.result };
  }

  /**
   * A top-level execution settled: its task takes its state, then the job advances. Branches of a
   * graph may settle at the same moment in different transactions (PostgreSQL, READ COMMITTED):
   * the job's row lock makes them take turns, so the last one sees every other branch settled and
   * settles the job. Only a task's end takes this lock, never an array item's.
   */
  private async onTaskSettled(execution: ExecutionRow): Promise<void> {
    const task = await this.tx.taskGet(execution.taskId);
    if (!task || isFinal(task.state)) return;
    if (!(await this.tx.taskSetState({ id: task.id, from: [task.state], to: execution.state }))) return;
    await this.keepVar(execution);
    const job = await this.lockJob(execution.jobId);
    if (isFinal(job.state)) return;
    if ((execution.state === 'FAILED' || execution.state === 'CANCELLED') && !job.error) {
      job.error = `${execution.name}: ${execution.error ?? execution.state.toLowerCase()}`;
      await this.tx.jobUpdate({ id: job.id, patch: { error: job.error } });
    }
    await this.advanceJob(job);
  }

  /**
   * Moves a job on from its tasks as they are now (the caller holds the job's row lock): tasks
   * behind a failed one are skipped, tasks whose dependencies are done start, the progress is
   * written, and the job settles once every task has.
   */
  private async advanceJob(job: JobRow): Promise<void> {
    const tasks = await this.tx.taskList(job.id);
    for (const failed of tasks.filter((t) => t.state === 'FAILED' || t.state === 'CANCELLED')) {
      await this.skipDependents(tasks, failed);
    }
    for (const next of readyTasks(tasks)) await this.startTask(job, next);
    const settledCount = tasks.filter((t) => isFinal(t.state)).length;
    const progress = Math.round((settledCount / Math.max(job.taskCount, 1)) * 10000) / 100;
    if (progress !== job.progress) {
      job.progress = progress;
      await this.tx.jobUpdate({ id: job.id, patch: { progress } });
      await this.deliver(job, 'job.Progress');
    }
    if (tasks.every((t) => isFinal(t.state))) await this.finishJob(job);
  }

  /**
   * The reaper's safety net, not the mechanism: a job left open although none of its top-level
   * executions is unfinished, so nothing would ever move it again. Checked again under the job's
   * lock; a task still RUNNING takes the state of its last execution, the job advances as if that
   * had just settled, and its history records the repair. True when it was repaired.
   */
  async repairStranded(jobId: string): Promise<boolean> {
    const job = await this.lockJob(jobId);
    const [stranded] = await this.tx.jobListStranded({ ids: [jobId], limit: 1 });
    if (!stranded) return false;
    for (const task of await this.tx.taskList(jobId)) {
      if (task.state !== 'RUNNING') continue;
      const last = (await this.tx.executionList({ taskId: task.id, parentId: null, limit: 10_000 })).at(-1);
      const outcome = last && isFinal(last.state) ? last.state : 'FAILED';
      await this.tx.taskSetState({ id: task.id, from: ['RUNNING'], to: outcome });
      if (outcome !== 'SUCCEEDED' && outcome !== 'SKIPPED' && !job.error) {
        job.error = `${task.name}: ${last?.error ?? 'ended without a report'}`;
        await this.tx.jobUpdate({ id: job.id, patch: { error: job.error } });
      }
    }
    this.events.push({
      jobId,
      executionId: null,
      at: this.now(),
      kind: 'job.repair',
      state: job.state,
      stage: null,
      message: 'repaired by the reaper: every execution had ended but the job had not',
      data: null,
    });
    await this.advanceJob(job);
    return true;
  }

  /** Every task that (transitively) needs a failed one is SKIPPED: it can never run. */
  private async skipDependents(tasks: TaskRow[], failed: TaskRow): Promise<void> {
    const doomed = new Set([failed.id]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const task of tasks) {
        if (doomed.has(task.id) || task.state !== 'PENDING') continue;
        if (task.needs.some((id) => doomed.has(id))) {
          doomed.add(task.id);
          grew = true;
          await this.tx.taskSetState({ id: task.id, from: ['PENDING'], to: 'SKIPPED' });
          task.state = 'SKIPPED';
        }
      }
    }
  }

  /** All tasks are final: the job succeeds (with its evaluated `output`) or fails. */
  private async finishJob(job: JobRow): Promise<void> {
    if (isFinal(job.state)) return;
    const tasks = await this.tx.taskList(job.id);
    const now = this.now();
    const failed = tasks.find((t) => t.state === 'FAILED' || t.state === 'CANCELLED');
    if (failed) {
      await this.moveJob(job, 'FAILED', { failedAt: now, completedAt: now, error: job.error ?? `${failed.name}: failed` });
    } else {
      const output = this.evaluateOutput(job);
      if ('error' in output) {
        await this.moveJob(job, 'FAILED', { failedAt: now, completedAt: now, error: output.error });
      } else {
        await this.moveJob(job, 'SUCCEEDED', { completedAt: now, result: output.result, progress: 100 });
      }
    }
    await this.settleSubjobParent(job);
  }

  /** The job's `output` expression evaluated into its result; an evaluation error fails the job. */
  private evaluateOutput(job: JobRow): { result: string | null } | { error: string } {
    if (!job.spec.output) return { result: null };
    try {
      return { result: renderTemplate(job.spec.output, jobContext(job)) };
    } catch (error) {
      return { error: templateError(job, error) };
    }
  }

  /** A sub-job's end ends the execution that waits for it, in the parent job. */
  private async settleSubjobParent(job: JobRow): Promise<void> {
    if (!job.parentExecutionId) return;
    const parent = await this.tx.executionGet(job.parentExecutionId);
    if (!parent || parent.state !== 'RUNNING') return;
    const now = this.now();
    // The guarded move fails when the parent was cancelled meanwhile: then it has settled already.
    const moved =
      job.state === 'SUCCEEDED'
        ? await this.moveExecution(parent, 'SUCCEEDED', { completedAt: now, result: job.result, progress: 100 })
        : await this.moveExecution(parent, job.state === 'CANCELLED' ? 'CANCELLED' : 'FAILED', {
            completedAt: now,
            error: job.error ?? `sub-job ${job.state.toLowerCase()}`,
            reason: 'subjob',
          });
    if (!moved) return;
    if (job.state === 'CANCELLED') {
      await this.cancelJob(await this.job(parent.jobId), 'sub-job cancelled');
      return;
    }
    this.work.push({ kind: 'settled', execution: parent });
  }

  // ---- the loop ------------------------------------------------------------------------------

  private async flushInserts(): Promise<void> {
    if (this.inserts.length === 0) return;
    await this.tx.executionInsertMany(this.inserts.splice(0));
  }

  /** Runs queued work to the end, then writes events and outbox rows. */
  async drain(): Promise<void> {
    for (;;) {
      await this.flushInserts();
      const item = this.work.shift();
      if (!item) break;
      if (item.kind === 'launch') {
        await this.launch(item.execution);
        continue;
      }
      // Settling a child locks its parent's row (PostgreSQL) until commit, and every sibling's
      // finish waits on that lock: write what is recorded so far first, so the lock is taken late.
      await this.flushRecords();
      if (!(await this.retryIfAllowed(item.execution))) await this.onSettled(item.execution);
    }
    await this.flushRecords();
    if (this.runnable > 0) this.notices.add(this.options.bus, 'work:available', { count: this.runnable });
  }

  private async flushRecords(): Promise<void> {
    if (this.events.length > 0) await this.tx.eventInsertMany(this.events.splice(0));
    if (this.outbox.length > 0) await this.tx.outboxInsertMany(this.outbox.splice(0));
  }
}

/** Array items made in one transaction at most (a submit's, a finish's): each costs a render and an insert. */
const ITEMS_PER_STEP = 100;

/** How many items of an each may exist unsettled at once: its concurrency, at most `arrayWindow`. */
function windowOf(each: ExecutionRow, arrayWindow: number): number {
  const concurrency = each.spec.each?.concurrency ?? 0;
  return Math.min(concurrency > 0 ? concurrency : Infinity, arrayWindow);
}

/** Where an execution can be cancelled from (not SUBMITTED: it is being created in another transaction). */
const CANCELLABLE = sourcesOf('execution', 'CANCELLED').filter((state) => state !== 'SUBMITTED');
/** How many times a cancel reads the unfinished executions again (see Flow.cancelActive). */
const CANCEL_PASSES = 3;
const COMPOSITE_KINDS: readonly ExecutionKind[] = ['parallel', 'each', 'subjob'];

/** An each whose items do not all start at once: some wait PENDING for a slot. */
function hasConcurrencyLimit(execution: ExecutionRow): boolean {
  const limit = execution.spec.each?.concurrency ?? 0;
  return limit > 0 && limit < execution.childCount;
}

function hasCondition(execution: ExecutionRow): boolean {
  return execution.spec.if !== undefined && execution.spec.if.trim() !== '';
}

function isLeaf(execution: ExecutionRow): boolean {
  return isRunnableKind(execution.kind);
}

/** Tasks of a new job, with `needs` resolved to task ids (explicit names, or the previous task). */
function buildTasks(job: JobRow): TaskRow[] {
  const ids = job.spec.tasks.map(() => newId());
  const graph = job.spec.tasks.some((task) => task.needs && task.needs.length > 0);
  const byName = new Map(job.spec.tasks.map((task, i) => [task.name, ids[i]] as const));
  return job.spec.tasks.map((spec, position) => ({
    id: ids[position],
    jobId: job.id,
    position,
    name: spec.name,
    spec,
    needs: graph
      ? (spec.needs ?? []).map((name) => byName.get(name) as string)
      : position === 0
        ? []
        : [ids[position - 1]],
    state: 'PENDING' as State,
  }));
}

/** PENDING tasks whose every dependency succeeded or was skipped by its `if`. */
function readyTasks(tasks: TaskRow[]): TaskRow[] {
  const done = new Set(tasks.filter((t) => t.state === 'SUCCEEDED' || t.state === 'SKIPPED').map((t) => t.id));
  return tasks.filter((t) => t.state === 'PENDING' && t.needs.every((id) => done.has(id)));
}

/** Runs `fn` with a Flow on a fresh transaction, drains it, and emits its notices after commit. */
export async function inFlow<T>(store: Queries, options: FlowOptions, fn: (flow: Flow) => Promise<T>): Promise<T> {
  let flow: Flow | undefined;
  const result = await store.tx(async (tx) => {
    flow = new Flow(tx, options);
    const value = await fn(flow);
    await flow.drain();
    return value;
  });
  flow?.notices.flush();
  return result;
}

/**
 * A template's or expression's error as stored: its message may quote a value it was given (such
 * as a secret passed to int()), so the job's secret values are cut out (core/redact.ts).
 */
function templateError(job: Pick<JobRow, 'secrets' | 'spec'>, error: unknown): string {
  return Redactor.forJob(job).text(coerceError(error).message);
}
