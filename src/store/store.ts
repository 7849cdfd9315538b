/**
 * The Store: the only way to the database. Internal and free to change; both implementations
 * (sqlite/, postgres/) pass one conformance suite (test/store/conformance.ts).
 *
 * A store knows SQL and nothing about the engine's rules: it reads and writes rows, guards state
 * writes with the states the engine says are legal, and reports how many rows changed. Every
 * method takes one params object. `tx(fn)` runs `fn` in one transaction (SQLite: BEGIN IMMEDIATE,
 * PostgreSQL: a pooled client); calling `tx` on a `Queries` that is already a transaction reuses it.
 *
 * Times are ISO-8601 strings in UTC with milliseconds (`new Date().toISOString()`), which sort
 * correctly as text in both dialects.
 */
import type {
  ArtifactRow,
  EventRow,
  ExecutionRow,
  FilesystemRow,
  GrantKind,
  GrantRow,
  JobRow,
  LogLine,
  NodeRow,
  OutboxRow,
  OutsideJobRow,
  PubkeyRow,
  ScheduleRow,
  ShareRow,
  State,
  TaskRow,
  TokenRow,
  ToolProgram,
  ToolRow,
  UserRow,
} from '../core/model.js';
import type { OutsideEventRow } from './shared/outside-jobs-sql.js';

export type Dialect = 'sqlite' | 'postgres';

export interface JobFilter {
  owner?: string;
  /** Jobs this user owns or that are shared with them (`job_shares`); with `owner`, both must hold. */
  visibleTo?: string;
  states?: State[];
  /** Jobs carrying any of these tags. */
  tags?: string[];
  queue?: string;
  origin?: string;
  createdAfter?: string;
  createdBefore?: string;
  /** Full-text search over name, description, tags and state (FTS5 / tsvector, English stemming). */
  q?: string;
  /** Only top-level jobs (no sub-jobs) when false. */
  includeSubjobs?: boolean;
}

export interface JobListParams extends JobFilter {
  limit: number;
  /** Offset paging (Tork's page/size). */
  offset?: number;
  /** Cursor paging: jobs strictly older than this job (newest first). */
  beforeId?: string;
}

export interface IdPrefixParams {
  table: 'jobs' | 'executions';
  /** Lowercase hex, at most 32 characters. */
  prefix: string;
  limit: number;
}

export interface ExecutionListParams {
  jobId?: string;
  /** Executions leased to this node. */
  nodeId?: string;
  taskId?: string;
  parentId?: string | null;
  states?: State[];
  limit: number;
  /** Cursor: executions with seq greater than this one's (oldest first). */
  afterSeq?: number;
  /** Order by idx instead of seq (each slots). */
  orderByIdx?: boolean;
}

export interface ActiveListParams {
  jobId?: string;
  parentId?: string;
  /** Only executions of these kinds. */
  kinds?: readonly string[];
  /**
   * PostgreSQL leaves out rows another transaction holds (a finish in progress) instead of waiting
   * for them, and locks the rest for this transaction. SQLite transactions take turns: no effect.
   */
  skipLocked?: boolean;
}

export interface StateWrite<TPatch> {
  id: string;
  /** The states the row must be in for the write to happen (the guard). */
  from: readonly State[];
  to: State;
  patch?: TPatch;
  /** When set, the row must also be leased by this node (executions only). */
  nodeId?: string;
}

export type ExecutionPatch = Partial<
  Pick<
    ExecutionRow,
    | 'nodeId'
    | 'leaseExpiresAt'
    | 'notBefore'
    | 'scheduledAt'
    | 'startedAt'
    | 'completedAt'
    | 'exitCode'
    | 'result'
    | 'error'
    | 'reason'
    | 'progress'
    | 'queue'
    | 'childCount'
    | 'childCreated'
  >
>;

export type JobPatch = Partial<
  Pick<JobRow, 'name' | 'startedAt' | 'completedAt' | 'failedAt' | 'result' | 'error' | 'progress' | 'vars'>
