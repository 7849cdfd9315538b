/**
 * /v1/jobs: submit, list, read, cancel, restart, delete, and a job's events and executions.
 * The results download lives in results.ts.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { BargeError, coerceError } from '../../core/errors.js';
import { parseSpecText } from '../../core/spec.js';
import { isFinal } from '../../core/states.js';
import type { Engine } from '../../engine/engine.js';
import type { JobFilter } from '../../store/store.js';
import { principalOf, type Principal } from '../auth/index.js';
import { bodyFormatOf, unsupportedMediaType, YAML_MEDIA_TYPES } from '../content-types.js';
import { forbidden, invalid } from '../errors.js';
import { ownedJob, untilGone, type V1Options } from './context.js';
import {
  decodeExecutionCursor,
  decodeJobCursor,
  encodeExecutionCursor,
  encodeJobCursor,
  parseList,
  parseStates,
  parseWait,
} from './query.js';
import {
  errorResponses,
  EventList,
  EventListQuery,
  ExecutionListQuery,
  ExecutionPage,
  IdParams,
  isOn,
  Job,
  JobCountQuery,
  JobCounts,
  JobListQuery,
  JobPage,
  SubmitQuery,
  type JobBody,
} from './schemas.js';
import { eventBody, executionBody, jobBody } from './views.js';

const tags = ['jobs'];

/** JSON bodies are checked only for being an object here: the engine validates the spec in full. */
const submitBody = {
  content: {
    'application/json': { schema: Type.Object({}, { additionalProperties: true, description: 'a job spec' }) },
    ...Object.fromEntries(
      YAML_MEDIA_TYPES.map((type) => [type, { schema: Type.String({ description: 'a job spec in YAML' }) }]),
    ),
  },
};

