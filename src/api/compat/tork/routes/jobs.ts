/**
 * `/jobs`: submit (with `wait`), list with paging and search, read, log, cancel and restart
 * (tork.md §3.1–3.4, §3.6, §3.7).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ConflictError, NotFoundError } from '../../../../core/errors.js';
import type { JobRow } from '../../../../core/model.js';
import { parseDuration } from '../../../../core/duration.js';
import { isFinal } from '../../../../core/states.js';
import type { JobFilter } from '../../../../store/store.js';
import { convertedJob, decodedSubmission } from '../submission.js';
import { caller, CreatedBy, untilGone, visibleJob, type TorkContext } from '../context.js';
import { badRequest, notFound, refuseOtherMethods, TorkError } from '../errors.js';
import { acceptedSummaryView, jobSummaryView, jobView, type SummaryFacts } from '../job-views.js';
import { readJobFacts } from '../facts.js';
import { subjobError, torkJobErrorOf } from '../outcomes.js';
import { jobLogPage } from '../logs.js';
import { jobPosition } from '../progress.js';
import { JOB_PAGING, LOG_PAGING, page, parsePaging, parseSearch, queryParam } from '../query.js';
import { Redactor } from '../redact.js';
import { isCancellable, isRestartable, torkJobState } from '../states.js';
import { TORK_ORIGIN } from '../webhooks.js';
import { OK, sendJson, type WireObject } from '../wire.js';

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

/** The most task instances one job view holds (a 10,000-item `each` shows them all, as Tork does). */
const MAX_INSTANCES = 1_000_000;

export async function jobRoutes(app: FastifyInstance, context: TorkContext): Promise<void> {
  const { engine } = context;
  const { store } = engine;

  app.post('', async (request, reply) => {
    const { input, waitTimeout } = await decodedSubmission(request, engine.store);
    const principal = caller(request);
    const created = await engine.submit(convertedJob(input), { owner: principal.name, origin: TORK_ORIGIN });
    if (waitTimeout === undefined) {
      return sendJson(request, reply, 200, acceptedSummaryView(created, await new CreatedBy(context).of(created.owner)));
    }
    const gone = untilGone(reply, context.closing);
    const done = await engine.waitForJob(created.id, parseDuration(waitTimeout), gone.signal);
    if (!isFinal(done.state)) {
      const why = gone.why();
      if (why === 'server') throw new TorkError(500, 'server shutting down');
      throw new TorkError(408, why === 'client' ? 'request cancelled' : 'timeout waiting for job to complete');
    }
    return sendJson(request, reply, 200, await fullJob(context, done));
  });

  app.get('', async (request, reply) => {
    const paging = parsePaging(request.query, JOB_PAGING);
    const search = parseSearch(queryParam(request.query, 'q'));
    const principal = caller(request);
    const filter: JobFilter = {
      owner: principal.role === 'admin' ? undefined : principal.name,
      tags: search.tags.length > 0 ? search.tags : undefined,
      q: search.text || undefined,
    };
    const [jobs, total] = await Promise.all([store.jobList({ ...filter, limit: paging.size, offset: paging.offset }), store.jobCount(filter)]);
    const users = new CreatedBy(context);
    const items = await Promise.all(jobs.map(async (job) => jobSummaryView(job, await summaryFacts(context, job, users))));
    return sendJson(request, reply, 200, page(items, paging, total));
  });

  app.get('/:id', async (request: IdRequest, reply) => {
    const job = await visibleJob(context, request, request.params.id);
    return sendJson(request, reply, 200, await fullJob(context, job));
  });

  app.get('/:id/log', async (request: IdRequest, reply) => {
    const paging = parsePaging(request.query, LOG_PAGING);
    const job = await visibleJob(context, request, request.params.id);
    const logs = await jobLogPage(store, job.id, paging, queryParam(request.query, 'q'), new Redactor(Object.values(job.secrets)));
    return sendJson(request, reply, 200, logs);
  });

  app.put('/:id/cancel', async (request: IdRequest, reply) => {
    const job = await visibleJob(context, request, request.params.id);
    if (!isCancellable(job.state)) throw badRequest('job is not running');
    try {
      await engine.cancelJob(job.id);
    } catch (error) {
      // It ended between the read and the cancel.
      if (error instanceof ConflictError) throw badRequest('job is not running');
      throw error;
    }
    return sendJson(request, reply, 200, OK);
  });

  app.put('/:id/restart', async (request: IdRequest, reply) => {
    const job = await visibleJob(context, request, request.params.id);
    await checkRestartable(context, job);
    try {
      await engine.restartJob(job.id);
    } catch (error) {
      if (error instanceof NotFoundError) throw notFound('job not found');
      if (error instanceof ConflictError) throw await restartRefusal(context, job.id, error);
      throw error;
    }
    return sendJson(request, reply, 200, OK);
  });

  refuseOtherMethods(app, '', ['GET', 'POST']);
  refuseOtherMethods(app, '/:id', ['GET']);
  refuseOtherMethods(app, '/:id/log', ['GET']);
  refuseOtherMethods(app, '/:id/cancel', ['PUT']);
  refuseOtherMethods(app, '/:id/restart', ['PUT']);
}

/** Tork's restart rules (§3.7): FAILED or CANCELLED, and a current task left to run. */
async function checkRestartable(context: TorkContext, job: JobRow): Promise<void> {
  if (!isRestartable(job.state)) throw badRequest(`job is ${torkJobState(job.state)} and can not be restarted`);
  const tasks = await context.engine.store.taskList(job.id);
  if (jobPosition(job, tasks) > job.taskCount) throw badRequest('job has no more tasks to run');
}

/** The engine refused after our checks passed (a race): say why in Tork's words. */
async function restartRefusal(context: TorkContext, id: string, error: ConflictError): Promise<TorkError> {
  if (error.message.includes('no more tasks')) return badRequest('job has no more tasks to run');
  const now = await context.engine.store.jobGet(id);
  return now ? badRequest(`job is ${torkJobState(now.state)} and can not be restarted`) : notFound('job not found');
}

async function summaryFacts(context: TorkContext, job: JobRow, users: CreatedBy): Promise<SummaryFacts> {
  const [createdBy, facts] = await Promise.all([users.of(job.owner), readJobFacts(context.engine.store, job)]);
  return { createdBy, ...facts };
}

/** A job with its tasks, executions and sub-job ids, as Tork's full Job. */
export async function fullJob(context: TorkContext, job: JobRow): Promise<WireObject> {
  const { store } = context.engine;
  const [tasks, executions] = await Promise.all([store.taskList(job.id), store.executionList({ jobId: job.id, limit: MAX_INSTANCES })]);
  const subjobExecutions = executions.filter((e) => e.kind === 'subjob').map((e) => e.id);
  const subjobs = subjobExecutions.length > 0 ? await store.jobListByParentExecution(subjobExecutions) : [];
  const subjobIds = new Map(subjobs.map((sub) => [sub.parentExecutionId as string, sub.id]));
  // A detached sub-job has no parent link; its task's result is the sub-job's id.
  for (const e of executions) {
    if (e.kind === 'subjob' && e.spec.subjob?.detached && e.result && !subjobIds.has(e.id)) subjobIds.set(e.id, e.result);
  }
  const subjobErrors = new Map<string, string>();
  for (const execution of executions) {
    const error = await subjobError(store, execution);
    if (error !== undefined) subjobErrors.set(execution.id, error);
  }
  const error = torkJobErrorOf(job, executions, subjobErrors);
  return jobView(job, { createdBy: await new CreatedBy(context).of(job.owner), tasks, executions, subjobIds, subjobErrors, error });
}