>;

export interface OutsideJobKey {
  origin: string;
  externalId: string;
}

/** Exact matches; an absent field does not filter. */
export interface OutsideJobFilter {
  origin: string;
  status?: string;
  cluster?: string;
}

export type { OutsideEventRow };

export interface JobDeleteLimits {
  executions: number;
  logChunks: number;
  events: number;
}

/** One stored chunk of an array's list: opaque text to the store. */
export interface ArrayItemsChunk {
  chunk: number;
  items: string;
}

export type UserPatch = Partial<Pick<UserRow, 'role' | 'disabled' | 'quotas' | 'passwordHash'>>;

/** What an owner used in one quota period, beyond what live rows tell. */
export interface UsageCount {
  computeMs: number;
  resultBytes: number;
}

/** One array item's state (several rows share an idx when it was retried: the last one counts). */
export interface ItemState {
  idx: number;
  state: State;
}

/** How many executions of a queue ended in one minute (`minute` is its start, ISO, UTC). */
export interface WaitingReason {
  reason: string;
  count: number;
}

export interface FinishedPerMinute {
  queue: string;
  minute: string;
  count: number;
}

export interface ClaimCandidatesParams {
  queues: string[];
  now: string;
  /** At most this many candidates per owner, highest priority then oldest first. */
  perOwner: number;
  /** Only executions of these kinds (a worker without a container runtime skips 'container'). */
  kinds: string[];
  /**
   * Only executions that need at most this much (the worker's free capacity), so work that
   * cannot fit is passed over in the walk instead of filling the owner's `perOwner` places.
   */
  fits?: { cpus: number; memoryMb: number };
}

export interface Queries extends RegistryQueries {
  readonly dialect: Dialect;
  tx<T>(fn: (tx: Queries) => Promise<T>): Promise<T>;

  // jobs
  jobInsert(job: JobRow): Promise<void>;
  jobGet(id: string): Promise<JobRow | undefined>;
  /**
   * Up to `limit` ids of jobs or executions starting with `prefix`, in id order: a range over the
   * primary key (never a scan), so a short id typed by a person resolves in one index probe.
   */
  idsByPrefix(params: IdPrefixParams): Promise<string[]>;
  jobList(params: JobListParams): Promise<JobRow[]>;
  jobCount(filter: JobFilter): Promise<number>;
  /** Guarded state write; true when the row changed. */
  jobSetState(write: StateWrite<JobPatch>): Promise<boolean>;
  /** Unguarded field update for fields that are not the state (progress, vars, metadata). */
  jobUpdate(params: { id: string; patch: JobPatch; metadata?: JobRow['metadata'] }): Promise<void>;
  /**
   * Sets `vars[name] = value` in one statement (a JSON merge), so tasks finishing at once in
   * parallel branches or array items cannot overwrite each other's results.
   */
  jobSetVar(params: { id: string; name: string; value: string }): Promise<void>;
  /**
   * Deletes a bounded part of a job, in one transaction: log chunks, stored array items, artifact
   * rows and the executions themselves at most `executions` executions (and `logChunks` chunks)
   * at a time, then events `events` at a time, and last its tasks and the job row. Call it until
   * it answers 'deleted' (the job row went in this call) or 'missing' (there was no such job);
   * 'more' means there is more to delete.
   */
  jobDeleteSome(params: JobDeleteLimits & { id: string }): Promise<'more' | 'deleted' | 'missing'>;
  /** Sub-jobs started by any execution of this job. */
  jobListSubjobs(jobId: string): Promise<JobRow[]>;
  /** Ids of final jobs whose `metadata.deleteAt` (set from the spec's `autoDelete`) is at or before `now`. */
  jobListExpired(params: { now: string; limit: number }): Promise<string[]>;
  /**
   * The job, read to decide something this transaction then writes (is the job done? may this
   * execution retry?). PostgreSQL locks the row until commit: 'update' (FOR NO KEY UPDATE) makes
   * such deciders take turns, each seeing what the one before it committed; 'share' (FOR SHARE)
   * waits for a decider in progress but not for other sharers. SQLite transactions already take
   * turns (BEGIN IMMEDIATE), so there it is a plain read.
   */
  jobLock(params: { id: string; mode: 'update' | 'share' }): Promise<JobRow | undefined>;
  /**
   * Ids of jobs not yet final that have top-level executions, none of them unfinished: nothing will
   * move them again (the reaper settles them). A job without executions (a record kept for an
   * outside runner) is never listed. Oldest first; `ids` narrows the look to these jobs.
   */
  jobListStranded(params: { limit: number; ids?: string[] }): Promise<string[]>;
  /** Jobs whose parentExecutionId is one of these executions. */
  jobListByParentExecution(executionIds: string[]): Promise<JobRow[]>;
  /** Jobs in a state, by count per state (metrics). */
  jobCountByState(filter: JobFilter): Promise<Partial<Record<State, number>>>;

