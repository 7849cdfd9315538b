/**
 * The embedded store: one SQLite file through better-sqlite3, for `barge up` on one machine (and
 * a few worker processes beside it).
 *
 * Transactions. better-sqlite3 is synchronous with one connection per process, while engine
 * transactions await between statements. So every transaction takes an async lock (one at a time
 * per process), runs BEGIN IMMEDIATE (the write lock, one at a time across processes, waited for
 * asynchronously for up to 10 s; see SqliteConnection.begin), and ends with COMMIT or ROLLBACK.
 * Calls outside a transaction take the same lock, so they never run inside another task's open
 * transaction. A call on the store made from within a transaction's async context joins that
 * transaction instead of waiting for it, which would wait forever.
 *
 * Known gaps against PostgreSQL:
 * - `notify`/`listen` reach only this process; workers in other processes poll.
 * - Writers take turns (one write transaction at a time per file): fine for one machine.
 * - Search stems with porter but has no stop words ("the" must match), unlike `english`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type {
  ArtifactRow,
  EventRow,
  ExecutionRow,
  JobRow,
  LogLine,
  NodeRow,
  OutboxRow,
  OutsideJobRow,
  ScheduleRow,
  State,
  TaskRow,
  PubkeyRow,
  ShareRow,
  TokenRow,
  UserRow,
  FilesystemRow,
  GrantKind,
  GrantRow,
  ToolProgram,
  ToolRow,
} from '../../core/model.js';
import { coerceError } from '../../core/errors.js';
import type {
  ActiveListParams,
  ArrayItemsChunk,
  ClaimCandidatesParams,
  ExecutionListParams,
  ExecutionPatch,
  FinishedPerMinute,
  WaitingReason,
  IdPrefixParams,
  ItemState,
  JobDeleteLimits,
  JobFilter,
  JobListParams,
  JobPatch,
  Queries,
  StateWrite,
  Store,
  UsageCount,
  UserPatch,
  OutsideEventRow,
  OutsideJobFilter,
  OutsideJobKey,
} from '../store.js';
import { Mutex } from '../shared/mutex.js';
import { listJobLines, listLines, type LogChunkQueries } from '../shared/logs.js';
import { SqliteConnection } from './connection.js';
import * as executions from './executions.js';
import * as jobs from './jobs.js';
import { migrateSqlite } from './migrate.js';
import { openError } from '../shared/redact.js';
import { interpretSqliteError } from './errors.js';
import * as nodes from './nodes.js';
import * as outbox from './outbox.js';
import * as outsideJobs from './outside-jobs.js';
import * as schedules from './schedules.js';
import * as streams from './streams.js';
import * as registry from './registry.js';
import * as uiStats from './ui-stats.js';
import * as users from './users.js';

/** An open transaction, and whether it still is (a query after COMMIT is a bug, not a new write). */
interface TxScope {
  active: boolean;
  queries: SqliteQueries;
}

/** What the store and its transaction objects share. */
class Session {
  readonly mutex = new Mutex();
  readonly current = new AsyncLocalStorage<TxScope>();
  readonly channels = new EventEmitter();

  constructor(readonly conn: SqliteConnection) {}

  /** The open transaction of the caller's async context, if any. */
  joinable(): TxScope | undefined {
    const scope = this.current.getStore();
    return scope?.active ? scope : undefined;
  }

  /** Runs `fn` in a new BEGIN IMMEDIATE transaction, after every earlier one in this process. */
  transaction<T>(fn: (scope: TxScope) => Promise<T> | T, makeQueries: (scope: TxScope) => SqliteQueries): Promise<T> {
    return this.mutex.run(async () => {
      await this.conn.begin().catch((error: unknown) => {
        throw interpretSqliteError(error);
      });
      const scope = { active: true } as TxScope;
      scope.queries = makeQueries(scope);
      try {
        const result = await this.current.run(scope, () => fn(scope));
        this.conn.commit();
        return result;
      } catch (error) {
        this.conn.rollback();
        throw interpretSqliteError(error);
      } finally {
        scope.active = false;
      }
    });
  }
}

