/**
 * barge's data model, shared by every layer. Glossary:
 * - Job: what a person submits; a spec with tasks. Owned by a user, created through one API (origin).
 * - Task: one top-level step of a job as written in its spec (a node of the job's graph).
 * - Execution: one run of one task, or of one child of a composite (`parallel`, `each`); what a
 *   worker executes. Retries are new executions of the same task with attempt + 1.
 * - Lease: a claimed execution belongs to one node until `leaseExpiresAt`; the worker renews it
 *   with heartbeats and the reaper takes it back when it lapses.
 * - Node: an API server or a worker process, with a heartbeat.
 * - Queue: a name executions are routed by; workers subscribe to queues.
 */
import type { State } from './states.js';
import type { JobSpec, TaskSpec } from './spec-types.js';

export type { State } from './states.js';
export type { JobSpec, TaskSpec } from './spec-types.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What kind of work an execution is: runnable by a worker, or a composite the engine drives. */
export type ExecutionKind = 'shell' | 'lua' | 'container' | 'parallel' | 'each' | 'subjob';
export const RUNNABLE_KINDS: readonly ExecutionKind[] = ['shell', 'lua', 'container'];

/** Work a worker runs (shell, lua, container), as opposed to a composite the engine drives. */
export function isRunnableKind(kind: ExecutionKind): boolean {
  return RUNNABLE_KINDS.includes(kind);
}

/** A composite with child executions (parallel, each); a sub-job's children are another job. */
export function hasChildren(kind: ExecutionKind): boolean {
  return kind === 'parallel' || kind === 'each';
}

export interface JobRow {
  id: string;
  name: string;
  description: string | null;
  owner: string;
  /** Which API created it: 'v1', 'tork', 'sliderule', 'batches', 'sc', 'srtslurm'. */
  origin: string;
  tags: string[];
  inputs: Record<string, string>;
  /** Never echoed by any API. */
  secrets: Record<string, string>;
  metadata: Record<string, Json>;
  queue: string;
  priority: number;
  spec: JobSpec;
  state: State;
  /** 0..100 */
  progress: number;
  result: string | null;
  error: string | null;
  /** `tasks.<var>` → result, filled as tasks with a `var` succeed. */
  vars: Record<string, string>;
  /** The subjob execution this job runs for, if it is a sub-job. */
  parentExecutionId: string | null;
  taskCount: number;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  failedAt: string | null;
}

export interface TaskRow {
  id: string;
  jobId: string;
  /** 0-based index in the job's task list. */
  position: number;
  name: string;
  spec: TaskSpec;
  /** Ids of the tasks this one waits for (explicit `needs`, or the previous task in a sequence). */
  needs: string[];
  state: State;
}

export interface ExecutionRow {
  id: string;
  jobId: string;
  taskId: string;
  /** The composite execution (parallel/each) this one is a child of. */
  parentId: string | null;
  /** Index in the parent's array (each item or parallel child); 0 for top-level executions. */
  idx: number;
  attempt: number;
  kind: ExecutionKind;
  name: string;
  state: State;
  owner: string;
  queue: string;
  priority: number;
  cpus: number;
  memoryMb: number;
  /** The task spec with its expressions evaluated for this execution. */
  spec: TaskSpec;
  nodeId: string | null;
  leaseExpiresAt: string | null;
  /** Not claimable before this time (retry backoff). */
  notBefore: string | null;
  /** Timeout in milliseconds, enforced by the worker and, as a backstop, by the reaper. */
  timeoutMs: number | null;
  createdAt: string;
  scheduledAt: string | null;
  startedAt: string | null;
  completedAt: string | null;
  exitCode: number | null;
  result: string | null;
  error: string | null;
  /** Why it is where it is: 'timeout', 'lease expired', 'dependency failed', 'no worker with a container runtime', … */
  reason: string | null;
  progress: number;
  /** Composites: how many children the parent has, and how many reached a final state for good. */
  childCount: number;
  childDone: number;
  /**
   * An each that makes its items a window at a time: how many it has made so far (its list is
   * stored once; the rest are made as earlier ones settle). Null when every child was made at once.
   */
  childCreated: number | null;
  /** Monotonic insertion order, for oldest-first claims and stable paging. */
  seq?: number;
}

export type LogStream = 'stdout' | 'stderr' | 'system';

export interface LogLine {
  executionId: string;
  /** 1-based, increasing per execution. */
  number: number;
  stream: LogStream;
  at: string;
  line: string;
}

export interface EventRow {
  id?: number;
  jobId: string;
  executionId: string | null;
  at: string;
  /** 'job.state', 'execution.state', 'status' (posted from outside), 'job.progress'. */
  kind: string;
  state: string | null;
  stage: string | null;
  message: string | null;
  data: Record<string, Json> | null;
}

export type OutboxKind = 'webhook' | 'report';

export interface OutboxRow {
  id?: number;
  kind: OutboxKind;
  /** 'POST' (webhooks, a status report's create), or 'PUT' (a status report's update). */
  method: 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  body: Json;
  attempts: number;
  maxAttempts: number;
  nextAt: string;
  createdAt: string;
  lastError: string | null;
  /** 'pending' until delivered ('done') or given up ('dead'). */
  status: 'pending' | 'done' | 'dead';
  /**
   * Rows sharing a key are delivered one at a time, oldest first (a status report's updates of one
   * job to one endpoint), so a retried update never lands after a newer one. Null: no order.
   */
  orderingKey: string | null;
}

