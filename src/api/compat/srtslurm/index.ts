/**
 * srtslurm's status API (NVIDIA/srt-slurm; contract in shared/reference/srtslurm-status.md): the
 * collector that srtctl's StatusReporter posts to, so barge records jobs run on SLURM clusters
 * and serves their history. Routes live under `/api` with the reference collector's error body
 * (`{"detail": …}`), its headers, its trailing-slash tolerance and its 404 for unknown paths;
 * none of this leaks into barge's /v1.
 *
 * Each reported job is a barge job of origin `srtslurm` (engine/outside-jobs.ts): listed in /v1
 * and the CLI beside barge's own, never run by barge, its srtslurm record kept verbatim.
 * Visibility: like the reference collector, whose read token reads every job, any authenticated
 * caller of this face reads every srtslurm job; only its owner (or an admin) may change one.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyError } from 'fastify';
import { BargeError, TooManyError } from '../../../core/errors.js';
import type { Engine } from '../../../engine/engine.js';
import { OutsideJobs } from '../../../engine/outside-jobs.js';
import type { JwtVerifier } from '../../auth/jwt.js';
import { registerSrtAuth, SRT_BODY_LIMIT } from './auth.js';
import { srtRoutes } from './routes.js';
import { SrtError } from './wire.js';

export { SRT_ORIGIN } from './rules.js';

export interface SrtPluginOptions extends Record<string, unknown> {
  engine: Engine;
  /** Every caller is the admin (barge's `--open`). */
  open: boolean;
  /** Tokenless callers are this ordinary user (`--srt-open`); a sent token is honoured. (Default: a token is needed) */
  guest?: string;
  jwt?: JwtVerifier;
}

/** Who tokenless callers are under `--srt-open`. */
export const SRT_GUEST = 'srtslurm';

export const srtPlugin: FastifyPluginAsync<SrtPluginOptions> = async (app, options) => {
  registerSrtErrors(app);
  readBodiesAsText(app);
  noStore(app);
  await registerSrtAuth(app, { store: options.engine.store, open: options.open, guest: options.guest, jwt: options.jwt });
  app.setNotFoundHandler((request, reply) => send(reply, 404, { detail: `No route for ${request.method} ${request.url.split('?')[0]}` }));
  await srtRoutes(app, { engine: options.engine, jobs: new OutsideJobs(options.engine) });
};

/** The routes parse JSON themselves, so bad JSON is the reference's 400 (after authentication), not Fastify's. */
function readBodiesAsText(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: SRT_BODY_LIMIT }, (_request, body, done) => done(null, body));
}

/** The reference collector's headers on every answer. */
function noStore(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
    return payload;
  });
}

function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).type('application/json').send(JSON.stringify(body));
}

function registerSrtErrors(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof SrtError) {
      for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
      return send(reply, error.status, { detail: error.detail });
    }
    if (error instanceof TooManyError) {
      if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
      return send(reply, 429, { detail: error.message });
    }
    if (error instanceof BargeError && error.code === 'BARGE_E_UNAUTHORIZED') {
      return send(reply.header('www-authenticate', 'Bearer error="invalid_token"'), 401, { detail: 'Invalid bearer token' });
    }
    const status = (error as Partial<FastifyError>).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return send(reply, status, { detail: (error as Error).message });
    }
    // The cause goes to the log only: a driver message never reaches the client.
    request.log.error({ err: error }, 'srtslurm request failed');
    return send(reply, 500, { detail: 'Internal Server Error' });
  });
}