export class SqliteQueries implements Queries {
  readonly dialect = 'sqlite' as const;

  constructor(
    protected readonly session: Session,
    /** Set on a transaction's queries; null on the store itself. */
    private readonly scope: TxScope | null,
  ) {}

  async tx<T>(fn: (tx: Queries) => Promise<T>): Promise<T> {
    const open = this.openScope();
    if (open) return fn(open.queries);
    return this.session.transaction((scope) => fn(scope.queries), (scope) => new SqliteQueries(this.session, scope));
  }

  /** One statement (or a few reads): in the open transaction, or in turn with transactions. */
  protected async one<T>(fn: (c: SqliteConnection) => T): Promise<T> {
    const c = this.session.conn;
    const run = () => interpreted(() => fn(c));
    if (this.openScope()) return run();
    return this.session.mutex.run(run);
  }

  /** Several writes that must land together: in the open transaction, or in one of their own. */
  private async atomic<T>(fn: (c: SqliteConnection) => T): Promise<T> {
    const c = this.session.conn;
    const run = () => interpreted(() => fn(c));
    if (this.openScope()) return run();
    return this.session.transaction(run, (scope) => new SqliteQueries(this.session, scope));
  }

  private openScope(): TxScope | undefined {
    if (this.scope) {
      if (!this.scope.active) throw new Error('this transaction has already ended; use the store or a new tx');
      return this.scope;
    }
    return this.session.joinable();
  }

  // ---- jobs ------------------------------------------------------------------------------

  jobInsert(job: JobRow): Promise<void> {
    return this.one((c) => jobs.jobInsert(c, job));
  }
  jobGet(id: string): Promise<JobRow | undefined> {
    return this.one((c) => jobs.jobGet(c, id));
  }
  idsByPrefix(params: IdPrefixParams): Promise<string[]> {
    return this.one((c) => jobs.idsByPrefix(c, params));
  }
  jobList(params: JobListParams): Promise<JobRow[]> {
    return this.one((c) => jobs.jobList(c, params));
  }
  jobCount(filter: JobFilter): Promise<number> {
    return this.one((c) => jobs.jobCount(c, filter));
  }
  jobSetState(write: StateWrite<JobPatch>): Promise<boolean> {
    return this.one((c) => jobs.jobSetState(c, write));
  }
  jobUpdate(params: { id: string; patch: JobPatch; metadata?: JobRow['metadata'] }): Promise<void> {
    return this.atomic((c) => jobs.jobUpdate(c, params));
  }

  jobSetVar(params: { id: string; name: string; value: string }): Promise<void> {
    return this.one((c) => jobs.jobSetVar(c, params));
  }
  jobDeleteSome(params: JobDeleteLimits & { id: string }): Promise<'more' | 'deleted' | 'missing'> {
    return this.atomic((c) => jobs.jobDeleteSome(c, params));
  }
  jobListSubjobs(jobId: string): Promise<JobRow[]> {
    return this.one((c) => jobs.jobListSubjobs(c, jobId));
  }
  jobListExpired(params: { now: string; limit: number }): Promise<string[]> {
    return this.one((c) => jobs.jobListExpired(c, params));
  }
  jobLock(params: { id: string; mode: 'update' | 'share' }): Promise<JobRow | undefined> {
    return this.one((c) => jobs.jobGet(c, params.id));
  }
  jobListStranded(params: { limit: number; ids?: string[] }): Promise<string[]> {
    return this.one((c) => jobs.jobListStranded(c, params));
  }

  jobListByParentExecution(executionIds: string[]): Promise<JobRow[]> {
    return this.one((c) => jobs.jobListByParentExecution(c, executionIds));
  }
  jobCountByState(filter: JobFilter): Promise<Partial<Record<State, number>>> {
    return this.one((c) => jobs.jobCountByState(c, filter));
  }

