/**
 * SlideRule Runner's API (v5.4.2 and the revisions after it under the same label; contract in
 * shared/reference/sliderule-runner.md) over barge's engine, so the SlideRule Python client's
 * `session.runner` calls and `srcli.py` work against barge. Four routes at the root —
 * `POST /submit`, `/report/jobs`, `/report/queue`, `/cancel` — each behind the runner's checks in
 * its order (gate.ts): a JWT for audience `runner`, the Ed25519 request signature, membership.
 * Bodies are read as text whatever the Content-Type (the client sends none) and parsed as JSON
 * after the signature is checked over the raw text; a `null` or empty body is `{}`.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Engine } from '../../../engine/engine.js';
import type { Principal } from '../../auth/index.js';
import type { JwtVerifier } from '../../auth/jwt.js';
import { cancel } from './cancel.js';
import { accessDenied, badRequest, pathNotFound, registerSlideRuleErrors, sendBody, sendError } from './errors.js';
import { admit, type GateOptions } from './gate.js';
import { LateCancels } from './late-cancels.js';
import { readQueueQuery, reportJobs, reportQueue } from './reports.js';
import { ResultWriter } from './run-folder.js';
import { ReplayGuard } from './signature.js';
import { readSubmit, submit } from './submit.js';

export { SLIDERULE_ORIGIN } from './ids.js';

export interface SlideRulePluginOptions extends Record<string, unknown> {
  engine: Engine;
  /** Written into each run's receipt.json as its `environment`. */
  version: string;
  /** Verifies the bearer JWTs (face `sliderule`, audience `runner` unless configured). */
  jwt?: JwtVerifier;
  /** Signatures seen, shared by the routes and the unknown-path answer. */
  replays: ReplayGuard;
}

/** The options for both registrations, from what buildApp has. */
export function slideRuleOptions(deps: { engine: Engine; version: string; jwt?: JwtVerifier }): SlideRulePluginOptions {
  return { engine: deps.engine, version: deps.version, jwt: deps.jwt, replays: new ReplayGuard() };
}

/** Lambda's request payload limit; a 10,000-element submit is far below it. */
export const SLIDERULE_BODY_LIMIT = 6 * 1024 * 1024;

type Handler = (principal: Principal, body: Record<string, unknown>) => Promise<unknown>;

export const slideRulePlugin: FastifyPluginAsync<SlideRulePluginOptions> = async (app, options) => {
  const { engine } = options;
  registerSlideRuleErrors(app);
  readBodiesAsText(app);
  const gate: GateOptions = { store: engine.store, jwt: options.jwt, replays: options.replays };
  const writer = new ResultWriter(engine);
  const late = new LateCancels(engine);
  writer.start();
  late.start();
  app.addHook('onClose', async () => {
    late.close();
    await writer.stop();
  });

  const routes: Array<[path: string, handler: Handler]> = [
    ['/submit', async (principal, body) => {
      if (principal.role === 'viewer') throw accessDenied('the viewer role is read-only: submit is refused');
      return submit(engine, principal, readSubmit(body), options.version);
    }],
    ['/report/jobs', (principal, body) => reportJobs(engine.store, principal, body)],
    ['/report/queue', (principal, body) => reportQueue(engine.store, principal, readQueueQuery(body))],
    ['/cancel', (principal, body) => cancel(engine, principal, body, late)],
  ];
  for (const [path, handler] of routes) {
    app.post(path, { schema: { hide: true }, config: { auth: 'public' } }, async (request, reply) => {
      const text = rawBody(request);
      const principal = await admit(gate, request, text);
      return sendBody(reply, 200, await handler(principal, parseBody(text)));
    });
  }
};

/**
 * The runner answers any other POST path with 404 `{"error":"not found"}` once the JWT, signature
 * and membership checks pass. At barge's root other paths belong to other APIs, so only a request
 * that carries SlideRule's signing headers gets this answer; others get the app's own 404.
 */
export function registerSlideRuleNotFound(app: FastifyInstance, options: SlideRulePluginOptions): void {
  const gate: GateOptions = { store: options.engine.store, jwt: options.jwt, replays: options.replays };
  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.is404 || request.method !== 'POST' || !carriesSignature(request)) return;
    try {
      await admit(gate, request, typeof request.body === 'string' ? request.body : '');
      throw pathNotFound();
    } catch (error) {
      return sendError(request, reply, error);
    }
  });
}

function carriesSignature(request: FastifyRequest): boolean {
  return request.headers['x-sliderule-signature'] !== undefined || request.headers['x-sliderule-timestamp'] !== undefined;
}

function readBodiesAsText(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: SLIDERULE_BODY_LIMIT }, (_request, body, done) => done(null, body));
}

/** The body exactly as sent; an absent one is the empty string (§11 #5). */
function rawBody(request: FastifyRequest): string {
  return typeof request.body === 'string' ? request.body : '';
}

/** JSON after the signature check (§11 #4); `null` or nothing is `{}` (§11 #2). */
function parseBody(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badRequest('the body is not valid JSON');
  }
  if (body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('the body must be a JSON object');
  return body as Record<string, unknown>;
}
