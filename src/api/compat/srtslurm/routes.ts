/**
 * The collector's routes (reference §2): create, update, read and list jobs, their event feeds,
 * delete, and health. Each path is also served with a trailing slash, as the reference strips it.
 */
import type { FastifyInstance, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { Engine } from '../../../engine/engine.js';
import type { OutsideJobs } from '../../../engine/outside-jobs.js';
import type { OutsideEventRow } from '../../../store/store.js';
import { canSee, principalOf } from '../../auth/index.js';
import { applyCreate, applyUpdate, recordOf, SRT_ORIGIN } from './rules.js';
import { SrtError, detailOf, eventRecordOf, parseBody, readCreate, readUpdate, summaryOf } from './wire.js';

interface Context {
  engine: Engine;
  jobs: OutsideJobs;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export async function srtRoutes(app: FastifyInstance, context: Context): Promise<void> {
  const route = (method: Method, url: string, handler: RouteHandlerMethod, isPublic = false): void => {
    for (const path of [url, `${url}/`]) app.route({ method, url: path, handler, config: isPublic ? { auth: 'public' } : {} });
  };
  const now = (): string => context.engine.clock.now().toISOString();

  route('GET', '/health', async () => ({ status: 'ok' }), true);

  route('POST', '/jobs', async (request, reply) => {
    const payload = readCreate(parseBody(bodyText(request)));
    const { after } = await context.jobs.write({
      origin: SRT_ORIGIN,
      externalId: payload.job_id,
      owner: principalOf(request).name,
      decide: (current) => {
        if (current) mayChange(request, current.job.owner, payload.job_id);
        return applyCreate(payload, current, now());
      },
    });
    return reply.code(201).send({ job_id: payload.job_id, status: after.row.status });
  });

  route('PUT', '/jobs/:jobId', async (request) => {
    const { jobId } = request.params as { jobId: string };
    const payload = readUpdate(parseBody(bodyText(request)));
    await context.jobs.write({
      origin: SRT_ORIGIN,
      externalId: jobId,
      owner: principalOf(request).name,
      decide: (current) => {
        if (current) mayChange(request, current.job.owner, jobId);
        return applyUpdate(jobId, payload, current, now());
      },
    });
    return { job_id: jobId, status: payload.status };
  });

  route('GET', '/jobs/:jobId', async (request) => {
    const { jobId } = request.params as { jobId: string };
    const job = await context.jobs.get({ origin: SRT_ORIGIN, externalId: jobId });
    if (!job) throw jobNotFound();
    return detailOf(jobId, recordOf(job.row), await allEvents(context.jobs, jobId));
  });

  route('GET', '/jobs', async (request) => {
    const query = request.query as Record<string, unknown>;
    const page = intParam(query, 'page', 1, (n) => (n >= 1 ? null : 'page must be >= 1'));
    const perPage = intParam(query, 'per_page', 50, (n) => (n >= 1 && n <= 100 ? null : 'per_page must be 1..100'));
    const status = textParam(query, 'status');
    const cluster = textParam(query, 'cluster');
    const { rows, total } = await context.jobs.list({ origin: SRT_ORIGIN, status, cluster, limit: perPage, offset: (page - 1) * perPage });
    return { jobs: rows.map((row) => summaryOf(row.externalId, recordOf(row))), total, page, per_page: perPage };
  });

  route('DELETE', '/jobs/:jobId', async (request) => {
    const { jobId } = request.params as { jobId: string };
    const job = await context.jobs.get({ origin: SRT_ORIGIN, externalId: jobId });
    if (!job) throw jobNotFound();
    mayChange(request, job.job.owner, jobId);
    if (!(await context.jobs.delete({ origin: SRT_ORIGIN, externalId: jobId }))) throw jobNotFound();
    return { deleted: true, job_id: jobId };
  });

  route('GET', '/jobs/:jobId/events', async (request) => {
    const { jobId } = request.params as { jobId: string };
    const query = request.query as Record<string, unknown>;
    const { after, limit } = feedParams(query);
    if (!(await context.jobs.get({ origin: SRT_ORIGIN, externalId: jobId }))) throw jobNotFound();
    const events = await context.jobs.events({ origin: SRT_ORIGIN, externalId: jobId, afterId: after, limit });
    return { job_id: jobId, ...feedOf(events, after) };
  });

  route('GET', '/events', async (request) => {
    const query = request.query as Record<string, unknown>;
    const { after, limit } = feedParams(query);
    const externalId = textParam(query, 'job_id');
    return feedOf(await context.jobs.events({ origin: SRT_ORIGIN, externalId, afterId: after, limit }), after);
  });
}

function bodyText(request: FastifyRequest): string {
  return typeof request.body === 'string' ? request.body : '';
}

const jobNotFound = (): SrtError => new SrtError(404, 'Job not found');

/** Reads are open to every caller of the face; changes to the job's owner (or an admin). */
function mayChange(request: FastifyRequest, owner: string, jobId: string): void {
  if (!canSee(principalOf(request), owner)) throw new SrtError(403, `Job ${jobId} belongs to another user`);
}

/** Every event of one job, oldest first. */
async function allEvents(jobs: OutsideJobs, externalId: string): Promise<OutsideEventRow[]> {
  const all: OutsideEventRow[] = [];
  for (;;) {
    const batch = await jobs.events({ origin: SRT_ORIGIN, externalId, afterId: all.at(-1)?.id ?? 0, limit: 1_000 });
    all.push(...batch);
    if (batch.length < 1_000) return all;
  }
}

function feedParams(query: Record<string, unknown>): { after: number; limit: number } {
  return {
    after: intParam(query, 'after', 0, (n) => (n >= 0 ? null : 'after must be >= 0')),
    limit: intParam(query, 'limit', 100, (n) => (n >= 1 && n <= 1000 ? null : 'limit must be 1..1000')),
  };
}

/** `next_cursor`: the last event's id, else the `after` given, else null. */
function feedOf(events: OutsideEventRow[], after: number): { events: unknown[]; next_cursor: number | null } {
  return { events: events.map(eventRecordOf), next_cursor: events.at(-1)?.id ?? (after > 0 ? after : null) };
}

/** A repeated parameter: the last value wins. */
function lastValue(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  const last = Array.isArray(value) ? value.at(-1) : value;
  return typeof last === 'string' ? last : undefined;
}

function textParam(query: Record<string, unknown>, name: string): string | undefined {
  const value = lastValue(query, name);
  return value === undefined || value === '' ? undefined : value;
}

function intParam(query: Record<string, unknown>, name: string, fallback: number, check: (n: number) => string | null): number {
  const text = lastValue(query, name);
  if (text === undefined || text === '') return fallback;
  if (!/^\s*[+-]?\d+\s*$/.test(text)) throw new SrtError(422, `${name} must be an integer`);
  const n = Number(text);
  const problem = check(n);
  if (problem) throw new SrtError(422, problem);
  return n;
}