  // ---- tasks -----------------------------------------------------------------------------

  taskInsertMany(tasks: TaskRow[]): Promise<void> {
    return this.atomic((c) => jobs.taskInsertMany(c, tasks));
  }
  taskList(jobId: string): Promise<TaskRow[]> {
    return this.one((c) => jobs.taskList(c, jobId));
  }
  taskGet(id: string): Promise<TaskRow | undefined> {
    return this.one((c) => jobs.taskGet(c, id));
  }
  taskSetState(write: StateWrite<never>): Promise<boolean> {
    return this.one((c) => jobs.taskSetState(c, write));
  }
  taskReset(params: { ids: string[] }): Promise<void> {
    return this.one((c) => jobs.taskReset(c, params.ids));
  }

  // ---- executions ------------------------------------------------------------------------

  executionInsertMany(rows: ExecutionRow[]): Promise<void> {
    return this.atomic((c) => executions.executionInsertMany(c, rows));
  }
  executionGet(id: string): Promise<ExecutionRow | undefined> {
    return this.one((c) => executions.executionGet(c, id));
  }
  executionList(params: ExecutionListParams): Promise<ExecutionRow[]> {
    return this.one((c) => executions.executionList(c, params));
  }
  executionCountByState(params: { jobId?: string; parentId?: string }): Promise<Partial<Record<State, number>>> {
    return this.one((c) => executions.executionCountByState(c, params));
  }

  executionCountByStateMany(params: { jobIds: string[] }): Promise<Record<string, Partial<Record<State, number>>>> {
    return this.one((c) => executions.executionCountByStateMany(c, params));
  }

  executionItemCountByStateMany(params: { jobIds: string[] }): Promise<Record<string, Partial<Record<State, number>>>> {
    return this.one((c) => executions.executionItemCountByStateMany(c, params));
  }
  executionSetState(write: StateWrite<ExecutionPatch>): Promise<boolean> {
    return this.one((c) => executions.executionSetState(c, write));
  }
  executionSetStateMany(params: {
    ids: string[];
    from: readonly State[];
    to: State;
    patch?: ExecutionPatch;
  }): Promise<string[]> {
    return this.one((c) => executions.executionSetStateMany(c, params));
  }
  executionListActive(params: ActiveListParams): Promise<ExecutionRow[]> {
    return this.one((c) => executions.executionListActive(c, params));
  }
  executionLock(params: { id: string; mode: 'update' | 'share' }): Promise<ExecutionRow | undefined> {
    return this.one((c) => executions.executionGet(c, params.id));
  }
  executionAddChildDone(params: { id: string; by: number }): Promise<ExecutionRow | undefined> {
    return this.one((c) => executions.executionAddChildDone(c, params));
  }

