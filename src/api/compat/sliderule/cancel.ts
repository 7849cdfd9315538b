/**
 * `POST /cancel` (sliderule-runner.md §4.4, §11 #1, #2, #14, #19). Listed ids are cancelled with
 * `Canceled by user`, running ones really stopped (the worker ends them within a heartbeat); the
 * answer lists every requested id, as the runner does. No `job_list` (or a `null` body, as
 * `cancel_all()` sends) cancels every active SlideRule job of the caller and lists the elements
 * that were active. An empty list cancels nothing (v5.4.2).
 */
import type { JobRow } from '../../../core/model.js';
import { isFinal } from '../../../core/states.js';
import type { Engine } from '../../../engine/engine.js';
import { ConflictError } from '../../../core/errors.js';
import type { Principal } from '../../auth/index.js';
import { jobElements } from './elements.js';
import { recordLateCancels, type LateCancels } from './late-cancels.js';
import { accessDenied, jobNotFound } from './errors.js';
import { SLIDERULE_ORIGIN } from './ids.js';
import { readJobList, visibleIds } from './reports.js';
import { ACTIVE_AWS_STATES } from './states.js';

/** As many ids as one submit makes. */
const MAX_IDS_TO_CANCEL = 10_000;
const JOB_PAGE = 200;

export async function cancel(engine: Engine, principal: Principal, body: Record<string, unknown>, late: LateCancels): Promise<string[]> {
  if (principal.role === 'viewer') throw accessDenied('the viewer role is read-only: cancel is refused');
  const ids = readJobList(body, false, MAX_IDS_TO_CANCEL);
  if (ids === undefined) return cancelAll(engine, principal);
  const found = await visibleIds(engine.store, principal, ids);
  // Every id must name a job the caller may see (§11 #18), checked before anything is cancelled.
  if (found.length !== ids.length) throw jobNotFound();
  const byJob = new Map<string, { job: JobRow; whole: boolean; indexes: Set<number> }>();
  for (const { resolved } of found) {
    const entry = byJob.get(resolved.job.id) ?? { job: resolved.job, whole: false, indexes: new Set<number>() };
    if (resolved.index === null) entry.whole = true;
    else entry.indexes.add(resolved.index);
    byJob.set(resolved.job.id, entry);
  }
  for (const { job, whole, indexes } of byJob.values()) await cancelElements(engine, job, whole, indexes, late);
  return ids as string[];
}

/**
 * Cancels some elements of a job. When they are all its unfinished elements (or its array id was
 * named), the job itself is cancelled. Elements barge has not made yet are cancelled as they are
 * made (late-cancels.ts).
 */
async function cancelElements(engine: Engine, job: JobRow, whole: boolean, indexes: Set<number>, late: LateCancels): Promise<void> {
  if (isFinal(job.state)) return;
  const elements = await jobElements(engine.store, job);
  const unfinished = elements.filter((e) => ACTIVE_AWS_STATES.includes(e.status));
  if (whole || unfinished.every((e) => indexes.has(e.index))) return cancelJob(engine, job.id);
  const unmade = unfinished.filter((e) => indexes.has(e.index) && !e.execution).map((e) => e.index);
  await recordLateCancels(engine, job, unmade, late);
  for (const element of unfinished) {
    if (!indexes.has(element.index) || !element.execution) continue;
    try {
      await engine.cancelExecution(element.execution.id);
    } catch (error) {
      // It finished (or is being made) meanwhile: as AWS, the id is still listed.
      if (!(error instanceof ConflictError)) throw error;
    }
  }
}

async function cancelJob(engine: Engine, jobId: string): Promise<void> {
  try {
    await engine.cancelJob(jobId);
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
  }
}

/** Cancels every active SlideRule job of the caller; answers the ids of the elements that were active. */
async function cancelAll(engine: Engine, principal: Principal): Promise<string[]> {
  const cancelled: string[] = [];
  const active = await activeJobs(engine, principal);
  for (const job of active) {
    const elements = await jobElements(engine.store, job);
    cancelled.push(...elements.filter((e) => ACTIVE_AWS_STATES.includes(e.status)).map((e) => e.id));
    await cancelJob(engine, job.id);
  }
  return cancelled;
}

async function activeJobs(engine: Engine, principal: Principal): Promise<JobRow[]> {
  const jobs: JobRow[] = [];
  let beforeId: string | undefined;
  for (;;) {
    const page = await engine.store.jobList({
      origin: SLIDERULE_ORIGIN,
      owner: principal.name,
      states: ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING'],
      limit: JOB_PAGE,
      beforeId,
    });
    jobs.push(...page);
    if (page.length < JOB_PAGE) return jobs;
    beforeId = page.at(-1)?.id;
  }
}

