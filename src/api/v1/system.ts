/**
 * /v1 routes about the system rather than one job: nodes, queues, health, metrics, users and the
 * caller's own identity.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ConflictError } from '../../core/errors.js';
import type { Role } from '../../core/model.js';
import { createToken, createUser, principalOf } from '../auth/index.js';
import type { V1Options } from './context.js';
import { CreatedUser, errorResponses, Health, Me, NewUser, NodeList, QueueList, UserList } from './schemas.js';
import { nodeBody, userBody } from './views.js';

const tags = ['system'];

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
    async () => ({ items: (await store.nodeList({})).map(nodeBody) }),
  );

  app.get(
    '/queues',
    { schema: { tags, summary: 'Queues with their runnable and running executions', response: { 200: QueueList, ...errorResponses } } },
    async () => ({
      items: (await store.queueStats()).map(({ queue, runnable, running }) => ({ name: queue, runnable, running })),
    }),
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

  app.get(
    '/me',
    { schema: { tags, summary: 'Who the token belongs to', response: { 200: Me, ...errorResponses } } },
    async (request) => {
      const principal = principalOf(request);
      return { id: principal.userId, name: principal.name, role: principal.role };
    },
  );

  app.get(
    '/users',
    { config: { auth: 'admin' }, schema: { tags, summary: 'Users (admins only)', response: { 200: UserList, ...errorResponses } } },
    async () => ({ items: (await store.userList()).map(userBody) }),
  );

  app.post<{ Body: NewUser }>(
    '/users',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: 'Create a user and its first token (admins only; the token is shown once)',
        body: NewUser,
        response: { 201: CreatedUser, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { name } = request.body;
      const role = (request.body.role ?? 'user') as Role;
      if (await store.userGetByName(name)) throw new ConflictError(`user ${name} exists`);
      const user = await createUser(store, { name, role });
      const token = await createToken(store, user.id);
      return reply.code(201).send({ user: userBody(user), token });
    },
  );
};