  executionMove(write: StateWrite<ExecutionPatch>): Promise<ExecutionRow | undefined> {
    return this.one((c) => executions.executionMove(c, write));
  }
  executionClaimCandidates(params: ClaimCandidatesParams): Promise<ExecutionRow[]> {
    return this.one((c) => executions.executionClaimCandidates(c, params));
  }
  executionListRunnableExceeding(params: { cpus: number; memoryMb: number; orReasonPrefix: string; limit: number }): Promise<ExecutionRow[]> {
    return this.one((c) => executions.executionListRunnableExceeding(c, params));
  }
  executionRenewLeases(params: { nodeId: string; ids: string[]; until: string }): Promise<string[]> {
    return this.one((c) => executions.executionRenewLeases(c, params));
  }
  executionListLeaseExpired(params: { now: string; limit: number }): Promise<ExecutionRow[]> {
    return this.one((c) => executions.executionListLeaseExpired(c, params));
  }
  executionListPastTimeout(params: { now: string; graceMs: number; limit: number }): Promise<ExecutionRow[]> {
    return this.one((c) => executions.executionListPastTimeout(c, params));
  }
  executionTakeItems(params: { id: string; max: number }): Promise<{ first: number; count: number } | undefined> {
    return this.atomic((c) => executions.executionTakeItems(c, params));
  }
  executionCountUnmade(params: { jobIds: string[] }): Promise<Record<string, number>> {
    return this.one((c) => executions.executionCountUnmade(c, params));
  }
  arrayItemsInsert(params: { executionId: string; chunks: ArrayItemsChunk[] }): Promise<void> {
    return this.atomic((c) => executions.arrayItemsInsert(c, params));
  }
  arrayItemsGet(params: { executionId: string; chunks: number[] }): Promise<ArrayItemsChunk[]> {
    return this.one((c) => executions.arrayItemsGet(c, params));
  }
  arrayItemsDelete(params: { executionId: string }): Promise<void> {
    return this.one((c) => executions.arrayItemsDelete(c, params));
  }
  queueStats(): Promise<Array<{ queue: string; runnable: number; running: number }>> {
    return this.one((c) => executions.queueStats(c));
  }
  executionItemStates(params: { parentId: string }): Promise<ItemState[]> {
    return this.one((c) => uiStats.executionItemStates(c, params));
  }
  executionItemLatest(params: { parentId: string; idx: number }): Promise<ExecutionRow | undefined> {
    return this.one((c) => uiStats.executionItemLatest(c, params));
  }
  executionFinishedPerMinute(params: { since: string }): Promise<FinishedPerMinute[]> {
    return this.one((c) => uiStats.executionFinishedPerMinute(c, params));
  }
  executionWaitingReasons(params: { limit: number }): Promise<WaitingReason[]> {
    return this.one((c) => uiStats.executionWaitingReasons(c, params));
  }

  // ---- logs, events, artifacts -----------------------------------------------------------

  logAppendMany(lines: LogLine[]): Promise<void> {
    return this.atomic((c) => streams.logAppendMany(c, lines));
  }
  /** Each chunk query takes its own turn, so a long read never holds up writers. */
  private logChunkQueries(): LogChunkQueries {
    return {
      chunksAfter: (executionId, afterNumber, limit) => this.one((c) => streams.logChunksAfter(c, executionId, afterNumber, limit)),
      jobChunkMeta: (jobId) => this.one((c) => streams.logJobChunkMeta(c, jobId)),
      chunksByKey: (keys) => this.one((c) => streams.logChunksByKey(c, keys)),
    };
  }
  logList(params: { executionId: string; afterNumber?: number; limit: number }): Promise<LogLine[]> {
    return listLines(this.logChunkQueries(), params);
  }
  logListByJob(params: { jobId: string; limit: number; offset?: number; q?: string }): Promise<LogLine[]> {
    return listJobLines(this.logChunkQueries(), params);
  }
  async logCount(params: { executionId?: string; jobId?: string }): Promise<number> {
    return (await this.logSize(params)).lines;
  }
  logSize(params: { executionId?: string; jobId?: string }): Promise<{ lines: number; bytes: number }> {
    return this.one((c) => streams.logCount(c, params));
  }
  eventInsertMany(events: EventRow[]): Promise<void> {
    return this.atomic((c) => streams.eventInsertMany(c, events));
  }
  eventList(params: { jobId: string; afterId?: number; limit: number }): Promise<EventRow[]> {
    return this.one((c) => streams.eventList(c, params));
  }
  artifactInsertMany(rows: ArtifactRow[]): Promise<void> {
    return this.atomic((c) => streams.artifactInsertMany(c, rows));
  }
  artifactList(params: { jobId?: string; executionId?: string }): Promise<ArtifactRow[]> {
    return this.one((c) => streams.artifactList(c, params));
  }

  // ---- outbox ----------------------------------------------------------------------------