  // tasks
  taskInsertMany(tasks: TaskRow[]): Promise<void>;
  taskList(jobId: string): Promise<TaskRow[]>;
  taskGet(id: string): Promise<TaskRow | undefined>;
  taskSetState(write: StateWrite<never>): Promise<boolean>;
  /** Restart: put a final task back to PENDING without the transition guard of a state write. */
  taskReset(params: { ids: string[] }): Promise<void>;

  // executions
  /** Batched: a 10,000-item array is a few statements. */
  executionInsertMany(rows: ExecutionRow[]): Promise<void>;
  executionGet(id: string): Promise<ExecutionRow | undefined>;
  executionList(params: ExecutionListParams): Promise<ExecutionRow[]>;
  executionCountByState(params: { jobId?: string; parentId?: string }): Promise<Partial<Record<State, number>>>;
  /** The same counts for many jobs in one query (a list page), keyed by job id; jobs with none are absent. */
  executionCountByStateMany(params: { jobIds: string[] }): Promise<Record<string, Partial<Record<State, number>>>>;
  /** Counts of items (latest attempts, composites left out; see shared/item-counts.ts), keyed by job id. */
  executionItemCountByStateMany(params: { jobIds: string[] }): Promise<Record<string, Partial<Record<State, number>>>>;
  executionSetState(write: StateWrite<ExecutionPatch>): Promise<boolean>;
  /** The same guarded write, answering the row as it is after the move (undefined: no move). */
  executionMove(write: StateWrite<ExecutionPatch>): Promise<ExecutionRow | undefined>;
  /** The same guarded write for many rows; returns the ids that changed. */
  executionSetStateMany(params: {
    ids: string[];
    from: readonly State[];
    to: State;
    patch?: ExecutionPatch;
  }): Promise<string[]>;
  /** Unfinished executions of a job, or of one parent (for cancel). */
  executionListActive(params: ActiveListParams): Promise<ExecutionRow[]>;
  /** The execution, read to decide something this transaction then writes (see jobLock). */
  executionLock(params: { id: string; mode: 'update' | 'share' }): Promise<ExecutionRow | undefined>;
  /**
   * Counts children of a RUNNING composite that settled for good; answers the composite after the
   * increment, or undefined when it is no longer RUNNING. O(1), no scan. On PostgreSQL the row lock
   * this takes serializes sibling finishes, so exactly one of them sees the last child done.
   */
  executionAddChildDone(params: { id: string; by: number }): Promise<ExecutionRow | undefined>;
  /**
   * Runnable executions a worker could take, at most `perOwner` per owner, each owner's highest
   * priority then oldest first. PostgreSQL locks them FOR UPDATE SKIP LOCKED for the rest of the
   * transaction; the engine picks among them and writes the claim in the same transaction.
   */
  executionClaimCandidates(params: ClaimCandidatesParams): Promise<ExecutionRow[]>;
  /**
   * RUNNABLE executions of runnable kinds that need more than `cpus` or `memoryMb`, or whose
   * reason starts with `orReasonPrefix` (to clear it once they fit): the waiting explainer's candidates.
   */
  executionListRunnableExceeding(params: { cpus: number; memoryMb: number; orReasonPrefix: string; limit: number }): Promise<ExecutionRow[]>;
  /** Extends the leases of a node's executions; returns the ids it still holds (STARTING/RUNNING). */
  executionRenewLeases(params: { nodeId: string; ids: string[]; until: string }): Promise<string[]>;
  /** STARTING/RUNNING executions whose lease expired before `now`. */
  executionListLeaseExpired(params: { now: string; limit: number }): Promise<ExecutionRow[]>;
  /** RUNNING executions started more than their timeout (plus `graceMs`) before `now`. */
  executionListPastTimeout(params: { now: string; graceMs: number; limit: number }): Promise<ExecutionRow[]>;
  /**
   * Takes up to `max` more of a RUNNING windowed each's items: advances `childCreated` (never
   * past `childCount`) and answers the indexes taken, or undefined when none are left.
   */
  executionTakeItems(params: { id: string; max: number }): Promise<{ first: number; count: number } | undefined>;
  /** Per job, how many items RUNNING windowed eaches have not made yet (absent: none). */
  executionCountUnmade(params: { jobIds: string[] }): Promise<Record<string, number>>;

