/** Row factories for the store conformance suite: complete rows with partial overrides. */
import { randomBytes } from 'node:crypto';
import type {
  ExecutionRow,
  JobRow,
  JobSpec,
  NodeRow,
  OutboxRow,
  ScheduleRow,
  TaskRow,
  TaskSpec,
} from '../../src/core/model.js';

export function newTestId(): string {
  return randomBytes(16).toString('hex');
}

/** A fixed base time, so ordering by time is decided by the test, not by the clock. */
export const T0 = Date.parse('2030-01-01T00:00:00.000Z');

/** `T0 + ms` as an ISO string. */
export function at(ms: number): string {
  return new Date(T0 + ms).toISOString();
}

const SPEC: JobSpec = { name: 'spec', tasks: [{ name: 'step', run: 'echo hi' }] } as JobSpec;
const TASK_SPEC: TaskSpec = { name: 'step', run: 'echo hi', env: { A: '1' } };

export function makeJob(overrides: Partial<JobRow> = {}): JobRow {
  return {
    id: newTestId(),
    name: 'a job',
    description: null,
    owner: 'alice',
    origin: 'v1',
    tags: [],
    inputs: {},
    secrets: {},
    metadata: {},
    queue: 'default',
    priority: 0,
    spec: SPEC,
    state: 'RUNNING',
    progress: 0,
    result: null,
    error: null,
    vars: {},
    parentExecutionId: null,
    taskCount: 1,
    createdAt: at(0),
    startedAt: null,
    completedAt: null,
    failedAt: null,
    ...overrides,
  };
}

export function makeTask(job: JobRow, overrides: Partial<TaskRow> = {}): TaskRow {
  return {
    id: newTestId(),
    jobId: job.id,
    position: 0,
    name: 'step',
    spec: TASK_SPEC,
    needs: [],
    state: 'PENDING',
    ...overrides,
  };
}

export function makeExecution(job: JobRow, overrides: Partial<ExecutionRow> = {}): ExecutionRow {
  return {
    id: newTestId(),
    jobId: job.id,
    taskId: 'task-1',
    parentId: null,
    idx: 0,
    attempt: 1,
    kind: 'shell',
    name: 'step',
    state: 'RUNNABLE',
    owner: job.owner,
    queue: job.queue,
    priority: job.priority,
    cpus: 1,
    memoryMb: 256,
    spec: TASK_SPEC,
    nodeId: null,
    leaseExpiresAt: null,
    notBefore: null,
    timeoutMs: null,
    createdAt: at(0),
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
    ...overrides,
  };
}

export function makeNode(overrides: Partial<NodeRow> = {}): NodeRow {
  return {
    id: newTestId(),
    name: 'worker-1',
    role: 'worker',
    hostname: 'localhost',
    version: 'test',
    startedAt: at(0),
    lastHeartbeatAt: at(0),
    cpuPercent: 12.5,
    cpus: 4,
    memoryMb: 4096,
    usedCpus: 1.5,
    usedMemoryMb: 512,
    queues: ['default'],
    status: 'UP',
    info: { isolation: 'none' },
    ...overrides,
  };
}

export function makeOutbox(overrides: Partial<OutboxRow> = {}): OutboxRow {
  return {
    kind: 'webhook',
    method: 'POST',
    url: 'http://127.0.0.1:9/hook',
    headers: { 'content-type': 'application/json' },
    body: { event: 'job.StateChange', ok: true },
    attempts: 0,
    maxAttempts: 5,
    nextAt: at(0),
    createdAt: at(0),
    lastError: null,
    status: 'pending',
    orderingKey: null,
    ...overrides,
  };
}

export function makeSchedule(overrides: Partial<ScheduleRow> = {}): ScheduleRow {
  return {
    id: newTestId(),
    name: 'nightly',
    description: null,
    cron: '0 0 * * *',
    state: 'ACTIVE',
    spec: SPEC,
    owner: 'alice',
    origin: 'tork',
    tags: ['cron'],
    createdAt: at(0),
    nextAt: at(60_000),
    lastFiredAt: null,
    ...overrides,
  };
}