  outboxInsertMany(rows: OutboxRow[]): Promise<void> {
    return this.atomic((c) => outbox.outboxInsertMany(c, rows));
  }
  outboxTakeDue(params: { now: string; limit: number; leaseMs: number }): Promise<OutboxRow[]> {
    return this.one((c) => outbox.outboxTakeDue(c, params));
  }
  outboxUpdate(params: {
    id: number;
    status: OutboxRow['status'];
    attempts: number;
    nextAt: string;
    lastError: string | null;
  }): Promise<void> {
    return this.one((c) => outbox.outboxUpdate(c, params));
  }

  // ---- outside jobs ------------------------------------------------------------------------

  outsideJobLock(params: OutsideJobKey): Promise<OutsideJobRow | undefined> {
    return this.one((c) => outsideJobs.outsideJobGet(c, params));
  }
  outsideJobGet(params: OutsideJobKey): Promise<OutsideJobRow | undefined> {
    return this.one((c) => outsideJobs.outsideJobGet(c, params));
  }
  outsideJobInsert(row: OutsideJobRow): Promise<void> {
    return this.one((c) => outsideJobs.outsideJobInsert(c, row));
  }
  outsideJobUpdate(row: OutsideJobRow): Promise<void> {
    return this.one((c) => outsideJobs.outsideJobUpdate(c, row));
  }
  outsideJobList(params: OutsideJobFilter & { limit: number; offset: number }): Promise<OutsideJobRow[]> {
    return this.one((c) => outsideJobs.outsideJobList(c, params));
  }
  outsideJobCount(params: OutsideJobFilter): Promise<number> {
    return this.one((c) => outsideJobs.outsideJobCount(c, params));
  }
  outsideEventList(params: { origin: string; kind: string; externalId?: string; afterId: number; limit: number }): Promise<OutsideEventRow[]> {
    return this.one((c) => outsideJobs.outsideEventList(c, params));
  }

  // ---- nodes, leadership -----------------------------------------------------------------

  nodeUpsert(node: NodeRow): Promise<void> {
    return this.one((c) => nodes.nodeUpsert(c, node));
  }
  nodeGet(id: string): Promise<NodeRow | undefined> {
    return this.one((c) => nodes.nodeGet(c, id));
  }
  nodeList(params: { heartbeatAfter?: string }): Promise<NodeRow[]> {
    return this.one((c) => nodes.nodeList(c, params));
  }
  nodeMarkDown(params: { silentSince: string }): Promise<string[]> {
    return this.one((c) => nodes.nodeMarkDown(c, params));
  }
  leaderAcquire(params: { name: string; holder: string; now: string; until: string }): Promise<boolean> {
    return this.one((c) => nodes.leaderAcquire(c, params));
  }

  // ---- tools, filesystems, grants (registry.ts) ----------------------------------------------
  toolInsert(tool: ToolRow): Promise<void> {
    return this.one((c) => registry.toolInsert(c, tool));
  }
  toolGet(id: string): Promise<ToolRow | undefined> {
    return this.one((c) => registry.toolGet(c, id));
  }
  toolGetByName(params: { owner: string; name: string }): Promise<ToolRow | undefined> {
    return this.one((c) => registry.toolGetByName(c, params));
  }
  toolList(params: { owner?: string; userName?: string }): Promise<ToolRow[]> {
    return this.one((c) => registry.toolList(c, params));
  }
  toolSetProgram(params: { id: string; program: ToolProgram }): Promise<boolean> {
    return this.one((c) => registry.toolSetProgram(c, params));
  }
  toolDelete(id: string): Promise<boolean> {
    return this.atomic((c) => registry.toolDelete(c, id));
  }
  filesystemInsert(filesystem: FilesystemRow): Promise<void> {
    return this.one((c) => registry.filesystemInsert(c, filesystem));
  }
  filesystemGet(id: string): Promise<FilesystemRow | undefined> {
    return this.one((c) => registry.filesystemGet(c, id));
  }
  filesystemGetByName(params: { owner: string; name: string }): Promise<FilesystemRow | undefined> {
    return this.one((c) => registry.filesystemGetByName(c, params));
  }
  filesystemList(params: { owner?: string; userName?: string }): Promise<FilesystemRow[]> {
    return this.one((c) => registry.filesystemList(c, params));
  }
  filesystemDelete(id: string): Promise<boolean> {
    return this.atomic((c) => registry.filesystemDelete(c, id));
  }
  grantInsert(grant: GrantRow): Promise<void> {
    return this.one((c) => registry.grantInsert(c, grant));
  }
  grantList(params: { kind: GrantKind; resourceId: string }): Promise<GrantRow[]> {
    return this.one((c) => registry.grantList(c, params));
  }
  grantDelete(params: { kind: GrantKind; resourceId: string; userName: string }): Promise<boolean> {
    return this.one((c) => registry.grantDelete(c, params));
  }
  grantExists(params: { kind: GrantKind; resourceId: string; userName: string }): Promise<boolean> {
    return this.one((c) => registry.grantExists(c, params));
  }