  // arrays: an each's evaluated list, stored once in chunks
  arrayItemsInsert(params: { executionId: string; chunks: ArrayItemsChunk[] }): Promise<void>;
  arrayItemsGet(params: { executionId: string; chunks: number[] }): Promise<ArrayItemsChunk[]>;
  arrayItemsDelete(params: { executionId: string }): Promise<void>;

  /** Runnable executions by queue: name, runnable count, running count. */
  queueStats(): Promise<Array<{ queue: string; runnable: number; running: number }>>;

  // the web UI's views
  /** The items of a composite in idx order, attempts of one idx in seq order. */
  executionItemStates(params: { parentId: string }): Promise<ItemState[]>;
  /** The latest attempt of one item of a composite. */
  executionItemLatest(params: { parentId: string; idx: number }): Promise<ExecutionRow | undefined>;
  /** Executions (not composites) that ended since `since`, counted per queue and minute. */
  executionFinishedPerMinute(params: { since: string }): Promise<FinishedPerMinute[]>;
  /** The reasons RUNNABLE executions wait for, with how many wait for each, most common first. */
  executionWaitingReasons(params: { limit: number }): Promise<WaitingReason[]>;

  // logs: stored in chunks (core/log-chunks.ts), read as lines
  /** Idempotent per line number: lines already stored are left out; lines of unknown executions are dropped. */
  logAppendMany(lines: LogLine[]): Promise<void>;
  logList(params: { executionId: string; afterNumber?: number; limit: number }): Promise<LogLine[]>;
  /** Log lines of all executions of a job, oldest first. */
  logListByJob(params: { jobId: string; limit: number; offset?: number; q?: string }): Promise<LogLine[]>;
  logCount(params: { executionId?: string; jobId?: string }): Promise<number>;
  /** Lines, and bytes the log takes in storage (chunk bodies with their overhead). */
  logSize(params: { executionId?: string; jobId?: string }): Promise<{ lines: number; bytes: number }>;

  // events
  eventInsertMany(events: EventRow[]): Promise<void>;
  eventList(params: { jobId: string; afterId?: number; limit: number }): Promise<EventRow[]>;

  // outbox
  outboxInsertMany(rows: OutboxRow[]): Promise<void>;
  /** Pending rows due at `now`, pushed `leaseMs` into the future so no other dispatcher takes them. */
  outboxTakeDue(params: { now: string; limit: number; leaseMs: number }): Promise<OutboxRow[]>;
  outboxUpdate(params: {
    id: number;
    status: OutboxRow['status'];
    attempts: number;
    nextAt: string;
    lastError: string | null;
  }): Promise<void>;

