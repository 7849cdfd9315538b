/**
 * The fleet store: PostgreSQL through a `pg` Pool, shared by many API servers.
 *
 * Transactions take a pooled client for BEGIN … COMMIT; a `tx` on a transaction's queries reuses
 * it, and so does a call on the store made from within a transaction's async context (on another
 * pooled connection it could wait forever for a row lock its own transaction holds). Claims and
 * outbox takes lock rows FOR UPDATE SKIP LOCKED, so servers claiming at once get different rows
 * without waiting for each other. `notify`/`listen` use LISTEN/NOTIFY on one dedicated connection,
 * reconnected when it drops; channels are namespaced by schema.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
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
import { PgExec, type PgOptions, type PgSettings, createPool, pgSettings } from './connection.js';
import * as executions from './executions.js';
import * as jobs from './jobs.js';
import { PgListener } from './listener.js';
import { migratePostgres } from './migrate.js';
import { openError, redactPassword } from '../shared/redact.js';
import { interpretPgError } from './errors.js';
import * as nodes from './nodes.js';
import * as outbox from './outbox.js';
import * as outsideJobs from './outside-jobs.js';
import * as schedules from './schedules.js';
import * as streams from './streams.js';
import * as registry from './registry.js';
import * as uiStats from './ui-stats.js';
import * as users from './users.js';

const TX_TRIES = 3;

/** 40P01 deadlock_detected, 40001 serialization_failure (also when wrapped by interpretPgError). */
function isRetryableConflict(error: unknown): boolean {
  for (let current: unknown = error; current; current = (current as { cause?: unknown }).cause) {
    const code = (current as { code?: unknown }).code;
    if (code === '40P01' || code === '40001') return true;
  }
  return false;
}

/** An open transaction, and whether it still is (a query after COMMIT is a bug, not a new write). */
interface TxScope {
  active: boolean;
  exec: PgExec;
  queries: PostgresQueries;
}

/** What the store and its transaction objects share. */
class Session {
  readonly current = new AsyncLocalStorage<TxScope>();
  readonly poolExec: PgExec;

  constructor(
    readonly pool: pg.Pool,
    readonly settings: PgSettings,
  ) {
    this.poolExec = new PgExec(pool);
  }

  /** The open transaction of the caller's async context, if any. */
  joinable(): TxScope | undefined {
    const scope = this.current.getStore();
    return scope?.active ? scope : undefined;
  }

  /** Runs `fn` between BEGIN and COMMIT on one pooled client; ROLLBACK when it throws. */
  async transaction<T>(fn: (scope: TxScope) => Promise<T>): Promise<T> {
    const client = await interpreted(this.pool.connect());
    let clientBroken = false;
    const scope = { active: true, exec: new PgExec(client) } as TxScope;
    scope.queries = new PostgresQueries(this, scope);
    try {
      await client.query('BEGIN');
      const result = await this.current.run(scope, () => fn(scope));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        // The connection itself failed: do not hand it to the next caller.
        clientBroken = true;
      });
      throw interpretPgError(error);
    } finally {
      scope.active = false;
      client.release(clientBroken);
    }
  }
}

export class PostgresQueries implements Queries {
  readonly dialect = 'postgres' as const;

  constructor(
    protected readonly session: Session,
    /** Set on a transaction's queries; null on the store itself. */
    private readonly scope: TxScope | null,
  ) {}

  /**
   * A transaction that PostgreSQL aborted as a deadlock victim or a serialization failure is run
   * again from the start (up to 3 tries): the work in it reads what it needs inside it, so a rerun
   * is safe. A nested call joins the open transaction and is retried with it.
   */
  async tx<T>(fn: (tx: Queries) => Promise<T>): Promise<T> {
    const open = this.openScope();
    if (open) return fn(open.queries);
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.session.transaction((scope) => fn(scope.queries));
      } catch (error) {
        if (attempt >= TX_TRIES || !isRetryableConflict(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
      }
    }
  }

  /** One statement (or a few reads): in the open transaction, or on any pooled connection. */
  protected async one<T>(fn: (x: PgExec) => Promise<T>): Promise<T> {
    return interpreted(fn(this.openScope()?.exec ?? this.session.poolExec));
  }

