/**
 * /v1 routes about the system rather than one job: nodes, queues, health, metrics. Users and the
 * caller's own identity are in accounts.ts.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { V1Options } from './context.js';
import { errorResponses, Health, NodeList, QueueList, Throughput } from './schemas.js';
import { nodeBody } from './views.js';

const tags = ['system'];
const MINUTE_MS = 60_000;
const THROUGHPUT_MINUTES = 60;

/** The most common reasons work waits, shown beside the nodes. */
const WAITING_REASONS_SHOWN = 10;

export const systemRoutes: FastifyPluginAsync<V1Options> = async (app, { engine, version, registry }) => {
  const { store } = engine;

  app.get(
    '/health',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'Liveness and store reachability (no token needed)',
        security: [],
        response: { 200: Health, 503: Health } },
    },
    async (request, reply) => {
      try {
        await store.ping();
        return { status: 'ok', version, store: store.dialect };
      } catch (error) {
        request.log.warn({ err: error }, 'store unreachable');
        return reply.code(503).send({ status: 'down', version, store: store.dialect });
      }
    },
  );

  app.get(
    '/nodes',
    { schema: { tags, summary: 'API servers and workers', response: { 200: NodeList, ...errorResponses } } },
    async () => ({
      items: (await store.nodeList({})).map(nodeBody),
      waiting: await store.executionWaitingReasons({ limit: WAITING_REASONS_SHOWN }),
    }),
  );

  app.get(
    '/queues',
    { schema: { tags, summary: 'Queues with their runnable and running executions', response: { 200: QueueList, ...errorResponses } } },
    async () => ({
      items: (await store.queueStats()).map(({ queue, runnable, running }) => ({ name: queue, runnable, running })),
    }),
  );

  app.get(
    '/stats/throughput',
    {
      schema: {
        tags,
        summary: 'Executions that ended per minute over the last hour, in total and per queue',
        response: { 200: Throughput, ...errorResponses },
      },
    },
    async () => {
      const now = Date.now();
      // Whole minutes: the current minute is the last one, still filling.
      const first = Math.floor(now / MINUTE_MS) * MINUTE_MS - (THROUGHPUT_MINUTES - 1) * MINUTE_MS;
      const since = new Date(first).toISOString();
      const total = new Array<number>(THROUGHPUT_MINUTES).fill(0);
      const queues: Record<string, number[]> = {};
      for (const { queue, minute, count } of await store.executionFinishedPerMinute({ since })) {
        const slot = Math.floor((Date.parse(minute) - first) / MINUTE_MS);
        if (slot < 0 || slot >= THROUGHPUT_MINUTES) continue;
        total[slot] += count;
        (queues[queue] ??= new Array<number>(THROUGHPUT_MINUTES).fill(0))[slot] += count;
      }
      return { minutes: THROUGHPUT_MINUTES, since, total, queues };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags,
        summary: 'Prometheus metrics',
        response: {
          200: { description: 'Prometheus text format', content: { 'text/plain': { schema: Type.String() } } },
          ...errorResponses,
        },
      },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
};
