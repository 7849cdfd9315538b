/**
 * `/tasks/:id` and its log (tork.md §3.4, §3.5). A Tork task instance is a barge execution.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ExecutionRow } from '../../../../core/model.js';
import { visibleExecution, type TorkContext } from '../context.js';
import { notFound, refuseOtherMethods } from '../errors.js';
import { instanceView } from '../job-views.js';
import { subjobError } from '../outcomes.js';
import { taskLogPage } from '../logs.js';
import { LOG_PAGING, parsePaging, queryParam } from '../query.js';
import { Redactor } from '../redact.js';
import { sendJson } from '../wire.js';

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

export async function taskRoutes(app: FastifyInstance, context: TorkContext): Promise<void> {
  const { store } = context.engine;

  app.get('/:id', async (request: IdRequest, reply) => {
    const execution = await visibleExecution(context, request, request.params.id);
    const [job, task, subjobId, failure] = await Promise.all([
      store.jobGet(execution.jobId),
      store.taskGet(execution.taskId),
      subjobOf(context, execution),
      subjobError(store, execution),
    ]);
    if (!job) throw notFound('task not found');
    const view = instanceView(execution, { job, position: (task?.position ?? -1) + 1, subjobId, subjobError: failure });
    return sendJson(request, reply, 200, new Redactor(Object.values(job.secrets)).task(view));
  });

  app.get('/:id/log', async (request: IdRequest, reply) => {
    const paging = parsePaging(request.query, LOG_PAGING);
    const execution = await visibleExecution(context, request, request.params.id);
    const job = await store.jobGet(execution.jobId);
    const redactor = new Redactor(Object.values(job?.secrets ?? {}));
    return sendJson(request, reply, 200, await taskLogPage(store, execution, paging, queryParam(request.query, 'q'), redactor));
  });

  refuseOtherMethods(app, '/:id', ['GET']);
  refuseOtherMethods(app, '/:id/log', ['GET']);
}

async function subjobOf(context: TorkContext, execution: ExecutionRow): Promise<string | undefined> {
  if (execution.kind !== 'subjob') return undefined;
  const [child] = await context.engine.store.jobListByParentExecution([execution.id]);
  if (child) return child.id;
  return execution.spec.subjob?.detached ? (execution.result ?? undefined) : undefined;
}