  // outside jobs: run elsewhere, recorded here (srtslurm's status API)
  /**
   * The outside job, read to decide a write this transaction then makes; a writer of the same
   * outside id waits until commit, even while the job does not exist yet (PostgreSQL: an advisory
   * transaction lock on the id; SQLite transactions already take turns).
   */
  outsideJobLock(params: OutsideJobKey): Promise<OutsideJobRow | undefined>;
  outsideJobGet(params: OutsideJobKey): Promise<OutsideJobRow | undefined>;
  outsideJobInsert(row: OutsideJobRow): Promise<void>;
  /** Rewrites status, cluster, submittedAt and record. */
  outsideJobUpdate(row: OutsideJobRow): Promise<void>;
  /** Newest first: submittedAt then externalId, descending, as text. */
  outsideJobList(params: OutsideJobFilter & { limit: number; offset: number }): Promise<OutsideJobRow[]>;
  outsideJobCount(params: OutsideJobFilter): Promise<number>;
  /** Events of one `kind` of an origin's outside jobs (one job's, with `externalId`), by id after `afterId`. */
  outsideEventList(params: { origin: string; kind: string; externalId?: string; afterId: number; limit: number }): Promise<OutsideEventRow[]>;

  // artifacts
  artifactInsertMany(rows: ArtifactRow[]): Promise<void>;
  artifactList(params: { jobId?: string; executionId?: string }): Promise<ArtifactRow[]>;

  // nodes
  nodeUpsert(node: NodeRow): Promise<void>;
  nodeGet(id: string): Promise<NodeRow | undefined>;
  nodeList(params: { heartbeatAfter?: string }): Promise<NodeRow[]>;
  /** UP nodes silent since before `silentSince` become DOWN; returns their ids. */
  nodeMarkDown(params: { silentSince: string }): Promise<string[]>;

  // users, credentials (stored hashed), public keys, shares, usage
  userInsert(user: UserRow): Promise<void>;
  userGet(id: string): Promise<UserRow | undefined>;
  userGetByName(name: string): Promise<UserRow | undefined>;
  userList(): Promise<UserRow[]>;
  /** false when there is no such user. */
  userUpdate(params: { id: string; patch: UserPatch }): Promise<boolean>;
  /** Deletes the user with its credentials, public keys and the shares granted to it. Jobs stay. */
  userDelete(id: string): Promise<boolean>;
  tokenInsert(token: TokenRow): Promise<void>;
  /** The credential with this hash and its user; touches lastUsedAt at most once a minute. */
  tokenGetByHash(hash: string): Promise<{ token: TokenRow; user: UserRow } | undefined>;
  tokenList(params: { userId: string }): Promise<TokenRow[]>;
  /** Revokes one credential of this user; false when it has none with this id. */
  tokenDelete(params: { id: string; userId: string }): Promise<boolean>;
  pubkeyInsert(key: PubkeyRow): Promise<void>;
  pubkeyList(params: { userId: string }): Promise<PubkeyRow[]>;
  pubkeyDelete(params: { id: string; userId: string }): Promise<boolean>;
  /** The key with this fingerprint and its user; touches lastUsedAt at most once a minute. */
  pubkeyGetByFingerprint(fingerprint: string): Promise<{ pubkey: PubkeyRow; user: UserRow } | undefined>;
  /** Idempotent: sharing twice keeps the first grant. */
  shareInsert(share: ShareRow): Promise<void>;
  shareList(params: { jobId: string }): Promise<ShareRow[]>;
  shareDelete(params: { jobId: string; userName: string }): Promise<boolean>;
  shareExists(params: { jobId: string; userName: string }): Promise<boolean>;
  /** Adds to an owner's usage in a period (an upsert; concurrent adds both count). */
  usageAdd(params: { owner: string; periodStart: string } & UsageCount): Promise<void>;
  usageGet(params: { owner: string; periodStart: string }): Promise<UsageCount>;
  /** Runnable (not composite) executions in these states, counted per owner; owners with none are absent. */
  executionCountByOwner(params: { owners: string[]; states: readonly State[] }): Promise<Record<string, number>>;
  /** How many items the owner's RUNNING windowed eaches have not made yet (queued work without rows). */
  executionCountUnmadeOf(params: { owner: string }): Promise<number>;
  /** Start-to-end milliseconds of an owner's runnable executions (of one job, when given) that ended at or after `since`. */
  executionComputeMs(params: { owner: string; since: string; jobId?: string }): Promise<number>;