  // ---- users, tokens ---------------------------------------------------------------------

  userInsert(user: UserRow): Promise<void> {
    return this.one((c) => users.userInsert(c, user));
  }
  userGet(id: string): Promise<UserRow | undefined> {
    return this.one((c) => users.userGet(c, id));
  }
  userGetByName(name: string): Promise<UserRow | undefined> {
    return this.one((c) => users.userGetByName(c, name));
  }
  userList(): Promise<UserRow[]> {
    return this.one((c) => users.userList(c));
  }
  tokenInsert(token: TokenRow): Promise<void> {
    return this.one((c) => users.tokenInsert(c, token));
  }
  tokenGetByHash(hash: string): Promise<{ token: TokenRow; user: UserRow } | undefined> {
    return this.one((c) => users.tokenGetByHash(c, hash));
  }

  userUpdate(params: { id: string; patch: UserPatch }): Promise<boolean> {
    return this.one((c) => users.userUpdate(c, params));
  }
  userDelete(id: string): Promise<boolean> {
    return this.one((c) => users.userDelete(c, id));
  }
  tokenList(params: { userId: string }): Promise<TokenRow[]> {
    return this.one((c) => users.tokenList(c, params.userId));
  }
  tokenDelete(params: { id: string; userId: string }): Promise<boolean> {
    return this.one((c) => users.tokenDelete(c, params));
  }
  pubkeyInsert(key: PubkeyRow): Promise<void> {
    return this.one((c) => users.pubkeyInsert(c, key));
  }
  pubkeyList(params: { userId: string }): Promise<PubkeyRow[]> {
    return this.one((c) => users.pubkeyList(c, params.userId));
  }
  pubkeyDelete(params: { id: string; userId: string }): Promise<boolean> {
    return this.one((c) => users.pubkeyDelete(c, params));
  }
  pubkeyGetByFingerprint(fingerprint: string): Promise<{ pubkey: PubkeyRow; user: UserRow } | undefined> {
    return this.one((c) => users.pubkeyGetByFingerprint(c, fingerprint));
  }
  shareInsert(share: ShareRow): Promise<void> {
    return this.one((c) => users.shareInsert(c, share));
  }
  shareList(params: { jobId: string }): Promise<ShareRow[]> {
    return this.one((c) => users.shareList(c, params.jobId));
  }
  shareDelete(params: { jobId: string; userName: string }): Promise<boolean> {
    return this.one((c) => users.shareDelete(c, params));
  }
  shareExists(params: { jobId: string; userName: string }): Promise<boolean> {
    return this.one((c) => users.shareExists(c, params));
  }
  usageAdd(params: { owner: string; periodStart: string } & UsageCount): Promise<void> {
    return this.one((c) => users.usageAdd(c, params));
  }
  usageGet(params: { owner: string; periodStart: string }): Promise<UsageCount> {
    return this.one((c) => users.usageGet(c, params));
  }
  executionCountByOwner(params: { owners: string[]; states: readonly State[] }): Promise<Record<string, number>> {
    return this.one((c) => users.executionCountByOwner(c, params));
  }
  executionCountUnmadeOf(params: { owner: string }): Promise<number> {
    return this.one((c) => users.executionCountUnmadeOf(c, params.owner));
  }
  executionComputeMs(params: { owner: string; since: string; jobId?: string }): Promise<number> {
    return this.one((c) => users.executionComputeMs(c, params));
  }

