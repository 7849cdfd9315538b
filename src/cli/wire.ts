/**
 * The shapes of barge's `/v1` API as the CLI reads them (docs/api-v1.md). They are declared here,
 * not imported from `core/`, because the CLI is a client of the wire contract: the server's row
 * types may change without the CLI noticing, the wire may not.
 */
import type { State } from '../core/states.js';
import type { Quotas } from '../core/model.js';

export type { State };

export type Counts = Partial<Record<State, number>>;

export interface JobTask {
  id: string;
  name: string;
  position: number;
  state: State;
  needs: string[];
}

/** A task of a submitted spec, as far as the CLI looks into it. */
export interface SpecTask {
  name?: string;
  each?: unknown;
  parallel?: unknown;
  subjob?: unknown;
}

export interface Job {
  id: string;
  name: string;
  description: string | null;
  owner: string;
  origin: string;
  state: State;
  progress: number;
  tags: string[];
  queue: string;
  priority: number;
  inputs: Record<string, string>;
  metadata: Record<string, unknown>;
  result: unknown;
  error: string | null;
  parentExecutionId: string | null;
  taskCount: number;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  failedAt: string | null;
  /** Items by state: each task and array element once, in its latest attempt's state. */
  counts?: Counts;
  /** Every execution by state, retries included (single-job answers). */
  attempts?: Counts;
  /** On `GET /v1/jobs/{id}` and submit answers only. */
  tasks?: JobTask[];
  spec?: { tasks?: SpecTask[] } & Record<string, unknown>;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type ExecutionKind = 'shell' | 'lua' | 'container' | 'parallel' | 'each' | 'subjob';

export interface Execution {
  id: string;
  jobId: string;
  taskId: string;
  parentId: string | null;
  idx: number;
  attempt: number;
  kind: ExecutionKind;
  name: string;
  state: State;
  queue: string;
  priority: number;
  cpus: number;
  memoryMb: number;
  nodeId: string | null;
  createdAt: string;
  scheduledAt: string | null;
  startedAt: string | null;
  completedAt: string | null;
  exitCode: number | null;
  result: unknown;
  error: string | null;
  reason: string | null;
  progress: number;
  childCount: number;
  childDone: number;
}

export type LogStream = 'stdout' | 'stderr' | 'system';

export interface LogLine {
  number: number;
  stream: LogStream;
  at: string;
  line: string;
}

export interface LogPage {
  items: LogLine[];
  next: number;
  done: boolean;
}

export interface JobEvent {
  id: number;
  jobId: string;
  executionId: string | null;
  at: string;
  kind: string;
  state: string | null;
  stage: string | null;
  message: string | null;
  data: unknown;
}

export interface Node {
  id: string;
  name: string;
  role?: string;
  hostname: string;
  version: string;
  startedAt: string;
  lastHeartbeatAt: string;
  cpuPercent: number;
  cpus: number;
  memoryMb: number;
  usedCpus: number;
  usedMemoryMb: number;
  queues: string[];
  status: 'UP' | 'DOWN';
  /** Facts the node reports: its shell `isolation` (`bwrap`, `none`), limits, runtimes. */
  info?: Record<string, unknown>;
}

export interface Queue {
  name: string;
  runnable: number;
  running: number;
}

export interface ErrorDetail {
  path: string;
  message: string;
}

export interface ErrorBody {
  error: string;
  message: string;
  details?: ErrorDetail[];
}

/** Kinds whose executions run a program and so have logs; the others only hold children. */
export const LEAF_KINDS: readonly ExecutionKind[] = ['shell', 'lua', 'container'];

export const FINAL: readonly State[] = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'SKIPPED'];

export function isFinalState(state: string): boolean {
  return (FINAL as readonly string[]).includes(state);
}

export type { Quotas };

export interface User {
  id: string;
  name: string;
  role: string;
  createdAt: string;
  disabled: boolean;
  quotas: Quotas;
}

export interface Me {
  id: string;
  name: string;
  role: string;
  quotas: Quotas;
  usage: {
    periodStart: string;
    periodEnd: string;
    runningExecutions: number;
    queuedExecutions: number;
    computeSeconds: number;
    resultBytes: number;
  };
}

export interface Credential {
  id: string;
  name: string;
  kind: 'token' | 'apikey';
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

export interface Pubkey {
  id: string;
  name: string;
  keyType: string;
  fingerprint: string;
  publicKey: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

export interface Share {
  jobId: string;
  user: string;
  createdAt: string;
}