  /**
   * Several writes that must land together (a delete, or an insert of more rows than one
   * statement takes): in the open transaction, or in one of their own.
   */
  private async atomic<T>(fn: (x: PgExec) => Promise<T>): Promise<T> {
    const open = this.openScope();
    if (open) return interpreted(fn(open.exec));
    return this.session.transaction((scope) => interpreted(fn(scope.exec)));
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
    return this.one((x) => jobs.jobInsert(x, job));
  }
  jobGet(id: string): Promise<JobRow | undefined> {
    return this.one((x) => jobs.jobGet(x, id));
  }
  idsByPrefix(params: IdPrefixParams): Promise<string[]> {
    return this.one((x) => jobs.idsByPrefix(x, params));
  }
  jobList(params: JobListParams): Promise<JobRow[]> {
    return this.one((x) => jobs.jobList(x, params));
  }
  jobCount(filter: JobFilter): Promise<number> {
    return this.one((x) => jobs.jobCount(x, filter));
  }
  jobSetState(write: StateWrite<JobPatch>): Promise<boolean> {
    return this.one((x) => jobs.jobSetState(x, write));
  }
  jobUpdate(params: { id: string; patch: JobPatch; metadata?: JobRow['metadata'] }): Promise<void> {
    return this.one((x) => jobs.jobUpdate(x, params));
  }

  jobSetVar(params: { id: string; name: string; value: string }): Promise<void> {
    return this.one((x) => jobs.jobSetVar(x, params));
  }
  jobDeleteSome(params: JobDeleteLimits & { id: string }): Promise<'more' | 'deleted' | 'missing'> {
    return this.atomic((x) => jobs.jobDeleteSome(x, params));
  }
  jobListSubjobs(jobId: string): Promise<JobRow[]> {
    return this.one((x) => jobs.jobListSubjobs(x, jobId));
  }
  jobListExpired(params: { now: string; limit: number }): Promise<string[]> {
    return this.one((x) => jobs.jobListExpired(x, params));
  }
  jobLock(params: { id: string; mode: 'update' | 'share' }): Promise<JobRow | undefined> {
    return this.one((x) => jobs.jobLock(x, params));
  }
  jobListStranded(params: { limit: number; ids?: string[] }): Promise<string[]> {
    return this.one((x) => jobs.jobListStranded(x, params));
  }

  jobListByParentExecution(executionIds: string[]): Promise<JobRow[]> {
    return this.one((x) => jobs.jobListByParentExecution(x, executionIds));
  }
  jobCountByState(filter: JobFilter): Promise<Partial<Record<State, number>>> {
    return this.one((x) => jobs.jobCountByState(x, filter));
  }

  // ---- tasks -----------------------------------------------------------------------------

  taskInsertMany(tasks: TaskRow[]): Promise<void> {
    return this.atomic((x) => jobs.taskInsertMany(x, tasks));
  }
  taskList(jobId: string): Promise<TaskRow[]> {
    return this.one((x) => jobs.taskList(x, jobId));
  }
  taskGet(id: string): Promise<TaskRow | undefined> {
    return this.one((x) => jobs.taskGet(x, id));
  }
  taskSetState(write: StateWrite<never>): Promise<boolean> {
    return this.one((x) => jobs.taskSetState(x, write));
  }
  taskReset(params: { ids: string[] }): Promise<void> {
    return this.one((x) => jobs.taskReset(x, params.ids));
  }

  // ---- executions ------------------------------------------------------------------------

  executionInsertMany(rows: ExecutionRow[]): Promise<void> {
    return this.atomic((x) => executions.executionInsertMany(x, rows));
  }
  executionGet(id: string): Promise<ExecutionRow | undefined> {
    return this.one((x) => executions.executionGet(x, id));
  }
  executionList(params: ExecutionListParams): Promise<ExecutionRow[]> {
    return this.one((x) => executions.executionList(x, params));
  }
  executionCountByState(params: { jobId?: string; parentId?: string }): Promise<Partial<Record<State, number>>> {
    return this.one((x) => executions.executionCountByState(x, params));
  }

  executionCountByStateMany(params: { jobIds: string[] }): Promise<Record<string, Partial<Record<State, number>>>> {
    return this.one((x) => executions.executionCountByStateMany(x, params));
  }

