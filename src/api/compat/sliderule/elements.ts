/**
 * The elements of a SlideRule job, as the runner reports them: one per argument, each with its
 * status, reason and creation time, read from the items of the job's `each`. An element whose item
 * barge has not made yet (big arrays are made a window at a time) is PENDING while the job runs,
 * and ends as the job ended when the job finished without making it (cancelled, failed).
 */
import type { ExecutionRow, JobRow } from '../../../core/model.js';
import { isFinal } from '../../../core/states.js';
import type { Queries } from '../../../store/store.js';
import { arrayId, elementCount, itemId } from './ids.js';
import { lateCancelled } from './late-cancels.js';
import { awsState, awsTime, CANCELED_BY_USER, type AwsState } from './states.js';

const PAGE = 1_000;

export interface Element {
  id: string;
  index: number;
  status: AwsState;
  statusReason: string;
  createdAt: string;
  /** The element's `args` parameter: its argument, or `nil` for a blank one. */
  args: string;
  /** The item's current execution, when barge has made it. */
  execution: ExecutionRow | null;
}

/** The arguments as the items received them (submit.ts keeps them in the job's inputs). */
export function elementArgs(job: JobRow): string[] {
  try {
    const list = JSON.parse(job.inputs.args ?? '[]') as unknown;
    return Array.isArray(list) ? list.map(String) : [];
  } catch {
    return [];
  }
}

/** The job's latest `each` execution (a restart makes a new attempt), or undefined before it exists. */
export async function arrayExecution(store: Queries, job: JobRow): Promise<ExecutionRow | undefined> {
  const tops = await store.executionList({ jobId: job.id, parentId: null, limit: 100 });
  return tops.reduce<ExecutionRow | undefined>((latest, e) => (!latest || e.attempt > latest.attempt ? e : latest), undefined);
}

/** The current execution of each made item, by index (the last attempt of each). */
async function itemsByIndex(store: Queries, parentId: string): Promise<Map<number, ExecutionRow>> {
  const items = new Map<number, ExecutionRow>();
  let afterSeq: number | undefined;
  for (;;) {
    const page = await store.executionList({ parentId, afterSeq, limit: PAGE });
    for (const item of page) {
      const known = items.get(item.idx);
      if (!known || item.attempt >= known.attempt) items.set(item.idx, item);
    }
    const last = page.at(-1)?.seq;
    if (page.length < PAGE || last === undefined) return items;
    afterSeq = last;
  }
}

/** Every element of a job, in order. */
export async function jobElements(store: Queries, job: JobRow): Promise<Element[]> {
  const parent = await arrayExecution(store, job);
  const items = parent ? await itemsByIndex(store, parent.id) : new Map<number, ExecutionRow>();
  const args = elementArgs(job);
  const cancelled = lateCancelled(job);
  const elements: Element[] = [];
  for (let index = 0; index < elementCount(job); index += 1) {
    const execution = items.get(index) ?? null;
    const status = statusOf(job, execution, cancelled.has(index));
    elements.push({ id: itemId(job.id, index), index, args: args[index] ?? 'nil', execution, ...status });
  }
  return elements;
}

function statusOf(job: JobRow, execution: ExecutionRow | null, cancelledBeforeMade: boolean): Pick<Element, 'status' | 'statusReason' | 'createdAt'> {
  // Cancelled before barge made it: so it reads until its execution (cancelled when made) ends.
  if (cancelledBeforeMade && (!execution || !isFinal(execution.state))) {
    return { status: 'FAILED', statusReason: CANCELED_BY_USER, createdAt: awsTime(execution?.createdAt ?? job.createdAt) };
  }
  if (execution) {
    return { status: awsState(execution.state), statusReason: reasonOf(execution), createdAt: awsTime(execution.createdAt) };
  }
  const createdAt = awsTime(job.createdAt);
  if (!isFinal(job.state)) return { status: 'PENDING', statusReason: 'n/a', createdAt };
  if (job.state === 'CANCELLED') return { status: 'FAILED', statusReason: CANCELED_BY_USER, createdAt };
  return { status: awsState(job.state), statusReason: job.error ?? 'n/a', createdAt };
}

function reasonOf(execution: ExecutionRow): string {
  if (execution.state === 'CANCELLED') return CANCELED_BY_USER;
  if (execution.state === 'FAILED') return execution.error ?? execution.reason ?? 'n/a';
  // A waiting item says what it waits for (a worker with room), as barge's own listings do.
  if (execution.state === 'RUNNABLE' || execution.state === 'PENDING') return execution.reason ?? 'n/a';
  return 'n/a';
}

/** The array id's own entry (jobs submitted with `args`): the job as a whole. */
export function arrayElement(job: JobRow): Omit<Element, 'execution' | 'index'> {
  const status = job.state === 'CANCELLED' ? { status: 'FAILED' as const, statusReason: CANCELED_BY_USER } : { status: awsState(job.state), statusReason: job.error ?? 'n/a' };
  return { id: arrayId(job.id), ...status, createdAt: awsTime(job.createdAt), args: elementArgs(job).length === 1 ? (elementArgs(job)[0] ?? 'nil') : 'array' };
}
