/**
 * ET Engine's Batches API (exploretech-ai/et-engine-python; contract in shared/reference/batches.md)
 * over barge's engine, so the `et_engine` SDK and curl users of the Batches pages work unchanged:
 * tools, batches, their status, jobs and filesystems. Every route is served at the root (the
 * published server) and under `/v1` (the SDK's default base path); barge's own /v1 gives
 * /v1/tools, /v1/batches and /v1/filesystems no other meaning.
 *
 * The SDK's habits shape the plugin: every request carries a raw JSON string with no Content-Type
 * (`{}` on GET and DELETE), so bodies are read as text whatever their type and parsed only where a
 * route needs one; errors are plain text with the original's texts; every answer carries the
 * original's CORS headers and `OPTIONS` needs no credentials.
 *
 * Authentication (§6, §9 #16): the Authorization header is a barge API key or token, raw (as the
 * SDK sends `ET_ENGINE_API_KEY`) or as `Bearer <key>`, or `Bearer <jwt>` for the audience of face
 * `batches`; barge's auth plugin then applies the accounts model (roles, disabled users, expiry).
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Engine } from '../../../engine/engine.js';
import { authPlugin } from '../../auth/index.js';
import type { JwtVerifier } from '../../auth/jwt.js';
import type { BatchesContext } from './context.js';
import { BatchesError, MISSING_HEADER, registerBatchesErrors } from './errors.js';
import { batchRoutes } from './routes/batches.js';
import { filesystemRoutes, toolRoutes } from './routes/registry.js';

export interface BatchesPluginOptions extends Record<string, unknown> {
  engine: Engine;
  /** Every request is the admin (`--open`, loopback only). */
  open: boolean;
  jwt?: JwtVerifier;
  /** Where filesystems get their folders. */
  filesystemsRoot: string;
}

export interface BatchesAppOptions {
  /** Where filesystems made through the API get their folders (e.g. `<data>/filesystems`). */
  filesystemsRoot: string;
}

/** Requests may carry this much JSON (a batch of many elements). */
export const BATCHES_BODY_LIMIT = 1024 * 1024;

/** The face at both base paths. */
export const batchesPlugin: FastifyPluginAsync<BatchesPluginOptions> = async (app, options) => {
  for (const prefix of ['', '/v1']) {
    await app.register(batchesFace, { ...pick(options), prefix });
  }
};

function pick(options: BatchesPluginOptions): BatchesPluginOptions {
  return { engine: options.engine, open: options.open, jwt: options.jwt, filesystemsRoot: options.filesystemsRoot };
}

const batchesFace: FastifyPluginAsync<BatchesPluginOptions> = async (app, options) => {
  registerBatchesErrors(app);
  readBodiesAsText(app);
  registerCors(app);
  app.decorateRequest('batchesScheme', null);
  if (!options.open) acceptRawKeys(app);
  await app.register(authPlugin, { store: options.engine.store, open: options.open, jwt: options.jwt, face: 'batches' });

  const context: BatchesContext = { engine: options.engine, filesystemsRoot: options.filesystemsRoot };
  await toolRoutes(app, context);
  await filesystemRoutes(app, context);
  await batchRoutes(app, context);
};

/**
 * §6: the header is the API key itself; `Bearer <token>` is a JWT (or, in barge, a key too). The
 * raw form is rewritten to `Bearer <key>` for barge's auth plugin, whose hook runs after this one.
 */
function acceptRawKeys(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    if (request.is404 || request.routeOptions.config.auth === 'public') return;
    const header = request.headers.authorization?.trim();
    if (!header) throw new BatchesError(401, MISSING_HEADER);
    const bearer = /^Bearer\s+(\S+)$/i.exec(header);
    const secret = bearer ? bearer[1] : header;
    request.batchesScheme = bearer && looksLikeJwt(secret) ? 'jwt' : 'key';
    request.headers.authorization = `Bearer ${secret}`;
  });
}

function looksLikeJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);
}

/** Every body arrives as text, whatever its Content-Type (the SDK sends none). */
function readBodiesAsText(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BATCHES_BODY_LIMIT }, (_request, body, done) => done(null, body));
}

/** The original's CORS headers on every answer, and `OPTIONS` on any path without credentials (§1). */
function registerCors(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('access-control-allow-origin', '*');
    reply.header('access-control-allow-headers', 'Content-Type, Authorization, Content-Range');
    reply.header('access-control-allow-methods', 'GET, PUT, POST, DELETE, OPTIONS');
    return payload;
  });
  for (const base of ['/tools', '/batches', '/filesystems']) {
    for (const url of [base, `${base}/*`]) {
      app.options(url, { config: { auth: 'public' } }, async (_request, reply) => reply.code(200).send());
    }
  }
}
