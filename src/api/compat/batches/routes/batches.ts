/**
 * Batches (batches.md §2, §5): creating one by calling a tool, listing, status counts, deleting,
 * and gen (a)'s job list and job detail. A batch is one barge job (origin `batches`) whose single
 * task is an `each` over the batch's jobs; a batch job is one array item (one execution).
 */
import type { FastifyInstance } from 'fastify';
import { isFinal } from '../../../../core/states.js';
import type { ExecutionRow, JobRow } from '../../../../core/model.js';
import { ConflictError } from '../../../../core/errors.js';
import { batchFor, caller, filesystemFor, toolFor, type BatchesContext } from '../context.js';
import { BatchesError, invalidBody } from '../errors.js';
import { batchSpec, parseJsonBody, readBatchRequest } from '../submission.js';
import { batchFacts, batchView, jobDetailView, jobListItem, STATUS_KEYS, statusKey, type BatchFacts, type StatusKey } from '../views.js';
import { sendJson } from '../wire.js';

interface IdParams {
  id: string;
}

export async function batchRoutes(app: FastifyInstance, context: BatchesContext): Promise<void> {
  const { engine } = context;

  app.post<{ Params: IdParams }>('/tools/:id', async (request, reply) => {
    const tool = await toolFor(context, request, request.params.id, 'use');
    const batch = readBatchRequest(parseJsonBody(request.body));
    if (!tool.program) throw invalidBody(`tool ${tool.name} has no program yet: upload one (PUT /tools/${tool.id}/program or barge tools add)`);
    const filesystems = [];
    for (const id of batch.filesystemIds) filesystems.push(await filesystemFor(context, request, id, 'use'));
    const { spec, facts } = batchSpec(tool, tool.program, batch, filesystems);
    const job = await engine.submit(spec, { owner: caller(request).name, origin: 'batches', metadata: { batch: { ...facts } } });
    return sendJson(reply, 200, batchView(job, facts));
  });

  app.get('/batches', async (request, reply) => {
    const jobs = await ownBatches(context, caller(request).name);
    return sendJson(reply, 200, jobs.map(({ job, facts }) => batchView(job, facts)));
  });

  // §9 #12: always 200 with an empty body; barge cancels what still runs first (documented).
  app.delete('/batches', async (request, reply) => {
    for (const { job } of await ownBatches(context, caller(request).name)) await removeBatch(context, job);
    return reply.code(200).send();
  });

  app.get<{ Params: IdParams }>('/batches/:id', async (request, reply) => {
    const { job, facts } = await batchFor(context, request, request.params.id, 'use');
    return sendJson(reply, 200, await batchStatus(context, job, facts));
  });

  // §9 #11: the owner only (a user it is shared with gets 403).
  app.delete<{ Params: IdParams }>('/batches/:id', async (request, reply) => {
    const { job } = await batchFor(context, request, request.params.id, 'own');
    await removeBatch(context, job);
    return reply.code(200).send();
  });

  app.get<{ Params: IdParams }>('/batches/:id/jobs', async (request, reply) => {
    const { job, facts } = await batchFor(context, request, request.params.id, 'use');
    return sendJson(reply, 200, (await batchJobs(context, job, facts)).map(jobListItem));
  });

  app.get<{ Params: IdParams & { job: string } }>('/batches/:id/jobs/:job', async (request, reply) => {
    const { job, facts } = await batchFor(context, request, request.params.id, 'use');
    const execution = await engine.store.executionGet(request.params.job);
    // §9 #5: a job of another batch is not found here.
    if (!execution || execution.jobId !== job.id || execution.parentId === null) throw new BatchesError(404, 'Job not found');
    return sendJson(reply, 200, jobDetailView(execution, facts));
  });
}

/** The caller's own batches, oldest first (the original's storage order; shared ones are not listed, §9 #13). */
async function ownBatches(context: BatchesContext, owner: string): Promise<Array<{ job: JobRow; facts: BatchFacts }>> {
  const found: Array<{ job: JobRow; facts: BatchFacts }> = [];
  const page = 500;
  for (let beforeId: string | undefined; ; ) {
    const jobs = await context.engine.store.jobList({ owner, origin: 'batches', includeSubjobs: false, limit: page, beforeId });
    for (const job of jobs) {
      const facts = batchFacts(job);
      if (facts) found.push({ job, facts });
    }
    if (jobs.length < page) break;
    beforeId = jobs[jobs.length - 1].id;
  }
  return found.reverse();
}

/** Cancels what still runs, then deletes the job with its logs and outputs. */
async function removeBatch(context: BatchesContext, job: JobRow): Promise<void> {
  const { engine } = context;
  if (!isFinal(job.state)) {
    try {
      await engine.cancelJob(job.id);
    } catch (error) {
      // It finished between the read and the cancel: delete it as it is.
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  await engine.deleteJob(job.id);
}

/** The each execution that holds the batch's jobs. */
async function eachOf(context: BatchesContext, job: JobRow): Promise<ExecutionRow | undefined> {
  const [top] = await context.engine.store.executionList({ jobId: job.id, parentId: null, limit: 1 });
  return top;
}

/**
 * The batch's jobs, one per item: the latest attempt of each index (a job rescued after its
 * worker died is a new execution of the same item).
 */
async function batchJobs(context: BatchesContext, job: JobRow, facts: BatchFacts): Promise<ExecutionRow[]> {
  const each = await eachOf(context, job);
  if (!each) return [];
  const rows = await context.engine.store.executionList({ parentId: each.id, orderByIdx: true, limit: facts.nJobs * 2 + 100 });
  return latestPerItem(rows);
}

function latestPerItem(rows: ExecutionRow[]): ExecutionRow[] {
  const latest = new Map<number, ExecutionRow>();
  for (const row of rows) {
    const seen = latest.get(row.idx);
    if (!seen || row.attempt > seen.attempt) latest.set(row.idx, row);
  }
  return [...latest.values()].sort((a, b) => a.idx - b.idx);
}

/**
 * §9 #1, #6, #7: exactly the seven lowercase counts, from stored states, summing to n_jobs. Items
 * not made yet (big arrays are made a window at a time) are pending while the batch runs, and
 * failed once it has ended without them (it was cancelled or could not start).
 */
async function batchStatus(context: BatchesContext, job: JobRow, facts: BatchFacts): Promise<Record<StatusKey, number>> {
  const counts = Object.fromEntries(STATUS_KEYS.map((key) => [key, 0])) as Record<StatusKey, number>;
  const each = await eachOf(context, job);
  if (each) {
    const byState = await context.engine.store.executionCountByState({ parentId: each.id });
    const total = Object.values(byState).reduce((sum, n) => sum + (n ?? 0), 0);
    if (total > facts.nJobs) {
      for (const row of await batchJobs(context, job, facts)) counts[statusKey(row.state)] += 1;
    } else {
      for (const [state, n] of Object.entries(byState)) counts[statusKey(state as ExecutionRow['state'])] += n ?? 0;
    }
  }
  const made = STATUS_KEYS.reduce((sum, key) => sum + counts[key], 0);
  const missing = Math.max(0, facts.nJobs - made);
  counts[isFinal(job.state) ? 'failed' : 'pending'] += missing;
  return counts;
}
