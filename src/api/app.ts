/**
 * The HTTP app: barge's own API under /v1, its OpenAPI document and docs page, and the web UI's
 * page at /. Built, not started: the caller listens (cli/assemble.ts) or tests do.
 *
 * Order matters: error handling, body parsers and metrics hooks are set on the root so every
 * route inherits them; swagger is registered before any route so it sees them all.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import rateLimit from '@fastify/rate-limit';
import { TooManyError } from '../core/errors.js';
import type { JwtVerifier } from './auth/jwt.js';
import type { Engine } from '../engine/engine.js';
import { registerJsonBodies, registerYamlBodies } from './content-types.js';
import { answerFrameworkError, registerErrorHandling } from './errors.js';
import { registerLoopbackOnly } from './loopback-only.js';
import { createMetrics, observeHttp } from './metrics.js';
import { registerUi } from './ui.js';
import { v1Plugin } from './v1/index.js';
import { torkOptions, torkPlugin, type TorkAppOptions } from './compat/tork/index.js';
import { scPlugin, type ScAppOptions } from './compat/siliconcompiler/index.js';
import { batchesPlugin, type BatchesAppOptions } from './compat/batches/index.js';
import { registerSlideRuleNotFound, slideRuleOptions, slideRulePlugin } from './compat/sliderule/index.js';
import { SRT_GUEST, srtPlugin } from './compat/srtslurm/index.js';

export interface AppDeps {
  engine: Engine;
  version: string;
  /** No tokens: every request is the admin. The CLI allows it on loopback addresses only. */
  open: boolean;
  /** Largest request body; more is a 413. (Default: 1 MiB) */
  bodyLimitBytes?: number;
  /**
   * true: log every request (pino, info level); false: log nothing. (Default: errors only, so a
   * 500's real cause is always somewhere.)
   */
  logger?: boolean;
  /** The process's own logger (src/cli/logging.ts), used instead of `logger`; requests are logged at its debug level only. */
  log?: FastifyBaseLogger;
  /** Serve Tork's API at the root (/jobs, /tasks, /health, …); `open` lets tokenless clients in. (Default: off) */
  tork?: TorkAppOptions;
  /** Serve SiliconCompiler's remote server API at the root (/remote_run/, …). (Default: off) */
  siliconcompiler?: ScAppOptions;
  /** Serve ET Engine's Batches API at the root and under /v1 (/tools, /batches, /filesystems). (Default: off) */
  batches?: BatchesAppOptions;
  /** Serve SlideRule Runner's API at the root (/submit, /report/jobs, /report/queue, /cancel). (Default: off) */
  sliderule?: boolean;
  /** Serve srtslurm's status API under /api; `open` lets tokenless reporters in as one ordinary user. (Default: off) */
  srtslurm?: { open: boolean };
  /** Verifies bearer JWTs for every face and issues barge's own. (Default: none, JWTs are refused) */
  jwt?: JwtVerifier;
  /** Requests per credential (per address when there is none) in a window; more get 429 with Retry-After. (Default: no limit) */
  rateLimit?: RateLimit;
}

export interface RateLimit {
  max: number;
  windowMs: number;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.log
      ? { loggerInstance: deps.log, logController: new LogController({ disableRequestLogging: !['debug', 'trace'].includes(deps.log.level) }) }
      : { logger: deps.logger === false ? false : { level: deps.logger ? 'info' : 'error', redact: ['req.headers.authorization'] } }),
    bodyLimit: deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT,
    frameworkErrors: answerFrameworkError,
    ajv: {
      customOptions: {
        // Report every problem at once, and refuse unknown fields instead of dropping them.
        allErrors: true,
        removeAdditional: false,
      },
    },
  });

  registerErrorHandling(app);
  // Without tokens, the Host and Origin checks are what keeps web pages out (DNS rebinding).
  if (deps.open || deps.tork?.open || deps.srtslurm?.open || deps.siliconcompiler?.open) registerLoopbackOnly(app);
  registerYamlBodies(app);
  registerJsonBodies(app);

  const metrics = createMetrics(deps.engine);
  observeHttp(app, metrics.registry);
  // Long polls (?wait) and log streams end when the app closes, or close() would wait for them.
  const closing = new AbortController();
  app.addHook('preClose', async () => closing.abort());
  app.addHook('onClose', async () => metrics.close());

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'barge',
        version: deps.version,
        description: "barge's own API, used by its CLI and web UI. See docs/api-v1.md.",
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  if (deps.rateLimit) await registerRateLimit(app, deps.rateLimit);
  await registerUi(app);
  registerJwks(app, deps.jwt);
  await app.register(v1Plugin, {
    prefix: '/v1',
    engine: deps.engine,
    version: deps.version,
    open: deps.open,
    registry: metrics.registry,
    closing: closing.signal,
    jwt: deps.jwt,
  });
  if (deps.tork) await app.register(torkPlugin, torkOptions({ ...deps, registry: metrics.registry }, deps.tork));
  if (deps.siliconcompiler) await app.register(scPlugin, { engine: deps.engine, version: deps.version, adminOpen: deps.open, sc: deps.siliconcompiler });
  if (deps.batches) await app.register(batchesPlugin, { engine: deps.engine, open: deps.open, jwt: deps.jwt, ...deps.batches });
  if (deps.sliderule) {
    const sliderule = slideRuleOptions(deps);
    registerSlideRuleNotFound(app, sliderule);
    await app.register(slideRulePlugin, sliderule);
  }
  if (deps.srtslurm) {
    await app.register(srtPlugin, { prefix: '/api', engine: deps.engine, open: deps.open, guest: deps.srtslurm.open ? SRT_GUEST : undefined, jwt: deps.jwt });
  }
  return app;
}

/**
 * Rate limits per credential. Counted in a preHandler, after each face's authentication (an
 * onRequest hook) has named the principal, so every token, key and JWT has its own budget; public
 * routes count per client address. The refusal is thrown as a TooManyError, so each face answers
 * 429 in its own error shape; the plugin adds Retry-After.
 */
async function registerRateLimit(app: FastifyInstance, limit: RateLimit): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    max: limit.max,
    timeWindow: limit.windowMs,
    hook: 'preHandler',
    keyGenerator: (request) => (request.principal ? `credential:${request.principal.credentialId}` : `address:${request.ip}`),
    errorResponseBuilder: (_request, context) =>
      new TooManyError(`rate limit exceeded: ${context.max} requests per ${context.after} for this credential; retry in ${Math.ceil(context.ttl / 1000)} s`),
  });
}

/** barge's own JWT signing keys, public, for anyone verifying the JWTs it issues. */
function registerJwks(app: FastifyInstance, jwt: JwtVerifier | undefined): void {
  app.get('/.well-known/jwks.json', { schema: { hide: true } }, async () => jwt?.jwks() ?? { keys: [] });
}