  executionItemCountByStateMany(params: { jobIds: string[] }): Promise<Record<string, Partial<Record<State, number>>>> {
    return this.one((x) => executions.executionItemCountByStateMany(x, params));
  }
  executionSetState(write: StateWrite<ExecutionPatch>): Promise<boolean> {
    return this.one((x) => executions.executionSetState(x, write));
  }
  executionSetStateMany(params: {
    ids: string[];
    from: readonly State[];
    to: State;
    patch?: ExecutionPatch;
  }): Promise<string[]> {
    return this.one((x) => executions.executionSetStateMany(x, params));
  }
  executionListActive(params: ActiveListParams): Promise<ExecutionRow[]> {
    return this.one((x) => executions.executionListActive(x, params));
  }
  executionLock(params: { id: string; mode: 'update' | 'share' }): Promise<ExecutionRow | undefined> {
    return this.one((x) => executions.executionLock(x, params));
  }
  executionAddChildDone(params: { id: string; by: number }): Promise<ExecutionRow | undefined> {
    return this.one((x) => executions.executionAddChildDone(x, params));
  }

  executionMove(write: StateWrite<ExecutionPatch>): Promise<ExecutionRow | undefined> {
    return this.one((x) => executions.executionMove(x, write));
  }
  executionClaimCandidates(params: ClaimCandidatesParams): Promise<ExecutionRow[]> {
    return this.one((x) => executions.executionClaimCandidates(x, params));
  }
  executionListRunnableExceeding(params: { cpus: number; memoryMb: number; orReasonPrefix: string; limit: number }): Promise<ExecutionRow[]> {
    return this.one((x) => executions.executionListRunnableExceeding(x, params));
  }
  executionRenewLeases(params: { nodeId: string; ids: string[]; until: string }): Promise<string[]> {
    return this.one((x) => executions.executionRenewLeases(x, params));
  }
  executionListLeaseExpired(params: { now: string; limit: number }): Promise<ExecutionRow[]> {
    return this.one((x) => executions.executionListLeaseExpired(x, params));
  }
  executionListPastTimeout(params: { now: string; graceMs: number; limit: number }): Promise<ExecutionRow[]> {
    return this.one((x) => executions.executionListPastTimeout(x, params));
  }
  executionTakeItems(params: { id: string; max: number }): Promise<{ first: number; count: number } | undefined> {
    return this.one((x) => executions.executionTakeItems(x, params));
  }
  executionCountUnmade(params: { jobIds: string[] }): Promise<Record<string, number>> {
    return this.one((x) => executions.executionCountUnmade(x, params));
  }
  arrayItemsInsert(params: { executionId: string; chunks: ArrayItemsChunk[] }): Promise<void> {
    return this.atomic((x) => executions.arrayItemsInsert(x, params));
  }
  arrayItemsGet(params: { executionId: string; chunks: number[] }): Promise<ArrayItemsChunk[]> {
    return this.one((x) => executions.arrayItemsGet(x, params));
  }
  arrayItemsDelete(params: { executionId: string }): Promise<void> {
    return this.one((x) => executions.arrayItemsDelete(x, params));
  }
  queueStats(): Promise<Array<{ queue: string; runnable: number; running: number }>> {
    return this.one((x) => executions.queueStats(x));
  }
  executionItemStates(params: { parentId: string }): Promise<ItemState[]> {
    return this.one((x) => uiStats.executionItemStates(x, params));
  }
  executionItemLatest(params: { parentId: string; idx: number }): Promise<ExecutionRow | undefined> {
    return this.one((x) => uiStats.executionItemLatest(x, params));
  }
  executionFinishedPerMinute(params: { since: string }): Promise<FinishedPerMinute[]> {
    return this.one((x) => uiStats.executionFinishedPerMinute(x, params));
  }
  executionWaitingReasons(params: { limit: number }): Promise<WaitingReason[]> {
    return this.one((x) => uiStats.executionWaitingReasons(x, params));
  }

  // ---- logs, events, artifacts -----------------------------------------------------------

