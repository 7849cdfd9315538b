/**
 * barge's jobs and executions in Tork's shapes (tork.md §4.1–4.3), field order as Tork emits them,
 * `omitempty` fields left out when empty.
 *
 * - A Tork *task instance* is a barge execution (its id is the execution id; `GET /tasks/:id`).
 *   Retries are new executions, as in Tork; parallel and each children carry `parentId`.
 * - A job's `tasks` are the definitions as submitted (barge's normalized spec), `execution` all of
 *   its executions ordered as Tork orders them: position, then start time, never-started last.
 * - Tork applies job defaults to a task when it schedules it, so an instance shows its effective
 *   queue, limits, timeout and retry limit; `retry.attempts` counts the attempts before this one.
 */
import { isRunnableKind, type ExecutionRow, type JobRow, type Json, type TaskRow, type UserRow } from '../../../core/model.js';
import type { JobSpec, LimitsSpec, TaskSpec } from '../../../core/spec-types.js';
import { renderTemplate } from '../../../core/expr.js';
import { secretValuesOf } from '../../../core/redact.js';
import { resourcesOf } from '../../../engine/expand.js';
import { taskOutcome } from './outcomes.js';
import { jobPosition, jobProgress } from './progress.js';
import { Redactor } from './redact.js';
import { endStamp, torkJobState } from './states.js';
import { goTime, omitEmpty, omitEmptyMap, type Wire, type WireObject } from './wire.js';

/** Tork's Task fields in the order Tork emits them (§4.3); barge-only keys follow. */
const TASK_FIELD_ORDER = [
  'id', 'jobId', 'parentId', 'position', 'name', 'description', 'state', 'createdAt', 'scheduledAt', 'startedAt',
  'completedAt', 'failedAt', 'cmd', 'entrypoint', 'run', 'image', 'registry', 'env', 'files', 'queue', 'redelivered',
  'error', 'pre', 'post', 'sidecars', 'mounts', 'networks', 'nodeId', 'retry', 'limits', 'timeout', 'result', 'var',
  'if', 'parallel', 'each', 'subjob', 'gpus', 'tags', 'workdir', 'priority', 'progress', 'probe',
];

function inTorkOrder(task: WireObject): WireObject {
  const ordered: WireObject = {};
  for (const key of TASK_FIELD_ORDER) if (task[key] !== undefined) ordered[key] = task[key];
  for (const key of Object.keys(task)) if (!(key in ordered) && task[key] !== undefined) ordered[key] = task[key];
  return ordered;
}

// ---- users -----------------------------------------------------------------------------------

/** Tork's User. barge keeps one name per user: it is both Tork's `username` and `name`. */
export function userView(name: string, row?: UserRow): WireObject {
  return {
    id: row?.id,
    name,
    username: name,
    createdAt: goTime(row?.createdAt),
    disabled: omitEmpty(row?.disabled ?? false),
  };
}

// ---- task definitions -----------------------------------------------------------------------------

/** Tork writes limits as strings (".5", "10m"); barge's own specs may hold numbers (cpus, MB). */
function limitsView(limits: LimitsSpec | undefined): WireObject | undefined {
  if (!limits) return undefined;
  const memory = typeof limits.memory === 'number' ? `${limits.memory}m` : limits.memory;
  return omitEmpty({ cpus: limits.cpus === undefined ? undefined : String(limits.cpus), memory });
}

/** A task definition as submitted, for a job's `tasks` and the children of composites. */
export function definitionView(spec: TaskSpec): WireObject {
  const wire = JSON.parse(JSON.stringify(spec)) as WireObject;
  return inTorkOrder({
    ...wire,
    limits: limitsView(spec.limits),
    parallel: spec.parallel && { tasks: spec.parallel.tasks.map(definitionView) },
    each: spec.each && { ...(wire.each as WireObject), task: definitionView(spec.each.task) },
    subjob: spec.subjob && { ...(wire.subjob as WireObject), tasks: spec.subjob.tasks.map(definitionView) },
  });
}

// ---- task instances -----------------------------------------------------------------------------

export interface InstanceFacts {
  /** The job the execution belongs to (its defaults apply). */
  job: JobRow;
  /** 1-based position of the execution's top-level task. */
  position: number;
  /** The sub-job an execution of a `subjob` task started. */
  subjobId?: string;
  /** Tork's error of that sub-job, when it failed (see outcomes.ts). */
  subjobError?: string;
}

