/**
 * What never changes about a job once it is written (its spec, owner, origin, parent), cached
 * across transactions so the hot path (claim, start, finish) does not read the job row for it.
 * Also remembers jobs already RUNNING: a job leaves RUNNING only to a final state, and no execution
 * of a final job can start (its executions' guarded writes fail first), so once seen RUNNING a job
 * needs no further "mark running" write.
 */
import type { JobRow } from '../core/model.js';
import type { Queries } from '../store/store.js';

export type JobStatic = Pick<
  JobRow,
  'id' | 'name' | 'owner' | 'origin' | 'spec' | 'parentExecutionId' | 'inputs' | 'secrets' | 'createdAt'
>;

const MAX_ENTRIES = 10_000;

export class JobCache {
  private readonly statics = new Map<string, JobStatic>();
  private readonly running = new Set<string>();

  remember(job: JobRow): JobStatic {
    const entry: JobStatic = {
      id: job.id,
      name: job.name,
      owner: job.owner,
      origin: job.origin,
      spec: job.spec,
      parentExecutionId: job.parentExecutionId,
      inputs: job.inputs,
      secrets: job.secrets,
      createdAt: job.createdAt,
    };
    this.statics.set(job.id, entry);
    if (this.statics.size > MAX_ENTRIES) this.statics.delete(this.statics.keys().next().value as string);
    return entry;
  }

  async get(tx: Queries, id: string): Promise<JobStatic> {
    const cached = this.statics.get(id);
    if (cached) return cached;
    const job = await tx.jobGet(id);
    if (!job) throw new Error(`job ${id} vanished`);
    return this.remember(job);
  }

  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  markRunning(id: string): void {
    this.running.add(id);
    if (this.running.size > MAX_ENTRIES) this.running.delete(this.running.values().next().value as string);
  }

  /** A job that reached a final state may be restarted later: forget it was running. */
  markNotRunning(id: string): void {
    this.running.delete(id);
  }
}