/**
 * A job run elsewhere and recorded here (srtslurm's status API): a barge job (`jobId`, origin
 * `origin`, never run by barge) plus the outside system's own record of it, kept verbatim.
 */
export interface OutsideJobRow {
  origin: string;
  /** The outside system's id (a SLURM job id); unique per origin. */
  externalId: string;
  jobId: string;
  /** The outside status word, verbatim (filters and lists). */
  status: string;
  cluster: string | null;
  /** As the outside system sent it; lists sort by it as text. */
  submittedAt: string;
  /** Everything else the outside system says about the job, in its own words. */
  record: Record<string, Json>;
}

export interface NodeRow {
  id: string;
  name: string;
  role: 'server' | 'worker' | 'standalone';
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
  /** Free-form facts such as which isolation the shell runtime uses. */
  info: Record<string, Json>;
}

export interface ArtifactRow {
  executionId: string;
  jobId: string;
  path: string;
  size: number;
  createdAt: string;
}

/**
 * What a user may do: `admin` everything; `user` their own jobs and those shared with them;
 * `viewer` the same reads, no writes; `worker` claim and report work, nothing else.
 */
export const ROLES = ['admin', 'user', 'viewer', 'worker'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Limits on one user's work; an absent limit is no limit. Usage periods are fixed windows of
 * `periodSeconds` counted from the Unix epoch (the default is a UTC day).
 */
export interface Quotas {
  /** Executions STARTING or RUNNING at once; more wait RUNNABLE. */
  runningExecutions?: number;
  /** Executions waiting to run (SUBMITTED, PENDING, RUNNABLE); a submit that would pass it is refused. */
  queuedExecutions?: number;
  /** Seconds of execution time (start to end) finished in the current period. */
  computeSecondsPerPeriod?: number;
  /** Bytes of results downloaded in the current period. */
  resultBytesPerPeriod?: number;
  /** The longest `each` list of this user's jobs, in place of the server's `--max-array-items`. */
  maxArrayItems?: number;
  /** (Default: 86400) */
  periodSeconds?: number;
}

export interface UserRow {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  disabled: boolean;
  /** bcrypt hash for APIs with password logins (Tork's basic auth); null for token-only users. Never returned by an API. */
  passwordHash: string | null;
  quotas: Quotas;
}

/**
 * A secret credential: `token`, an API token for `Authorization: Bearer`; `apikey`, for faces that
 * send a raw key (a header without a scheme, or a username and key in the body). Only the SHA-256
 * hash of the secret is stored; `prefix` is its first characters, safe to show so a user can tell
 * which of their credentials a leaked value is.
 */
export type CredentialKind = 'token' | 'apikey';

export interface TokenRow {
  id: string;
  userId: string;
  /** hex SHA-256 of the secret */
  hash: string;
  name: string;
  kind: CredentialKind;
  prefix: string;
  createdAt: string;
  /** null: never expires */
  expiresAt: string | null;
  lastUsedAt: string | null;
}

/** A registered OpenSSH public key (`ssh-ed25519 AAAA… comment`) for faces that verify request signatures. */
export interface PubkeyRow {
  id: string;
  userId: string;
  name: string;
  /** 'ssh-ed25519' (the only type accepted) */
  keyType: string;
  /** The base64 key blob of the OpenSSH line. */
  publicKey: string;
  /** `SHA256:<base64>` of the key blob, as `ssh-keygen -l` prints it; unique. */
  fingerprint: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

/** A job shared with another user, who then sees and controls it as its owner does (not delete). */
export interface ShareRow {
  jobId: string;
  userName: string;
  createdAt: string;
}

/** A job spec fired on a cron schedule. */
export interface ScheduleRow {
  id: string;
  name: string;
  description: string | null;
  cron: string;
  state: 'ACTIVE' | 'PAUSED';
  spec: JobSpec;
  owner: string;
  origin: string;
  tags: string[];
  createdAt: string;
  /** The next firing; advanced with a compare-and-set so one server fires each tick. */
  nextAt: string;
  lastFiredAt: string | null;
}

/** What a tool runs: a bash script, a Lua script, or a command in a container image. */
export type ToolProgram =
  | { kind: 'bash'; script: string }
  | { kind: 'lua'; script: string }
  | { kind: 'image'; image: string; command: string };

/** A registered program owned by a user, run as batches (ET Engine's tools). */
export interface ToolRow {
  id: string;
  /** Unique per owner. */
  name: string;
  description: string;
  owner: string;
  /** Null until its owner gives it one. */
  program: ToolProgram | null;
  createdAt: string;
}

/** A named folder owned by a user, mounted read-write into the tasks of the batches that ask for it. */
export interface FilesystemRow {
  id: string;
  /** Unique per owner. */
  name: string;
  owner: string;
  /** Absolute host folder: in barge's data folder, or an outside path an admin allowed. */
  path: string;
  createdAt: string;
}

export type GrantKind = 'tool' | 'filesystem';

/** A tool or filesystem shared with another user, who may then use it (not change or delete it). */
export interface GrantRow {
  kind: GrantKind;
  resourceId: string;
  userName: string;
  createdAt: string;
}
