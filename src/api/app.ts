/**
 * The HTTP app: barge's own API under /v1, its OpenAPI document and docs page, and the web UI's
 * page at /. Built, not started: the caller listens (cli/assemble.ts) or tests do.
 *
 * Order matters: error handling, body parsers and metrics hooks are set on the root so every
 * route inherits them; swagger is registered before any route so it sees them all.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Engine } from '../engine/engine.js';
import { registerYamlBodies } from './content-types.js';
import { answerFrameworkError, registerErrorHandling } from './errors.js';
import { registerLoopbackOnly } from './loopback-only.js';
import { createMetrics, observeHttp } from './metrics.js';
import { registerUiPlaceholder } from './ui-placeholder.js';
import { v1Plugin } from './v1/index.js';
import { torkOptions, torkPlugin, type TorkAppOptions } from './compat/tork/index.js';

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
  /** Serve Tork's API at the root (/jobs, /tasks, /health, …); `open` lets tokenless clients in. (Default: off) */
  tork?: TorkAppOptions;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger === false ? false : { level: deps.logger ? 'info' : 'error', redact: ['req.headers.authorization'] },
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
  if (deps.open || deps.tork?.open) registerLoopbackOnly(app);
  registerYamlBodies(app);

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
  registerUiPlaceholder(app);
  await app.register(v1Plugin, {
    prefix: '/v1',
    engine: deps.engine,
    version: deps.version,
    open: deps.open,
    registry: metrics.registry,
    closing: closing.signal,
  });
  if (deps.tork) await app.register(torkPlugin, torkOptions({ ...deps, registry: metrics.registry }, deps.tork));
  return app;
}