export const jobRoutes: FastifyPluginAsync<V1Options> = async (app, { engine, closing }) => {
  app.post<{ Querystring: SubmitQuery }>(
    '/jobs',
    {
      schema: {
        tags,
        summary: 'Submit a job (JSON or YAML spec)',
        querystring: SubmitQuery,
        body: submitBody,
        response: { 201: Job, 202: Job, ...errorResponses },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      // Read everything that can be refused before the job exists.
      const waitMs = request.query.wait === undefined ? null : parseWait(request.query.wait);
      const spec = submittedSpec(request);
      const created = await engine.submit(spec, { owner: principal.name, origin: 'v1', validation: { requireSomethingToRun: true } });
      if (waitMs !== null) await engine.waitForJob(created.id, waitMs, untilGone(reply, closing));
      const body = await describe(engine, created.id);
      const stillRunning = waitMs !== null && !isFinal(body.state);
      return reply
        .code(stillRunning ? 202 : 201)
        .header('location', `/v1/jobs/${created.id}`)
        .send(body);
    },
  );

  app.get<{ Querystring: JobListQuery }>(
    '/jobs',
    {
      schema: {
        tags,
        summary: 'List jobs, newest first',
        querystring: JobListQuery,
        response: { 200: JobPage, ...errorResponses },
      },
    },
    async (request) => {
      const { query } = request;
      const beforeId = query.cursor === undefined ? undefined : decodeJobCursor(query.cursor);
      const filter = jobFilter(principalOf(request), query);
      // One more than asked tells whether another page exists without a count.
      const rows = await engine.store.jobList({ ...filter, beforeId, limit: query.limit + 1 });
      const page = rows.slice(0, query.limit);
      const counts = await engine.executionCountsMany(page.map((job) => job.id));
      const items = page.map((job) => jobBody({ job, counts: counts[job.id] ?? {} }));
      const last = page.at(-1);
      return { items, nextCursor: rows.length > query.limit && last ? encodeJobCursor(last.id) : null };
    },
  );

  app.get<{ Querystring: JobCountQuery }>(
    '/jobs/counts',
    {
      schema: {
        tags,
        summary: 'How many jobs match the list filters, by state',
        querystring: JobCountQuery,
        response: { 200: JobCounts, ...errorResponses },
      },
    },
    async (request) => {
      const counts = await engine.store.jobCountByState(jobFilter(principalOf(request), request.query));
      const total = Object.values(counts).reduce((sum, n) => sum + (n ?? 0), 0);
      return { total, counts };
    },
  );

  app.get<{ Params: IdParams }>(
    '/jobs/:id',
    { schema: { tags, summary: 'A job with its tasks and counts', params: IdParams, response: { 200: Job, ...errorResponses } } },
    async (request) => {
      const job = await ownedJob(engine, principalOf(request), request.params.id);
      return describe(engine, job.id);
    },
  );

  app.post<{ Params: IdParams }>(
    '/jobs/:id/cancel',
    {
      schema: { tags, summary: 'Cancel an unfinished job (409 when final)', params: IdParams, response: { 200: Job, ...errorResponses } },
    },
    async (request) => {
      const job = await ownedJob(engine, principalOf(request), request.params.id);
      await engine.cancelJob(job.id);
      return describe(engine, job.id);
    },
  );

  app.post<{ Params: IdParams }>(
    '/jobs/:id/restart',
    {
      schema: {
        tags,
        summary: 'Run the unfinished tasks of a FAILED or CANCELLED job again (409 otherwise)',
        params: IdParams,
        response: { 200: Job, ...errorResponses },
      },
    },
    async (request) => {
      const job = await ownedJob(engine, principalOf(request), request.params.id);
      await engine.restartJob(job.id);
      return describe(engine, job.id);
    },
  );

  app.delete<{ Params: IdParams }>(
    '/jobs/:id',
    {
      schema: {
        tags,
        summary: 'Delete a final job with its logs, events and artifacts (409 unless final)',
        params: IdParams,
        response: { 204: Type.Null({ description: 'deleted' }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const job = await ownedJob(engine, principalOf(request), request.params.id);
      await engine.deleteJob(job.id);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: IdParams; Querystring: EventListQuery }>(
    '/jobs/:id/events',
    {
      schema: {
        tags,
        summary: "A job's history, oldest first",
        params: IdParams,
        querystring: EventListQuery,
        response: { 200: EventList, ...errorResponses },
      },
    },
    async (request) => {
      const job = await ownedJob(engine, principalOf(request), request.params.id);
      const rows = await engine.store.eventList({ jobId: job.id, afterId: request.query.after, limit: request.query.limit });
      return { items: rows.map(eventBody) };
    },
  );

  app.get<{ Params: IdParams; Querystring: ExecutionListQuery }>(
    '/jobs/:id/executions',
    {
      schema: {
        tags,
        summary: "A job's executions, oldest first",
        params: IdParams,
        querystring: ExecutionListQuery,
        response: { 200: ExecutionPage, ...errorResponses },
      },
    },
    async (request) => {
      const { query } = request;
      const states = parseStates(query.state);
      const afterSeq = query.cursor === undefined ? undefined : decodeExecutionCursor(query.cursor);
      const job = await ownedJob(engine, principalOf(request), request.params.id);
      const rows = await engine.store.executionList({
        jobId: job.id,
        states,
        parentId: isOn(query.topLevel) ? null : query.parentId,
        taskId: query.taskId,
        afterSeq,
        limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      const lastSeq = page.at(-1)?.seq;
      return {
        items: page.map(executionBody),
        nextCursor: rows.length > query.limit && lastSeq !== undefined ? encodeExecutionCursor(lastSeq) : null,
      };
    },
  );
};

async function describe(engine: Engine, id: string): Promise<JobBody> {
  const view = await engine.describeJob(id);
  return jobBody({ job: view.job, counts: view.counts, attempts: view.attempts, progress: view.progress, tasks: view.tasks });
}

/** The spec as sent: a JSON object, or YAML text parsed here (alias bombs refused). */
function submittedSpec(request: FastifyRequest): unknown {
  switch (bodyFormatOf(request)) {
    case 'yaml':
      return parseYaml(request.body as string);
    case 'json':
    case 'none':
      return request.body;
    default:
      throw unsupportedMediaType(request.mediaType);
  }
}

/** YAML problems are the client's: whatever the parser throws becomes a 400, never a 500. */
function parseYaml(text: string): unknown {
  try {
    return parseSpecText(text, 'yaml');
  } catch (error) {
    if (error instanceof BargeError) throw error;
    throw invalid('', `not valid YAML: ${coerceError(error).message}`);
  }
}

/** Non-admins list only their own jobs; asking for someone else's is refused, not silently narrowed. */
/**
 * Admins list every job (or one owner's); anyone else lists their own jobs and those shared with
 * them, or with `owner=` (their own name) only their own.
 */
function jobFilter(principal: Principal, query: JobCountQuery): JobFilter {
  const owner = query.owner;
  if (principal.role !== 'admin' && owner !== undefined && owner !== principal.name) throw forbidden("only admins can list other owners' jobs");
  const visibleTo = principal.role === 'admin' || owner !== undefined ? undefined : principal.name;
  return {
    owner,
    visibleTo,
    states: parseStates(query.state),
    tags: parseList(query.tag),
    queue: query.queue,
    origin: query.origin,
    // Stored times are UTC ISO strings compared as text: normalise offsets such as +02:00.
    createdAfter: toUtc(query.createdAfter),
    createdBefore: toUtc(query.createdBefore),
    q: query.q?.trim() || undefined,
    includeSubjobs: isOn(query.subjobs),
  };
}

function toUtc(timestamp: string | undefined): string | undefined {
  return timestamp === undefined ? undefined : new Date(timestamp).toISOString();
}
