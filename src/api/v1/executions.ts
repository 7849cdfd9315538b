/**
 * /v1/executions: one execution, its log (paged, or followed as Server-Sent Events), and cancel.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { NotFoundError } from '../../core/errors.js';
import { isFinal, STATES } from '../../core/states.js';
import { principalOf } from '../auth/index.js';
import { ownedExecution, type V1Options } from './context.js';
import { followLogs } from './log-stream.js';
import { errorResponses, Execution, IdParams, isOn, ItemParams, ItemStates, LogPage, LogQuery, OutputList } from './schemas.js';
import { executionBody, logLineBody } from './views.js';

const tags = ['executions'];

export const executionRoutes: FastifyPluginAsync<V1Options> = async (app, { engine, closing }) => {
  app.get<{ Params: IdParams }>(
    '/executions/:id',
    { schema: { tags, summary: 'An execution', params: IdParams, response: { 200: Execution, ...errorResponses } } },
    async (request) => executionBody(await ownedExecution(engine, principalOf(request), request.params.id)),
  );

  app.get<{ Params: IdParams; Querystring: LogQuery }>(
    '/executions/:id/logs',
    {
      schema: {
        tags,
        summary: "An execution's log, paged; with follow=1, Server-Sent Events until it ends",
        params: IdParams,
        querystring: LogQuery,
        response: {
          200: {
            description: 'a page of log lines, or with follow=1 a text/event-stream',
            content: {
              'application/json': { schema: LogPage },
              'text/event-stream': { schema: Type.String({ description: '`event: line` per line, then `event: end`' }) },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const execution = await ownedExecution(engine, principalOf(request), request.params.id);
      const after = resumePoint(request, request.query.after);
      if (isOn(request.query.follow) || wantsEventStream(request)) {
        followLogs({ engine, executionId: execution.id, after, reply, log: request.log, closing });
        return reply;
      }
      const { limit } = request.query;
      // Read after the state: when the execution is final, its log is complete.
      const lines = await engine.store.logList({ executionId: execution.id, afterNumber: after, limit });
      return reply.type('application/json').send({
        items: lines.map(logLineBody),
        next: lines.at(-1)?.number ?? after,
        done: isFinal(execution.state) && lines.length < limit,
      });
    },
  );

  app.get<{ Params: IdParams }>(
    '/executions/:id/outputs',
    {
      schema: {
        tags,
        summary: "The files an execution left in its outputs/ folder (downloaded with the job's results)",
        params: IdParams,
        response: { 200: OutputList, ...errorResponses },
      },
    },
    async (request) => {
      const execution = await ownedExecution(engine, principalOf(request), request.params.id);
      const artifacts = await engine.store.artifactList({ executionId: execution.id });
      return { items: artifacts.map(({ path, size, createdAt }) => ({ path, size, createdAt })) };
    },
  );

  app.get<{ Params: IdParams }>(
    '/executions/:id/items',
    {
      schema: {
        tags,
        summary: "The state of every item of an array (each) or parallel, one character each: the UI's grid",
        params: IdParams,
        response: { 200: ItemStates, ...errorResponses },
      },
    },
    async (request) => {
      const execution = await ownedExecution(engine, principalOf(request), request.params.id);
      const letters = new Array<string>(execution.childCount).fill(UNMADE_ITEM);
      // Attempts of one item come in seq order: the last one written wins.
      for (const { idx, state } of await engine.store.executionItemStates({ parentId: execution.id })) {
        if (idx >= 0 && idx < letters.length) letters[idx] = String(STATES.indexOf(state));
      }
      return { count: execution.childCount, states: letters.join('') };
    },
  );

  app.get<{ Params: ItemParams }>(
    '/executions/:id/items/:idx',
    {
      schema: {
        tags,
        summary: 'The latest attempt of one item of an array or parallel (404 while it is not made)',
        params: ItemParams,
        response: { 200: Execution, ...errorResponses },
      },
    },
    async (request) => {
      const execution = await ownedExecution(engine, principalOf(request), request.params.id);
      const item = await engine.store.executionItemLatest({ parentId: execution.id, idx: request.params.idx });
      if (!item) throw new NotFoundError('item', `${request.params.idx} of execution ${execution.id}`);
      return executionBody(item);
    },
  );

  app.post<{ Params: IdParams }>(
    '/executions/:id/cancel',
    {
      schema: {
        tags,
        summary: 'Cancel one execution (409 when final); its job settles as for a failure',
        params: IdParams,
        response: { 200: Execution, ...errorResponses },
      },
    },
    async (request) => {
      const execution = await ownedExecution(engine, principalOf(request), request.params.id);
      await engine.cancelExecution(execution.id);
      return executionBody(await engine.getExecution(execution.id));
    },
  );
};

/** An item the engine has not made yet (a slot of an `each` waiting for its turn). */
const UNMADE_ITEM = '-';

function wantsEventStream(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/event-stream');
}

/** `after`, or the Last-Event-ID an EventSource sends when it reconnects, whichever is later. */
function resumePoint(request: FastifyRequest, after: number | undefined): number {
  const header = request.headers['last-event-id'];
  const lastEventId = typeof header === 'string' && /^\d{1,15}$/.test(header) ? Number(header) : 0;
  return Math.max(after ?? 0, lastEventId);
}