  logAppendMany(lines: LogLine[]): Promise<void> {
    return this.atomic((x) => streams.logAppendMany(x, lines));
  }
  logList(params: { executionId: string; afterNumber?: number; limit: number }): Promise<LogLine[]> {
    return this.one((x) => streams.logList(x, params));
  }
  logListByJob(params: { jobId: string; limit: number; offset?: number; q?: string }): Promise<LogLine[]> {
    return this.one((x) => streams.logListByJob(x, params));
  }
  async logCount(params: { executionId?: string; jobId?: string }): Promise<number> {
    return (await this.logSize(params)).lines;
  }
  logSize(params: { executionId?: string; jobId?: string }): Promise<{ lines: number; bytes: number }> {
    return this.one((x) => streams.logSize(x, params));
  }
  eventInsertMany(events: EventRow[]): Promise<void> {
    return this.atomic((x) => streams.eventInsertMany(x, events));
  }
  eventList(params: { jobId: string; afterId?: number; limit: number }): Promise<EventRow[]> {
    return this.one((x) => streams.eventList(x, params));
  }
  artifactInsertMany(rows: ArtifactRow[]): Promise<void> {
    return this.one((x) => streams.artifactInsertMany(x, rows));
  }
  artifactList(params: { jobId?: string; executionId?: string }): Promise<ArtifactRow[]> {
    return this.one((x) => streams.artifactList(x, params));
  }

  // ---- outbox ----------------------------------------------------------------------------

  outboxInsertMany(rows: OutboxRow[]): Promise<void> {
    return this.atomic((x) => outbox.outboxInsertMany(x, rows));
  }
  outboxTakeDue(params: { now: string; limit: number; leaseMs: number }): Promise<OutboxRow[]> {
    return this.one((x) => outbox.outboxTakeDue(x, params));
  }
  outboxUpdate(params: {
    id: number;
    status: OutboxRow['status'];
    attempts: number;
    nextAt: string;
    lastError: string | null;
  }): Promise<void> {
    return this.one((x) => outbox.outboxUpdate(x, params));
  }

  // ---- outside jobs ------------------------------------------------------------------------

  outsideJobLock(params: OutsideJobKey): Promise<OutsideJobRow | undefined> {
    return this.one((x) => outsideJobs.outsideJobLock(x, params));
  }
  outsideJobGet(params: OutsideJobKey): Promise<OutsideJobRow | undefined> {
    return this.one((x) => outsideJobs.outsideJobGet(x, params));
  }
  outsideJobInsert(row: OutsideJobRow): Promise<void> {
    return this.one((x) => outsideJobs.outsideJobInsert(x, row));
  }
  outsideJobUpdate(row: OutsideJobRow): Promise<void> {
    return this.one((x) => outsideJobs.outsideJobUpdate(x, row));
  }
  outsideJobList(params: OutsideJobFilter & { limit: number; offset: number }): Promise<OutsideJobRow[]> {
    return this.one((x) => outsideJobs.outsideJobList(x, params));
  }
  outsideJobCount(params: OutsideJobFilter): Promise<number> {
    return this.one((x) => outsideJobs.outsideJobCount(x, params));
  }
  outsideEventList(params: { origin: string; kind: string; externalId?: string; afterId: number; limit: number }): Promise<OutsideEventRow[]> {
    return this.one((x) => outsideJobs.outsideEventList(x, params));
  }

  // ---- nodes, leadership -----------------------------------------------------------------

  nodeUpsert(node: NodeRow): Promise<void> {
    return this.one((x) => nodes.nodeUpsert(x, node));
  }
  nodeGet(id: string): Promise<NodeRow | undefined> {
    return this.one((x) => nodes.nodeGet(x, id));
  }
  nodeList(params: { heartbeatAfter?: string }): Promise<NodeRow[]> {
    return this.one((x) => nodes.nodeList(x, params));
  }
  nodeMarkDown(params: { silentSince: string }): Promise<string[]> {
    return this.one((x) => nodes.nodeMarkDown(x, params));
  }
  leaderAcquire(params: { name: string; holder: string; now: string; until: string }): Promise<boolean> {
    return this.one((x) => nodes.leaderAcquire(x, params));
  }