  // ---- schedules -------------------------------------------------------------------------

  scheduleInsert(schedule: ScheduleRow): Promise<void> {
    return this.one((c) => schedules.scheduleInsert(c, schedule));
  }
  scheduleGet(id: string): Promise<ScheduleRow | undefined> {
    return this.one((c) => schedules.scheduleGet(c, id));
  }
  scheduleList(params: { owner?: string; limit: number; offset?: number }): Promise<ScheduleRow[]> {
    return this.one((c) => schedules.scheduleList(c, params));
  }
  scheduleCount(params: { owner?: string }): Promise<number> {
    return this.one((c) => schedules.scheduleCount(c, params));
  }
  scheduleSetState(params: { id: string; from: ScheduleRow['state']; to: ScheduleRow['state'] }): Promise<boolean> {
    return this.one((c) => schedules.scheduleSetState(c, params));
  }
  scheduleDelete(id: string): Promise<boolean> {
    return this.one((c) => schedules.scheduleDelete(c, id));
  }
  scheduleListDue(params: { now: string; limit: number }): Promise<ScheduleRow[]> {
    return this.one((c) => schedules.scheduleListDue(c, params));
  }
  scheduleAdvance(params: { id: string; expectedNextAt: string; nextAt: string; firedAt: string }): Promise<boolean> {
    return this.one((c) => schedules.scheduleAdvance(c, params));
  }
}

/**
 * Every user's jobs, secrets and tokens' hashes are in this file: only its owner may read it.
 * SQLite creates the -wal and -shm files with the database file's mode, so creating the file
 * 0600 before SQLite does covers all three; files from before (0644) are tightened here.
 */
function makePrivate(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(file)) chmodSync(file, 0o600);
  }
}

export class SqliteStore extends SqliteQueries implements Store {
  private closed = false;

  private constructor(session: Session) {
    super(session, null);
  }

  /** Opens (creating the file and its folder) and migrates the database at `path`. */
  static async open(path: string): Promise<SqliteStore> {
    let conn: SqliteConnection;
    try {
      if (path !== ':memory:') {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        makePrivate(path);
      }
      conn = new SqliteConnection(path);
    } catch (error) {
      throw openError(`SQLite store at ${path}`, error);
    }
    try {
      await migrateSqlite(conn);
    } catch (error) {
      conn.close();
      throw openError(`SQLite store at ${path}`, error);
    }
    return new SqliteStore(new Session(conn));
  }

  /** Delivered to this process's listeners only, after the caller's turn (never inside its stack). */
  async notify(channel: string, payload = ''): Promise<void> {
    const channels = this.session.channels;
    setImmediate(() => {
      for (const listener of channels.listeners(channel)) {
        try {
          (listener as (payload: string) => void)(payload);
        } catch (error) {
          // A failing listener must not break the notifier or the other listeners.
          process.emitWarning(coerceError(error));
        }
      }
    });
  }

  async listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>> {
    this.session.channels.on(channel, onMessage);
    return async () => {
      this.session.channels.off(channel, onMessage);
    };
  }

  async ping(): Promise<void> {
    await this.one((c) => c.get('SELECT 1'));
  }

  /** Waits for the transactions already queued, then closes the file. Closing twice is harmless. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.session.channels.removeAllListeners();
    await this.session.mutex.run(() => this.session.conn.close());
  }
}

/** Runs a synchronous step, turning driver errors into barge's kinds. */
function interpreted<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw interpretSqliteError(error);
  }
}
