/**
 * Turning task specs into execution rows: templates evaluated where Tork evaluates them (name,
 * var, image, queue, env values, cmd, args, pre/post, sub-job fields; `run` and `lua` never), the
 * resources an execution asks for, its queue, priority, timeout and retry budget.
 */
import { isRunnableKind, type ExecutionKind, type ExecutionRow, type JobRow, type TaskSpec } from '../core/model.js';
import type { AuxTaskSpec, JobSpec } from '../core/spec-types.js';
import { parseCpus, parseDuration, parseMemoryMb } from '../core/duration.js';
import { renderTemplate } from '../core/expr.js';
import { taskKind } from '../core/spec.js';
import { newId } from './ids.js';

export const DEFAULT_CPUS = 1;
export const DEFAULT_MEMORY_MB = 256;
export const DEFAULT_QUEUE = 'default';

export type TemplateContext = Record<string, unknown>;

/** The names a template can see: inputs, secrets, tasks (var → result) and job, plus item variables. */
export function jobContext(job: JobRow, extra: TemplateContext = {}): TemplateContext {
  return {
    inputs: job.inputs,
    secrets: job.secrets,
    tasks: job.vars,
    job: { id: job.id, name: job.name },
    ...extra,
  };
}

function renderMap(map: Record<string, string> | undefined, ctx: TemplateContext): Record<string, string> | undefined {
  if (!map) return undefined;
  return Object.fromEntries(Object.entries(map).map(([key, value]) => [key, renderTemplate(value, ctx)]));
}

function renderAux(task: AuxTaskSpec, ctx: TemplateContext): AuxTaskSpec {
  return {
    ...task,
    name: renderTemplate(task.name, ctx),
    image: task.image === undefined ? undefined : renderTemplate(task.image, ctx),
    env: renderMap(task.env, ctx),
    cmd: task.cmd?.map((item) => renderTemplate(item, ctx)),
  };
}

/**
 * Evaluates a task's templates for one execution. Composite children (parallel tasks, the each
 * template, sub-job tasks) are rendered when they are created, with the context of that moment, so
 * an each item's variable reaches nested tasks: it is rendered into them here.
 */
export function renderTask(task: TaskSpec, ctx: TemplateContext, deep = false): TaskSpec {
  const rendered: TaskSpec = {
    ...task,
    name: renderTemplate(task.name, ctx),
    var: task.var === undefined ? undefined : renderTemplate(task.var, ctx),
    image: task.image === undefined ? undefined : renderTemplate(task.image, ctx),
    queue: task.queue === undefined ? undefined : renderTemplate(task.queue, ctx),
    env: renderMap(task.env, ctx),
    cmd: task.cmd?.map((item) => renderTemplate(item, ctx)),
    args: task.args?.map((item) => renderTemplate(item, ctx)),
    pre: task.pre?.map((aux) => renderAux(aux, ctx)),
    post: task.post?.map((aux) => renderAux(aux, ctx)),
  };
  if (deep && task.parallel) {
    rendered.parallel = { tasks: task.parallel.tasks.map((child) => renderTask(child, ctx, true)) };
  }
  if (deep && task.each) {
    rendered.each = { ...task.each, task: renderTask(task.each.task, ctx, true) };
  }
  return stripUndefined(rendered);
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export interface Resources {
  cpus: number;
  memoryMb: number;
  queue: string;
  priority: number;
  timeoutMs: number | null;
  retryLimit: number;
}

/** What an execution asks for: its task's settings, else the job's defaults, else barge's. */
export function resourcesOf(task: TaskSpec, spec: JobSpec): Resources {
  const defaults = spec.defaults ?? {};
  const cpus = task.limits?.cpus ?? defaults.limits?.cpus;
  const memory = task.limits?.memory ?? defaults.limits?.memory;
  const timeout = task.timeout ?? defaults.timeout;
  return {
    cpus: cpus === undefined ? DEFAULT_CPUS : parseCpus(cpus),
    memoryMb: memory === undefined ? DEFAULT_MEMORY_MB : parseMemoryMb(memory),
    queue: task.queue ?? defaults.queue ?? spec.queue ?? DEFAULT_QUEUE,
    priority: task.priority ?? defaults.priority ?? spec.priority ?? 0,
    timeoutMs: timeout === undefined ? null : parseDuration(timeout),
    retryLimit: task.retry?.limit ?? defaults.retry?.limit ?? 0,
  };
}

/**
 * The cpus an item of an `each` with a `concurrency` reserves when neither its task nor the job's
 * defaults name any: a 1/concurrency share of one cpu (at least 0.01), so the items of such a
 * fan-out together reserve one cpu, as one command would, and `concurrency: N` runs N at once on a
 * worker with one free cpu and the memory for N items. Undefined when the rule does not apply (the
 * item then reserves what resourcesOf says). Such an item is still capped at DEFAULT_CPUS of cpu
 * time (its spec's `limits.cpus`, see launchItem): the share is a reservation, not a throttle.
 */
export function sharedItemCpus(task: TaskSpec, spec: JobSpec, concurrency: number | undefined): number | undefined {
  if (!concurrency || concurrency <= 0) return undefined;
  if (task.limits?.cpus !== undefined || spec.defaults?.limits?.cpus !== undefined) return undefined;
  return Math.max(0.01, Math.floor(100 / concurrency) / 100);
}

export interface NewExecution {
  job: Pick<JobRow, 'id' | 'owner' | 'spec'>;
  taskId: string;
  spec: TaskSpec;
  parentId: string | null;
  idx: number;
  attempt: number;
  now: string;
  /** The cpus an earlier attempt reserved (a shared item share), kept by its retries. */
  cpus?: number;
}

/** A fresh execution row in SUBMITTED; the flow decides its first state before inserting it. */
export function newExecution(input: NewExecution): ExecutionRow {
  const kind: ExecutionKind = taskKind(input.spec);
  const resources = resourcesOf(input.spec, input.job.spec);
  const composite = !isRunnableKind(kind);
  return {
    id: newId(),
    jobId: input.job.id,
    taskId: input.taskId,
    parentId: input.parentId,
    idx: input.idx,
    attempt: input.attempt,
    kind,
    name: input.spec.name,
    state: 'SUBMITTED',
    owner: input.job.owner,
    queue: composite ? '' : resources.queue,
    priority: resources.priority,
    cpus: composite ? 0 : (input.cpus ?? resources.cpus),
    memoryMb: composite ? 0 : resources.memoryMb,
    spec: input.spec,
    nodeId: null,
    leaseExpiresAt: null,
    notBefore: null,
    timeoutMs: resources.timeoutMs,
    createdAt: input.now,
    scheduledAt: null,
    startedAt: null,
    completedAt: null,
    exitCode: null,
    result: null,
    error: null,
    reason: null,
    progress: 0,
    childCount: 0,
    childDone: 0,
    childCreated: null,
  };
}