  // ---- tools, filesystems, grants (registry.ts) ----------------------------------------------
  toolInsert(tool: ToolRow): Promise<void> {
    return this.one((x) => registry.toolInsert(x, tool));
  }
  toolGet(id: string): Promise<ToolRow | undefined> {
    return this.one((x) => registry.toolGet(x, id));
  }
  toolGetByName(params: { owner: string; name: string }): Promise<ToolRow | undefined> {
    return this.one((x) => registry.toolGetByName(x, params));
  }
  toolList(params: { owner?: string; userName?: string }): Promise<ToolRow[]> {
    return this.one((x) => registry.toolList(x, params));
  }
  toolSetProgram(params: { id: string; program: ToolProgram }): Promise<boolean> {
    return this.one((x) => registry.toolSetProgram(x, params));
  }
  toolDelete(id: string): Promise<boolean> {
    return this.atomic((x) => registry.toolDelete(x, id));
  }
  filesystemInsert(filesystem: FilesystemRow): Promise<void> {
    return this.one((x) => registry.filesystemInsert(x, filesystem));
  }
  filesystemGet(id: string): Promise<FilesystemRow | undefined> {
    return this.one((x) => registry.filesystemGet(x, id));
  }
  filesystemGetByName(params: { owner: string; name: string }): Promise<FilesystemRow | undefined> {
    return this.one((x) => registry.filesystemGetByName(x, params));
  }
  filesystemList(params: { owner?: string; userName?: string }): Promise<FilesystemRow[]> {
    return this.one((x) => registry.filesystemList(x, params));
  }
  filesystemDelete(id: string): Promise<boolean> {
    return this.atomic((x) => registry.filesystemDelete(x, id));
  }
  grantInsert(grant: GrantRow): Promise<void> {
    return this.one((x) => registry.grantInsert(x, grant));
  }
  grantList(params: { kind: GrantKind; resourceId: string }): Promise<GrantRow[]> {
    return this.one((x) => registry.grantList(x, params));
  }
  grantDelete(params: { kind: GrantKind; resourceId: string; userName: string }): Promise<boolean> {
    return this.one((x) => registry.grantDelete(x, params));
  }
  grantExists(params: { kind: GrantKind; resourceId: string; userName: string }): Promise<boolean> {
    return this.one((x) => registry.grantExists(x, params));
  }

  // ---- users, tokens ---------------------------------------------------------------------

  userInsert(user: UserRow): Promise<void> {
    return this.one((x) => users.userInsert(x, user));
  }
  userGet(id: string): Promise<UserRow | undefined> {
    return this.one((x) => users.userGet(x, id));
  }
  userGetByName(name: string): Promise<UserRow | undefined> {
    return this.one((x) => users.userGetByName(x, name));
  }
  userList(): Promise<UserRow[]> {
    return this.one((x) => users.userList(x));
  }
  tokenInsert(token: TokenRow): Promise<void> {
    return this.one((x) => users.tokenInsert(x, token));
  }
  tokenGetByHash(hash: string): Promise<{ token: TokenRow; user: UserRow } | undefined> {
    return this.one((x) => users.tokenGetByHash(x, hash));
  }

  userUpdate(params: { id: string; patch: UserPatch }): Promise<boolean> {
    return this.one((x) => users.userUpdate(x, params));
  }
  userDelete(id: string): Promise<boolean> {
    return this.one((x) => users.userDelete(x, id));
  }
  tokenList(params: { userId: string }): Promise<TokenRow[]> {
    return this.one((x) => users.tokenList(x, params.userId));
  }
  tokenDelete(params: { id: string; userId: string }): Promise<boolean> {
    return this.one((x) => users.tokenDelete(x, params));
  }
  pubkeyInsert(key: PubkeyRow): Promise<void> {
    return this.one((x) => users.pubkeyInsert(x, key));
  }
  pubkeyList(params: { userId: string }): Promise<PubkeyRow[]> {
    return this.one((x) => users.pubkeyList(x, params.userId));
  }
  pubkeyDelete(params: { id: string; userId: string }): Promise<boolean> {
    return this.one((x) => users.pubkeyDelete(x, params));
  }
  pubkeyGetByFingerprint(fingerprint: string): Promise<{ pubkey: PubkeyRow; user: UserRow } | undefined> {
    return this.one((x) => users.pubkeyGetByFingerprint(x, fingerprint));
  }
  shareInsert(share: ShareRow): Promise<void> {
    return this.one((x) => users.shareInsert(x, share));
  }
  shareList(params: { jobId: string }): Promise<ShareRow[]> {
    return this.one((x) => users.shareList(x, params.jobId));
  }
  shareDelete(params: { jobId: string; userName: string }): Promise<boolean> {
    return this.one((x) => users.shareDelete(x, params));
  }
  shareExists(params: { jobId: string; userName: string }): Promise<boolean> {
    return this.one((x) => users.shareExists(x, params));
  }
  usageAdd(params: { owner: string; periodStart: string } & UsageCount): Promise<void> {
    return this.one((x) => users.usageAdd(x, params));
  }
  usageGet(params: { owner: string; periodStart: string }): Promise<UsageCount> {
    return this.one((x) => users.usageGet(x, params));
  }
  executionCountByOwner(params: { owners: string[]; states: readonly State[] }): Promise<Record<string, number>> {
    return this.one((x) => users.executionCountByOwner(x, params));
  }
  executionCountUnmadeOf(params: { owner: string }): Promise<number> {
    return this.one((x) => users.executionCountUnmadeOf(x, params.owner));
  }
  executionComputeMs(params: { owner: string; since: string; jobId?: string }): Promise<number> {
    return this.one((x) => users.executionComputeMs(x, params));
  }

