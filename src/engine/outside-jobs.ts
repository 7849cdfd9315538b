/**
 * Outside jobs: jobs run elsewhere (a SLURM cluster driven by srtctl) whose runner reports them
 * here. Each is an ordinary barge job of the reporting API's origin, with no tasks (barge never
 * runs it; the reaper leaves jobs without executions alone), beside the outside system's own
 * record of it kept verbatim (store: outside_jobs). What a report changes is the face's rule: it
 * decides the next record, barge state and events from the current ones; this service writes
 * them in one transaction, with writers of the same outside id taking turns.
 */
import type { EventRow, JobRow, OutsideJobRow } from '../core/model.js';
import type { OutsideEventRow, OutsideJobFilter, OutsideJobKey, Queries } from '../store/store.js';
import type { Engine } from './engine.js';
import { newId } from './ids.js';

/** The kind of the barge events that outside status reports become. */
export const OUTSIDE_EVENT_KIND = 'status';

export interface OutsideJob {
  row: OutsideJobRow;
  job: JobRow;
}

/** What a report makes of an outside job, as the face decides it. */
export interface OutsideChange {
  status: string;
  cluster: string | null;
  submittedAt: string;
  record: OutsideJobRow['record'];
  job: Pick<JobRow, 'name' | 'state' | 'metadata' | 'progress' | 'startedAt' | 'completedAt' | 'failedAt' | 'error'>;
  /** New history entries, in order. */
  events: Array<Pick<EventRow, 'at' | 'state' | 'stage' | 'message' | 'data'>>;
}

export interface OutsideWrite extends OutsideJobKey {
  /** Who a new job belongs to. */
  owner: string;
  /** The next state of the job from its current one (undefined: a new job). May throw to refuse. */
  decide(current: OutsideJob | undefined): OutsideChange;
}

export class OutsideJobs {
  constructor(private readonly engine: Engine) {}

  /** Applies one report durably; answers the job as it was and as it is now. */
  async write(write: OutsideWrite): Promise<{ before: OutsideJob | undefined; after: OutsideJob }> {
    const result = await this.engine.store.tx(async (tx) => {
      const row = await tx.outsideJobLock(write);
      const before = row ? await withJob(tx, row) : undefined;
      const change = write.decide(before);
      const after = before ? await this.update(tx, before, change) : await this.insert(tx, write, change);
      if (change.events.length > 0) {
        await tx.eventInsertMany(
          change.events.map((event) => ({ ...event, jobId: after.job.id, executionId: null, kind: OUTSIDE_EVENT_KIND })),
        );
      }
      return { before, after };
    });
    if (result.before?.job.state !== result.after.job.state) {
      this.engine.bus.emit('job:state', { jobId: result.after.job.id, state: result.after.job.state });
    }
    return result;
  }

  private async insert(tx: Queries, write: OutsideWrite, change: OutsideChange): Promise<OutsideJob> {
    const now = this.engine.clock.now().toISOString();
    const job: JobRow = {
      id: newId(),
      description: null,
      owner: write.owner,
      origin: write.origin,
      tags: [],
      inputs: {},
      secrets: {},
      queue: 'default',
      priority: 0,
      spec: { name: change.job.name, tasks: [] },
      result: null,
      vars: {},
      parentExecutionId: null,
      taskCount: 0,
      createdAt: now,
      ...change.job,
    };
    const row: OutsideJobRow = { ...rowOf(write, change), jobId: job.id };
    await tx.jobInsert(job);
    await tx.outsideJobInsert(row);
    return { row, job };
  }

  private async update(tx: Queries, before: OutsideJob, change: OutsideChange): Promise<OutsideJob> {
    const { state, metadata, ...patch } = change.job;
    await tx.jobUpdate({ id: before.job.id, patch, metadata });
    // Outside jobs follow what their runner reports, in any order: the guard is only the state read above.
    if (state !== before.job.state) await tx.jobSetState({ id: before.job.id, from: [before.job.state], to: state });
    const row: OutsideJobRow = { ...rowOf(before.row, change), jobId: before.job.id };
    await tx.outsideJobUpdate(row);
    return { row, job: { ...before.job, ...change.job, metadata: { ...before.job.metadata, ...metadata } } };
  }

  get(key: OutsideJobKey): Promise<OutsideJob | undefined> {
    return this.engine.store.tx(async (tx) => {
      const row = await tx.outsideJobGet(key);
      return row ? withJob(tx, row) : undefined;
    });
  }

  async list(params: OutsideJobFilter & { limit: number; offset: number }): Promise<{ rows: OutsideJobRow[]; total: number }> {
    const { store } = this.engine;
    const [rows, total] = await Promise.all([store.outsideJobList(params), store.outsideJobCount(params)]);
    return { rows, total };
  }

  /** Status events of an origin's outside jobs (of one, with `externalId`), oldest first, after `afterId`. */
  events(params: { origin: string; externalId?: string; afterId: number; limit: number }): Promise<OutsideEventRow[]> {
    return this.engine.store.outsideEventList({ ...params, kind: OUTSIDE_EVENT_KIND });
  }

  /** Deletes the job, its record and its events, in short steps. False when there was none. */
  async delete(key: OutsideJobKey): Promise<boolean> {
    const { store } = this.engine;
    const row = await store.outsideJobGet(key);
    if (!row) return false;
    let step: 'more' | 'deleted' | 'missing';
    do step = await store.jobDeleteSome({ id: row.jobId, executions: 500, logChunks: 32, events: 2_000 });
    while (step === 'more');
    return step === 'deleted';
  }
}

function rowOf(key: OutsideJobKey, change: OutsideChange): Omit<OutsideJobRow, 'jobId'> {
  return {
    origin: key.origin,
    externalId: key.externalId,
    status: change.status,
    cluster: change.cluster,
    submittedAt: change.submittedAt,
    record: change.record,
  };
}

async function withJob(tx: Queries, row: OutsideJobRow): Promise<OutsideJob> {
  const job = await tx.jobGet(row.jobId);
  if (!job) throw new Error(`outside job ${row.externalId} has no barge job ${row.jobId}`);
  return { row, job };
}