/**
 * Tork stores a task's `if` as its template evaluated when the task was created. barge keeps the
 * template, so it is evaluated again here against the job's inputs and task results as this API
 * shows them (redacted, and without `secrets`: the answer shows the value); a SKIPPED task's came
 * out `false`. Where it cannot be evaluated (an each item's variable, a secret) the template is
 * shown.
 */
function shownIf(execution: ExecutionRow, job: JobRow): string | undefined {
  const condition = execution.spec.if;
  if (condition === undefined || !condition.includes('{{')) return condition;
  if (execution.state === 'SKIPPED') return 'false';
  const redactor = new Redactor(secretValuesOf(job));
  try {
    const visible = { inputs: redactor.map(job.inputs), tasks: redactor.map(job.vars), job: { id: job.id, name: job.name } };
    return redactor.text(renderTemplate(condition, visible));
  } catch {
    return condition;
  }
}

/**
 * Tork sets a task's `progress` only when the task reports one; barge also writes 100 when a
 * leaf succeeds and when a composite completes, which Tork would not show.
 */
function reportedProgress(execution: ExecutionRow): number | undefined {
  if (!isRunnableKind(execution.kind)) return undefined;
  if (execution.state === 'SUCCEEDED' && execution.progress === 100) return undefined;
  return omitEmpty(execution.progress);
}


/** What Tork shows as a task's `result`: a sub-job task's running result is barge's child id. */
function resultOf(execution: ExecutionRow): string | undefined {
  if (execution.state !== 'SUCCEEDED') return undefined;
  return execution.result ?? undefined;
}

function retryView(execution: ExecutionRow, job: JobSpec): WireObject | undefined {
  const { retryLimit } = resourcesOf(execution.spec, job);
  if (retryLimit <= 0) return undefined;
  return { limit: retryLimit, attempts: omitEmpty(execution.attempt - 1) };
}

function compositeViews(execution: ExecutionRow, facts: InstanceFacts): WireObject {
  const spec = execution.spec;
  return {
    parallel: spec.parallel && { tasks: spec.parallel.tasks.map(definitionView), completions: omitEmpty(execution.childDone) },
    each: spec.each && {
      var: spec.each.var,
      list: spec.each.list,
      task: definitionView(spec.each.task),
      size: omitEmpty(execution.childCount),
      completions: omitEmpty(execution.childDone),
      concurrency: omitEmpty(spec.each.concurrency ?? 0),
      // Tork's next item to release: the concurrency, plus one per settled item.
      index: execution.childCount > 0 ? omitEmpty((spec.each.concurrency ?? 0) + execution.childDone) : undefined,
    },
    subjob: spec.subjob && {
      id: facts.subjobId,
      name: spec.subjob.name,
      description: spec.subjob.description,
      tasks: spec.subjob.tasks.map(definitionView),
      inputs: omitEmptyMap(spec.subjob.inputs),
      secrets: omitEmptyMap(spec.subjob.secrets),
      autoDelete: spec.subjob.autoDelete,
      output: spec.subjob.output,
      detached: omitEmpty(spec.subjob.detached ?? false),
      webhooks: spec.subjob.webhooks?.map((w) => ({ ...w })),
    },
  };
}

/** An execution as a Tork task instance (unredacted; see `redactTask`). */
export function instanceView(execution: ExecutionRow, facts: InstanceFacts): WireObject {
  const spec = execution.spec;
  const leaf = isRunnableKind(execution.kind);
  const outcome = taskOutcome(execution, facts.subjobError);
  const defaults = facts.job.spec.defaults;
  const aux = (tasks: TaskSpec['pre']): Wire[] | undefined => tasks?.map((t) => inTorkOrder(JSON.parse(JSON.stringify(t)) as WireObject));
  return inTorkOrder({
    id: execution.id,
    jobId: execution.jobId,
    parentId: execution.parentId ?? undefined,
    position: omitEmpty(facts.position),
    name: execution.name,
    description: spec.description,
    state: outcome.state,
    createdAt: goTime(execution.createdAt),
    // Tork's scheduler stamps a composite scheduled and started at once.
    scheduledAt: goTime(execution.scheduledAt ?? (leaf ? null : execution.startedAt)),
    startedAt: goTime(execution.startedAt),
    completedAt: outcome.end === 'completedAt' ? goTime(execution.completedAt) : undefined,
    failedAt: outcome.end === 'failedAt' ? goTime(execution.completedAt) : undefined,
    cmd: omitEmpty(spec.cmd),
    entrypoint: omitEmpty(spec.entrypoint),
    run: spec.run,
    image: spec.image,
    registry: spec.registry && { ...spec.registry },
    env: omitEmptyMap(spec.env),
    files: omitEmptyMap(spec.files),
    queue: leaf ? omitEmpty(execution.queue) : undefined,
    error: outcome.error,
    pre: omitEmpty(aux(spec.pre)),
    post: omitEmpty(aux(spec.post)),
    sidecars: omitEmpty(aux(spec.sidecars)),
    mounts: omitEmpty(spec.mounts?.map((m) => ({ ...m })) as Wire[] | undefined),
    networks: omitEmpty(spec.networks),
    nodeId: execution.nodeId ?? undefined,
    retry: leaf ? retryView(execution, facts.job.spec) : undefined,
    limits: leaf ? limitsView(spec.limits ?? defaults?.limits) : undefined,
    timeout: leaf ? (spec.timeout ?? defaults?.timeout) : undefined,
    result: resultOf(execution),
    var: spec.var,
    if: shownIf(execution, facts.job),
    ...compositeViews(execution, facts),
    gpus: spec.gpus,
    tags: omitEmpty(spec.tags),
    workdir: spec.workdir,
    priority: omitEmpty(execution.priority),
    progress: reportedProgress(execution),
    // barge's own fields, for jobs submitted through /v1.
    lua: spec.lua,
    args: omitEmpty(spec.args),
  });
}

