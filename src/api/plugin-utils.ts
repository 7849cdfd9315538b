/**
 * Small helpers for writing Fastify plugins without the `fastify-plugin` package (not a direct
 * dependency): a plugin marked `shared` adds its hooks and decorators to the instance that
 * registers it instead of to an encapsulated child, which is exactly what fastify-plugin does.
 */
import type { FastifyPluginAsync } from 'fastify';

export function shared<Options extends Record<string, unknown>>(
  name: string,
  plugin: FastifyPluginAsync<Options>,
): FastifyPluginAsync<Options> {
  const marked = plugin as FastifyPluginAsync<Options> & Record<symbol, unknown>;
  marked[Symbol.for('skip-override')] = true;
  marked[Symbol.for('fastify.display-name')] = name;
  return marked;
}
