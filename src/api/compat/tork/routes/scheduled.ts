/**
 * `/scheduled-jobs` (tork.md §3.9), on barge's cron Scheduler: a schedule holds the converted
 * job spec and a 5-field cron expression; each firing submits an ordinary job with origin `tork`
 * and `schedule: {id, cron}`. The scheduler advances a schedule with a compare-and-set, so one
 * server fires each tick however many run.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ConflictError, NotFoundError } from '../../../../core/errors.js';
import type { ScheduleRow } from '../../../../core/model.js';
import { canSee } from '../../../auth/index.js';
import { caller, CreatedBy, type TorkContext } from '../context.js';
import { badRequest, notFound, refuseOtherMethods } from '../errors.js';
import { scheduledJobView, scheduledSummaryView } from '../system-views.js';
import { convertedJob, decodedScheduledJob } from '../submission.js';
import { JOB_PAGING, page, parsePaging } from '../query.js';
import { TORK_ORIGIN } from '../webhooks.js';
import { OK, sendJson } from '../wire.js';

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

const NOT_FOUND = 'scheduled job not found';

export async function scheduledJobRoutes(app: FastifyInstance, context: TorkContext): Promise<void> {
  const { engine, scheduler } = context;
  const { store } = engine;

  /** A schedule the caller may see, else Tork's 404. */
  const visible = async (request: IdRequest): Promise<ScheduleRow> => {
    const schedule = await store.scheduleGet(request.params.id);
    if (!schedule || !canSee(caller(request), schedule.owner)) throw notFound(NOT_FOUND);
    return schedule;
  };

  /** The scheduler's own kinds in Tork's words. */
  const translated = (error: unknown): unknown => {
    if (error instanceof NotFoundError) return notFound(NOT_FOUND);
    if (error instanceof ConflictError) return badRequest(error.message);
    return error;
  };

  app.post('', async (request, reply) => {
    const { input, cron } = await decodedScheduledJob(request, store);
    const schedule = await scheduler.create({ spec: convertedJob(input), cron, owner: caller(request).name, origin: TORK_ORIGIN });
    return sendJson(request, reply, 200, scheduledSummaryView(schedule, await new CreatedBy(context).of(schedule.owner)));
  });

  app.get('', async (request, reply) => {
    const paging = parsePaging(request.query, JOB_PAGING);
    const principal = caller(request);
    const owner = principal.role === 'admin' ? undefined : principal.name;
    const [schedules, total] = await Promise.all([store.scheduleList({ owner, limit: paging.size, offset: paging.offset }), store.scheduleCount({ owner })]);
    const users = new CreatedBy(context);
    const items = await Promise.all(schedules.map(async (s) => scheduledSummaryView(s, await users.of(s.owner))));
    return sendJson(request, reply, 200, page(items, paging, total));
  });

  app.get('/:id', async (request: IdRequest, reply) => {
    const schedule = await visible(request);
    return sendJson(request, reply, 200, scheduledJobView(schedule, await new CreatedBy(context).of(schedule.owner)));
  });

  app.put('/:id/pause', async (request: IdRequest, reply) => {
    await visible(request);
    await scheduler.pause(request.params.id).catch((error: unknown) => Promise.reject(translated(error)));
    return sendJson(request, reply, 200, OK);
  });

  app.put('/:id/resume', async (request: IdRequest, reply) => {
    await visible(request);
    await scheduler.resume(request.params.id).catch((error: unknown) => Promise.reject(translated(error)));
    return sendJson(request, reply, 200, OK);
  });

  app.delete('/:id', async (request: IdRequest, reply) => {
    await visible(request);
    await scheduler.remove(request.params.id).catch((error: unknown) => Promise.reject(translated(error)));
    return sendJson(request, reply, 200, OK);
  });

  refuseOtherMethods(app, '', ['GET', 'POST']);
  refuseOtherMethods(app, '/:id', ['GET', 'DELETE']);
  refuseOtherMethods(app, '/:id/pause', ['PUT']);
  refuseOtherMethods(app, '/:id/resume', ['PUT']);
}
