/**
 * SlideRule job ids, in AWS Batch's UUID form, for the items of barge jobs. An item's id is its
 * job's first 20 hex digits and its index as 12 more, so the id of item 9,999 exists (and can be
 * answered, cancelled) before barge has made that item's execution (big arrays are made a window
 * at a time, engine/arrays.ts), and no table maps ids. A job submitted with `args` also gets an
 * array id: the job id itself, whose children are `<array id>:<index>`, as AWS array jobs name them.
 */
import type { JobRow } from '../../../core/model.js';
import type { Queries } from '../../../store/store.js';

export const SLIDERULE_ORIGIN = 'sliderule';
const JOB_DIGITS = 20;
const INDEX_DIGITS = 12;

function uuidOf(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function itemId(jobId: string, index: number): string {
  return uuidOf(jobId.slice(0, JOB_DIGITS) + index.toString(16).padStart(INDEX_DIGITS, '0'));
}

export function arrayId(jobId: string): string {
  return uuidOf(jobId);
}

/** What an id names: a whole submitted job (its array id) or one element of it. */
export interface Resolved {
  job: JobRow;
  /** null for the array id */
  index: number | null;
}

/** The SlideRule job an id names, or null when it names none (unknown ids are left out, §4.2). */
export async function resolveId(store: Queries, id: unknown): Promise<Resolved | null> {
  if (typeof id !== 'string') return null;
  const match = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})(?::(\d{1,5}))?$/.exec(id.toLowerCase());
  if (!match) return null;
  const hex = match.slice(1, 6).join('');
  const child = match[6];
  const whole = await sliderJob(store, hex);
  if (whole) return inRange(whole, child === undefined ? null : Number(child));
  if (child !== undefined) return null;
  const [jobId, other] = await store.idsByPrefix({ table: 'jobs', prefix: hex.slice(0, JOB_DIGITS), limit: 2 });
  if (!jobId || other) return null;
  const job = await sliderJob(store, jobId);
  return job ? inRange(job, Number.parseInt(hex.slice(JOB_DIGITS), 16)) : null;
}

async function sliderJob(store: Queries, id: string): Promise<JobRow | null> {
  const job = await store.jobGet(id);
  return job && job.origin === SLIDERULE_ORIGIN ? job : null;
}

function inRange(job: JobRow, index: number | null): Resolved | null {
  if (index === null) return { job, index };
  return index < elementCount(job) ? { job, index } : null;
}

/** How many elements the job was submitted with (kept in its metadata by submit.ts). */
export function elementCount(job: JobRow): number {
  const count = (job.metadata.sliderule as { count?: unknown } | undefined)?.count;
  return typeof count === 'number' ? count : 0;
}