  // schedules (cron)
  scheduleInsert(schedule: ScheduleRow): Promise<void>;
  scheduleGet(id: string): Promise<ScheduleRow | undefined>;
  /** Newest first. */
  scheduleList(params: { owner?: string; limit: number; offset?: number }): Promise<ScheduleRow[]>;
  scheduleCount(params: { owner?: string }): Promise<number>;
  scheduleSetState(params: { id: string; from: ScheduleRow['state']; to: ScheduleRow['state'] }): Promise<boolean>;
  scheduleDelete(id: string): Promise<boolean>;
  /** ACTIVE schedules whose nextAt <= now. */
  scheduleListDue(params: { now: string; limit: number }): Promise<ScheduleRow[]>;
  /** Moves nextAt from `expectedNextAt` to `nextAt` (compare-and-set); false if another server did. */
  scheduleAdvance(params: { id: string; expectedNextAt: string; nextAt: string; firedAt: string }): Promise<boolean>;

  // leadership (reaper, cron): one holder at a time across processes
  leaderAcquire(params: { name: string; holder: string; now: string; until: string }): Promise<boolean>;
}

export interface Store extends Queries {
  /** Wake listeners in this and (PostgreSQL) other processes: channel 'work' after new runnable work. */
  notify(channel: string, payload?: string): Promise<void>;
  listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>;
  /** A cheap round trip; throws when the database is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Tools and filesystems (ET Engine's registry), and the grants that share them. */
export interface RegistryQueries {
  /** Throws on a second tool of one owner with the same name. */
  toolInsert(tool: ToolRow): Promise<void>;
  toolGet(id: string): Promise<ToolRow | undefined>;
  toolGetByName(params: { owner: string; name: string }): Promise<ToolRow | undefined>;
  /** Tools the user owns or that are shared with them, oldest first; every tool without `userName`. */
  toolList(params: { owner?: string; userName?: string }): Promise<ToolRow[]>;
  toolSetProgram(params: { id: string; program: ToolProgram }): Promise<boolean>;
  /** Deletes the tool and its grants. */
  toolDelete(id: string): Promise<boolean>;
  /** Throws on a second filesystem of one owner with the same name. */
  filesystemInsert(filesystem: FilesystemRow): Promise<void>;
  filesystemGet(id: string): Promise<FilesystemRow | undefined>;
  filesystemGetByName(params: { owner: string; name: string }): Promise<FilesystemRow | undefined>;
  /** Filesystems the user owns or that are shared with them, oldest first; every one without `userName`. */
  filesystemList(params: { owner?: string; userName?: string }): Promise<FilesystemRow[]>;
  /** Deletes the row and its grants (not the folder). */
  filesystemDelete(id: string): Promise<boolean>;
  /** Idempotent: granting twice keeps the first grant. */
  grantInsert(grant: GrantRow): Promise<void>;
  grantList(params: { kind: GrantKind; resourceId: string }): Promise<GrantRow[]>;
  grantDelete(params: { kind: GrantKind; resourceId: string; userName: string }): Promise<boolean>;
  grantExists(params: { kind: GrantKind; resourceId: string; userName: string }): Promise<boolean>;
}