/** Tork's TaskSummary, the body of task webhooks. */
export function taskSummaryView(execution: ExecutionRow, position: number | undefined): WireObject {
  const outcome = taskOutcome(execution);
  return {
    id: execution.id,
    jobId: execution.jobId,
    position: omitEmpty(position ?? 0),
    progress: reportedProgress(execution),
    name: execution.name,
    description: execution.spec.description,
    state: outcome.state,
    createdAt: goTime(execution.createdAt),
    scheduledAt: goTime(execution.scheduledAt),
    startedAt: goTime(execution.startedAt),
    completedAt: outcome.end === 'completedAt' ? goTime(execution.completedAt) : undefined,
    error: outcome.error,
    result: resultOf(execution),
    var: execution.spec.var,
    tags: omitEmpty(execution.spec.tags),
  };
}

/**
 * Tork's order of a job's task instances: position ascending, then start time ascending with
 * never-started rows last; creation order breaks ties.
 */
export function sortInstances(executions: ExecutionRow[], positionOf: (e: ExecutionRow) => number): ExecutionRow[] {
  const startKey = (e: ExecutionRow): string => e.startedAt ?? '\uffff';
  return [...executions].sort(
    (a, b) =>
      positionOf(a) - positionOf(b) ||
      startKey(a).localeCompare(startKey(b)) ||
      a.createdAt.localeCompare(b.createdAt) ||
      (a.seq ?? 0) - (b.seq ?? 0),
  );
}

// ---- jobs -------------------------------------------------------------------------------------

/**
 * Which of Tork's end timestamps and outcome fields a job shows. `error` is Tork's error of a
 * failed job when the caller looked it up (outcomes.ts `torkJobError`), else barge's.
 */
function jobEnd(job: JobRow, error: string | undefined): Pick<WireObject, 'completedAt' | 'failedAt' | 'result' | 'error'> {
  const end = endStamp(job.state);
  return {
    completedAt: end === 'completedAt' ? goTime(job.completedAt) : undefined,
    failedAt: end === 'failedAt' ? goTime(job.failedAt ?? job.completedAt) : undefined,
    result: job.state === 'SUCCEEDED' ? (job.result ?? undefined) : undefined,
    error: job.state === 'FAILED' ? (error ?? job.error ?? undefined) : undefined,
  };
}

function scheduleOf(job: JobRow): WireObject | undefined {
  const schedule = job.metadata.schedule as Json | undefined;
  if (!schedule || typeof schedule !== 'object' || Array.isArray(schedule)) return undefined;
  return { id: schedule.id as string | undefined, cron: schedule.cron as string | undefined };
}

export interface SummaryFacts {
  createdBy: WireObject;
  tasks: TaskRow[];
  /** The current task's executions of a running job, for its share of the progress. */
  executions?: ExecutionRow[];
  /** Tork's error of a failed job. */
  error?: string;
}