  // ---- schedules -------------------------------------------------------------------------

  scheduleInsert(schedule: ScheduleRow): Promise<void> {
    return this.one((x) => schedules.scheduleInsert(x, schedule));
  }
  scheduleGet(id: string): Promise<ScheduleRow | undefined> {
    return this.one((x) => schedules.scheduleGet(x, id));
  }
  scheduleList(params: { owner?: string; limit: number; offset?: number }): Promise<ScheduleRow[]> {
    return this.one((x) => schedules.scheduleList(x, params));
  }
  scheduleCount(params: { owner?: string }): Promise<number> {
    return this.one((x) => schedules.scheduleCount(x, params));
  }
  scheduleSetState(params: { id: string; from: ScheduleRow['state']; to: ScheduleRow['state'] }): Promise<boolean> {
    return this.one((x) => schedules.scheduleSetState(x, params));
  }
  scheduleDelete(id: string): Promise<boolean> {
    return this.one((x) => schedules.scheduleDelete(x, id));
  }
  scheduleListDue(params: { now: string; limit: number }): Promise<ScheduleRow[]> {
    return this.one((x) => schedules.scheduleListDue(x, params));
  }
  scheduleAdvance(params: { id: string; expectedNextAt: string; nextAt: string; firedAt: string }): Promise<boolean> {
    return this.one((x) => schedules.scheduleAdvance(x, params));
  }
}

export class PostgresStore extends PostgresQueries implements Store {
  private readonly listener: PgListener;
  private closed = false;

  private constructor(session: Session) {
    super(session, null);
    this.listener = new PgListener(session.settings);
  }

  /** Connects to `url` (`?schema=NAME` or `options.schema` picks the schema) and migrates it. */
  static async open(url: string, options: PgOptions = {}): Promise<PostgresStore> {
    const settings = pgSettings(url, options);
    const pool = createPool(settings);
    try {
      await migratePostgres(pool, settings.schema);
    } catch (error) {
      await pool.end();
      throw openError(`PostgreSQL store at ${redactPassword(url)} (schema ${settings.schema})`, error);
    }
    return new PostgresStore(new Session(pool, settings));
  }

  /** Reaches listeners in every process connected to this database and schema, after commit. */
  async notify(channel: string, payload = ''): Promise<void> {
    await this.one((x) => x.run('SELECT pg_notify($1, $2)', [this.listener.channelName(channel), payload]));
  }

  listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>> {
    return this.listener.listen(channel, onMessage);
  }

  async ping(): Promise<void> {
    await this.session.poolExec.get('SELECT 1');
  }

  /** Stops listening and closes the pool once its clients are returned. Closing twice is harmless. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.listener.close();
    await this.session.pool.end();
  }
}

/** Awaits a driver call, turning its errors into barge's kinds. */
async function interpreted<T>(pending: Promise<T>): Promise<T> {
  try {
    return await pending;
  } catch (error) {
    throw interpretPgError(error);
  }
}
