/**
 * Rows as /v1 shows them. Built field by field, never by spreading a row, so a column added to
 * the model (a secret, a lease) stays private until someone decides to show it.
 */
import type { EventRow, ExecutionRow, JobRow, Json, LogLine, NodeRow, State, TaskRow } from '../../core/model.js';
import { Redactor } from '../../core/redact.js';
import type { EventBody, ExecutionBody, JobBody, LogLineBody, NodeBody } from './schemas.js';

export interface JobDetail {
  job: JobRow;
  counts: Partial<Record<State, number>>;
  /** Live progress (engine.describeJob); the stored one otherwise. */
  progress?: number;
  /** Present on single-job answers, with the spec. */
  tasks?: TaskRow[];
  /** Every execution by state (single-job answers). */
  attempts?: Partial<Record<State, number>>;
}

/**
 * What the submitter wrote is redacted here by core/redact.ts's rule (secret values, values under
 * sensitive keys, `secrets` maps); the error, produced by tasks, was redacted when it was stored
 * and is passed through the rule again for rows written before that.
 */
export function jobBody({ job, counts, progress, tasks, attempts }: JobDetail): JobBody {
  const redactor = Redactor.forJob(job);
  const body: JobBody = {
    id: job.id,
    name: job.name,
    description: job.description,
    owner: job.owner,
    origin: job.origin,
    state: job.state,
    progress: progress ?? job.progress,
    tags: job.tags,
    queue: job.queue,
    priority: job.priority,
    inputs: redactor.map(job.inputs) ?? {},
    metadata: redactor.json(job.metadata),
    result: job.result,
    error: job.error === null ? null : redactor.text(job.error),
    parentExecutionId: job.parentExecutionId,
    taskCount: job.taskCount,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    completedAt: job.completedAt,
    failedAt: job.failedAt,
    counts: counts as Record<string, number>,
  };
  if (tasks) {
    body.tasks = tasks.map((task) => ({
      id: task.id,
      name: task.name,
      position: task.position,
      state: task.state,
      needs: task.needs,
    }));
    body.spec = redactor.json(job.spec as unknown as Json) as Record<string, unknown>;
  }
  if (attempts) body.attempts = attempts as Record<string, number>;
  return body;
}

export function executionBody(row: ExecutionRow): ExecutionBody {
  return {
    id: row.id,
    jobId: row.jobId,
    taskId: row.taskId,
    parentId: row.parentId,
    idx: row.idx,
    attempt: row.attempt,
    kind: row.kind,
    name: row.name,
    owner: row.owner,
    state: row.state,
    queue: row.queue,
    priority: row.priority,
    cpus: row.cpus,
    memoryMb: row.memoryMb,
    nodeId: row.nodeId,
    createdAt: row.createdAt,
    scheduledAt: row.scheduledAt,
    startedAt: row.startedAt,
    completedAt: row.completedAt,
    exitCode: row.exitCode,
    result: row.result,
    error: row.error,
    reason: row.reason,
    progress: row.progress,
    childCount: row.childCount,
    childDone: row.childDone,
  };
}

export function logLineBody(line: LogLine): LogLineBody {
  return { number: line.number, stream: line.stream, at: line.at, line: line.line };
}

export function eventBody(row: EventRow): EventBody {
  return {
    id: row.id ?? 0,
    jobId: row.jobId,
    executionId: row.executionId,
    at: row.at,
    kind: row.kind,
    state: row.state,
    stage: row.stage,
    message: row.message,
    data: row.data,
  };
}

export function nodeBody(row: NodeRow): NodeBody {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    hostname: row.hostname,
    version: row.version,
    startedAt: row.startedAt,
    lastHeartbeatAt: row.lastHeartbeatAt,
    cpuPercent: row.cpuPercent,
    cpus: row.cpus,
    memoryMb: row.memoryMb,
    usedCpus: row.usedCpus,
    usedMemoryMb: row.usedMemoryMb,
    queues: row.queues,
    status: row.status,
    info: row.info,
  };
}