/** Tork's JobSummary (§4.2): list items, the submit answer, job webhooks. */
export function jobSummaryView(job: JobRow, facts: SummaryFacts): WireObject {
  const position = jobPosition(job, facts.tasks);
  const progress = jobProgress(job, facts.tasks, facts.executions);
  const end = jobEnd(job, facts.error);
  return {
    id: job.id,
    createdBy: facts.createdBy,
    parentId: job.parentExecutionId ?? undefined,
    inputs: omitEmptyMap(job.inputs),
    name: job.name,
    description: job.description ?? undefined,
    tags: omitEmpty(job.tags),
    state: torkJobState(job.state),
    createdAt: goTime(job.createdAt),
    startedAt: goTime(job.startedAt),
    completedAt: end.completedAt,
    failedAt: end.failedAt,
    position,
    taskCount: omitEmpty(job.taskCount),
    result: end.result,
    error: end.error,
    progress: omitEmpty(progress),
    schedule: scheduleOf(job),
  };
}

/** The answer to a submit: the job as Tork accepted it, PENDING at position 0 (§3.1). */
export function acceptedSummaryView(job: JobRow, createdBy: WireObject): WireObject {
  return {
    id: job.id,
    createdBy,
    inputs: omitEmptyMap(job.inputs),
    name: job.name,
    description: job.description ?? undefined,
    tags: omitEmpty(job.tags),
    state: 'PENDING',
    createdAt: goTime(job.createdAt),
    position: 0,
    taskCount: omitEmpty(job.taskCount),
  };
}

export interface JobFacts {
  createdBy: WireObject;
  tasks: TaskRow[];
  executions: ExecutionRow[];
  /** Sub-job ids by the execution that started them. */
  subjobIds: ReadonlyMap<string, string>;
  /** Tork's errors of failed sub-jobs, by the execution that started them. */
  subjobErrors: ReadonlyMap<string, string>;
  /** Tork's error of the job, if it failed. */
  error?: string;
}

function defaultsView(spec: JobSpec): WireObject | undefined {
  const d = spec.defaults;
  if (!d) return undefined;
  return omitEmpty({
    retry: d.retry && { limit: d.retry.limit },
    limits: limitsView(d.limits),
    timeout: d.timeout,
    queue: d.queue,
    priority: omitEmpty(d.priority ?? 0),
  });
}

function permissionView(permission: { user?: string; role?: string }): WireObject {
  return permission.user ? { user: userView(permission.user) } : { role: { slug: permission.role, name: permission.role } };
}

/** Tork's full Job (§4.1), redacted (§7). */
export function jobView(job: JobRow, facts: JobFacts): WireObject {
  const redactor = new Redactor(Object.values(job.secrets));
  const positions = new Map(facts.tasks.map((t) => [t.id, t.position + 1]));
  const positionOf = (e: ExecutionRow): number => positions.get(e.taskId) ?? 0;
  const instances = sortInstances(facts.executions, positionOf).map((execution) =>
    redactor.task(
      instanceView(execution, {
        job,
        position: positionOf(execution),
        subjobId: facts.subjobIds.get(execution.id),
        subjobError: facts.subjobErrors.get(execution.id),
      }),
    ),
  );
  const end = jobEnd(job, facts.error);
  return {
    id: job.id,
    parentId: job.parentExecutionId ?? undefined,
    name: job.name,
    description: job.description ?? undefined,
    tags: omitEmpty(job.tags),
    state: torkJobState(job.state),
    createdAt: goTime(job.createdAt),
    createdBy: facts.createdBy,
    startedAt: goTime(job.startedAt),
    completedAt: end.completedAt,
    failedAt: end.failedAt,
    tasks: job.spec.tasks.map((task) => redactor.task(definitionView(task))),
    execution: instances,
    position: jobPosition(job, facts.tasks),
    inputs: omitEmptyMap(redactor.map(job.inputs)),
    context: {
      job: { id: job.id, name: job.name },
      inputs: omitEmptyMap(redactor.map(job.inputs)),
      secrets: omitEmptyMap(redactor.secrets(job.secrets)),
      tasks: omitEmptyMap(redactor.map(job.vars)),
    },
    taskCount: omitEmpty(job.taskCount),
    output: job.spec.output,
    result: end.result,
    error: end.error,
    defaults: defaultsView(job.spec),
    webhooks: omitEmpty(job.spec.webhooks?.map((w) => redactor.webhook({ url: w.url, headers: w.headers, event: w.event, if: w.if }))),
    permissions: omitEmpty(job.spec.permissions?.map(permissionView)),
    autoDelete: job.spec.autoDelete && { after: job.spec.autoDelete.after },
    deleteAt: typeof job.metadata.deleteAt === 'string' ? job.metadata.deleteAt : undefined,
    secrets: omitEmptyMap(redactor.secrets(job.secrets)),
    progress: omitEmpty(jobProgress(job, facts.tasks, facts.executions)),
    schedule: scheduleOf(job),
  };
}
