/**
 * barge's own API under /v1: authentication for everything in it, then one plugin per area.
 */
import type { FastifyPluginAsync } from 'fastify';
import { authPlugin } from '../auth/index.js';
import { accountRoutes } from './accounts.js';
import type { V1Options } from './context.js';
import { executionRoutes } from './executions.js';
import { jobRoutes } from './jobs.js';
import { resultRoutes } from './results.js';
import { shareRoutes } from './shares.js';
import { systemRoutes } from './system.js';

export type { V1Options } from './context.js';

export const v1Plugin: FastifyPluginAsync<V1Options> = async (app, { engine, version, open, registry, closing, jwt }) => {
  // Passed on field by field: the registration options also carry `prefix`, which must not apply twice.
  const options: V1Options = { engine, version, open, registry, closing, jwt };
  await app.register(authPlugin, { store: engine.store, open, jwt, face: 'v1' });
  await app.register(jobRoutes, options);
  await app.register(shareRoutes, options);
  await app.register(accountRoutes, options);
  await app.register(resultRoutes, options);
  await app.register(executionRoutes, options);
  await app.register(systemRoutes, options);

  app.get('/openapi.json', { config: { auth: 'public' }, schema: { hide: true } }, async () => app.swagger());
};
