/**
 * `POST /report/jobs` and `POST /report/queue` (sliderule-runner.md §4.2, §4.3, §11 #10, #11).
 * Callers see the SlideRule jobs they may see in barge (their own, shared with them, or all for
 * an admin): the runner's queue is shared by every member, barge's accounts are not (README).
 */
import type { JobRow } from '../../../core/model.js';
import type { Queries } from '../../../store/store.js';
import { canSeeJob, type Principal } from '../../auth/index.js';
import { arrayElement, jobElements, type Element } from './elements.js';
import { badRequest } from './errors.js';
import { resolveId, SLIDERULE_ORIGIN, type Resolved } from './ids.js';
import { AWS_STATES, isAwsState, type AwsState } from './states.js';

export const MAX_JOBS_TO_DESCRIBE = 100;
const JOB_PAGE = 200;

export interface JobReport {
  status: AwsState;
  statusReason: string;
  createdAt: string;
  jobDefinition: string;
  args: string;
}

/** barge has one definition for every element: the lua runtime. Shaped like an ARN's last part. */
export const JOB_DEFINITION = 'barge:job-definition/sliderule-lua:1';

/** The `job_list` field: a list of at most `max` ids (their type is checked per id: unknown ones are left out). */
export function readJobList(body: Record<string, unknown>, required: boolean, max = MAX_JOBS_TO_DESCRIBE): unknown[] | undefined {
  const list = body.job_list;
  if (list === undefined || list === null) {
    if (required) throw badRequest('missing job_list');
    return undefined;
  }
  if (!Array.isArray(list)) throw badRequest('job list must be supplied as a list');
  if (list.length > max) throw badRequest(`can only status up to ${max} at a time`);
  return list;
}

/** The ids the caller may see, resolved, in request order (unknown and others' ids are left out). */
export async function visibleIds(store: Queries, principal: Principal, ids: unknown[]): Promise<Array<{ id: string; resolved: Resolved }>> {
  const found: Array<{ id: string; resolved: Resolved }> = [];
  for (const id of ids) {
    const resolved = await resolveId(store, id);
    if (resolved && (await canSeeJob(store, principal, resolved.job))) found.push({ id: id as string, resolved });
  }
  return found;
}

/** Elements of each job read once per request. */
export class ElementReader {
  private readonly jobs = new Map<string, Promise<Element[]>>();

  constructor(private readonly store: Queries) {}

  elements(job: JobRow): Promise<Element[]> {
    let elements = this.jobs.get(job.id);
    if (!elements) {
      elements = jobElements(this.store, job);
      this.jobs.set(job.id, elements);
    }
    return elements;
  }
}

export async function reportJobs(store: Queries, principal: Principal, body: Record<string, unknown>): Promise<Record<string, JobReport>> {
  const ids = readJobList(body, true) as unknown[];
  const reader = new ElementReader(store);
  const answer: Record<string, JobReport> = {};
  for (const { id, resolved } of await visibleIds(store, principal, ids)) {
    const element = resolved.index === null ? arrayElement(resolved.job) : (await reader.elements(resolved.job))[resolved.index];
    if (!element) continue;
    answer[id] = { status: element.status, statusReason: element.statusReason, createdAt: element.createdAt, jobDefinition: JOB_DEFINITION, args: element.args };
  }
  return answer;
}

export interface QueueQuery {
  states: AwsState[];
  name?: string;
  /** The array id of one job. */
  jobId?: string;
  verbose: boolean;
}

export function readQueueQuery(body: Record<string, unknown>): QueueQuery {
  const requested = body.job_state ?? [...AWS_STATES];
  const states = typeof requested === 'string' ? [requested] : requested;
  if (!Array.isArray(states)) throw badRequest(`invalid job states supplied: ${typeof requested}`);
  for (const state of states) {
    if (typeof state !== 'string') throw badRequest(`invalid job state supplied: ${typeof state}`);
    if (!isAwsState(state)) throw badRequest(`unknown job state supplied: ${state}`);
  }
  if (body.name !== undefined && body.name !== null && typeof body.name !== 'string') throw badRequest('name must be a string');
  if (body.job_id !== undefined && body.job_id !== null && typeof body.job_id !== 'string') throw badRequest('job_id must be a string');
  if (body.verbose !== undefined && typeof body.verbose !== 'boolean') throw badRequest('verbose must be true or false');
  return {
    states: [...new Set(states as AwsState[])],
    name: (body.name as string | null | undefined) ?? undefined,
    jobId: (body.job_id as string | null | undefined) ?? undefined,
    verbose: body.verbose !== false,
  };
}

export interface QueueReport {
  report: Partial<Record<AwsState, number>>;
  jobs?: Array<{ job_id: string; name: string; status: AwsState }>;
}

/** Every matching element of the caller's visible jobs, counted and listed per state in request order. */
export async function reportQueue(store: Queries, principal: Principal, query: QueueQuery): Promise<QueueReport> {
  const byState = new Map<AwsState, Array<{ job_id: string; name: string; status: AwsState }>>(query.states.map((s) => [s, []]));
  for await (const job of visibleJobs(store, principal, query)) {
    for (const element of await jobElements(store, job)) {
      byState.get(element.status)?.push({ job_id: element.id, name: job.name, status: element.status });
    }
  }
  const report: Partial<Record<AwsState, number>> = {};
  const jobs: NonNullable<QueueReport['jobs']> = [];
  for (const [state, listed] of byState) {
    report[state] = listed.length;
    jobs.push(...listed);
  }
  return query.verbose ? { report, jobs } : { report };
}

/**
 * The caller's SlideRule jobs that may hold elements in the wanted states: only unfinished jobs
 * when no final state is asked for (a finished job's elements are all final).
 */
async function* visibleJobs(store: Queries, principal: Principal, query: { states: readonly AwsState[]; name?: string; jobId?: string }): AsyncGenerator<JobRow> {
  if (query.jobId !== undefined) {
    const resolved = await resolveId(store, query.jobId);
    if (resolved && resolved.index === null && (await canSeeJob(store, principal, resolved.job))) yield resolved.job;
    return;
  }
  const finalWanted = query.states.some((state) => state === 'SUCCEEDED' || state === 'FAILED');
  const states = finalWanted ? undefined : ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING'] as const;
  const owner = principal.role === 'admin' ? undefined : principal.name;
  let beforeId: string | undefined;
  for (;;) {
    const page = await store.jobList({ origin: SLIDERULE_ORIGIN, owner, states: states ? [...states] : undefined, limit: JOB_PAGE, beforeId });
    for (const job of page) if (query.name === undefined || job.name === query.name) yield job;
    if (page.length < JOB_PAGE) return;
    beforeId = page.at(-1)?.id;
  }
}
