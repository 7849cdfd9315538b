/**
 * Cancelling elements barge has not made yet. A big array's items are made a window at a time
 * (engine/arrays.ts), so an element past the window has no execution to cancel. Its index is kept
 * in the job's metadata (`slideruleCancelled`), it reads FAILED `Canceled by user` from then on,
 * and this watcher cancels it on its first state event: array items are made silently, so that is
 * its claim by a worker, and the worker stops it within a heartbeat (it may have begun meanwhile).
 * Events are per process: a claim made in another process (a fleet's `barge worker --db`) is seen
 * by no watcher, and that element runs.
 */
import type { JobRow } from '../../../core/model.js';
import { ConflictError } from '../../../core/errors.js';
import { isFinal } from '../../../core/states.js';
import type { Engine } from '../../../engine/engine.js';
import { SLIDERULE_ORIGIN } from './ids.js';

const CANCELLED_KEY = 'slideruleCancelled';
const JOBS_KEPT = 10_000;

/** The indexes of elements cancelled before barge made them. */
export function lateCancelled(job: JobRow): Set<number> {
  const list = job.metadata[CANCELLED_KEY];
  return new Set(Array.isArray(list) ? list.filter((i): i is number => typeof i === 'number') : []);
}

/** Adds indexes to the job's cancelled-before-made list. */
export async function recordLateCancels(engine: Engine, job: JobRow, indexes: number[], watcher: LateCancels): Promise<void> {
  if (indexes.length === 0) return;
  const current = (await engine.store.jobGet(job.id)) ?? job;
  const all = [...new Set([...lateCancelled(current), ...indexes])].sort((a, b) => a - b);
  await engine.store.jobUpdate({ id: job.id, patch: {}, metadata: { [CANCELLED_KEY]: all } });
  watcher.remember(job.id, new Set(all));
}

export class LateCancels {
  /** Per job: indexes to cancel when made (an empty set: nothing to do; absent: not read yet). */
  private readonly jobs = new Map<string, Set<number>>();
  private stop: (() => void) | null = null;

  constructor(private readonly engine: Engine) {}

  start(): void {
    this.stop = this.engine.bus.on('execution:state', ({ jobId, executionId, state }) => {
      if (isFinal(state)) return;
      const known = this.jobs.get(jobId);
      if (known && known.size === 0) return;
      this.check(jobId, executionId).catch(() => undefined);
    });
  }

  close(): void {
    this.stop?.();
    this.stop = null;
  }

  remember(jobId: string, indexes: Set<number>): void {
    this.jobs.delete(jobId);
    this.jobs.set(jobId, indexes);
    if (this.jobs.size > JOBS_KEPT) this.jobs.delete(this.jobs.keys().next().value as string);
  }

  private async check(jobId: string, executionId: string): Promise<void> {
    let indexes = this.jobs.get(jobId);
    if (!indexes) {
      const job = await this.engine.store.jobGet(jobId);
      indexes = job && job.origin === SLIDERULE_ORIGIN ? lateCancelled(job) : new Set<number>();
      this.remember(jobId, indexes);
    }
    if (indexes.size === 0) return;
    const execution = await this.engine.store.executionGet(executionId);
    if (!execution || execution.parentId === null || !indexes.has(execution.idx) || isFinal(execution.state)) return;
    try {
      await this.engine.cancelExecution(executionId);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
}
