/**
 * Tork's REST API (runabol/tork 0.1.153; contract in shared/reference/tork.md) over barge's
 * engine, so tork-web, curl scripts and Tork clients work unchanged. Routes live at the root
 * (`/jobs`, `/tasks/:id`, `/health`, …), one prefixed plugin per Tork route group, each with
 * Tork's 404 for unknown paths under it and 405 for known paths with another method. The whole
 * plugin has Tork's error body (`{"message":"…"}` and a newline) and reads every body as text so
 * it can decode it strictly with Go's messages; none of this leaks into barge's /v1.
 *
 * Authentication: Tork has none. `auth: 'token'` puts barge's bearer tokens in front (the same
 * check as /v1, with echo's key-auth answers for a missing or malformed header); `auth: 'guest'`
 * (`--tork-open`) lets tokenless clients such as tork-web in as one ordinary user, the guest, and
 * honours a token when one is sent; `auth: 'open'` (`--open`) makes every caller the admin. The
 * CLI allows both tokenless modes on loopback addresses only, and the app then checks Host and
 * Origin (loopback-only.ts). `GET /health` is always public.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import type { Engine } from '../../../engine/engine.js';
import { Scheduler } from '../../../engine/scheduler.js';
import { authPlugin } from '../../auth/index.js';
import type { JwtVerifier } from '../../auth/jwt.js';
import type { TorkContext } from './context.js';
import { badRequest, registerTorkErrors, torkNotFound } from './errors.js';
import { jobRoutes } from './routes/jobs.js';
import { scheduledJobRoutes } from './routes/scheduled.js';
import { healthRoutes, metricsRoutes, nodeRoutes, queueRoutes } from './routes/system.js';
import { taskRoutes } from './routes/tasks.js';
import { userRoutes } from './routes/users.js';
import { registerTorkWebhooks } from './webhooks.js';

export { registerTorkWebhooks } from './webhooks.js';

export interface TorkPluginOptions extends Record<string, unknown> {
  engine: Engine;
  scheduler: Scheduler;
  /** Reported by `GET /health`. */
  version: string;
  auth: 'token' | 'guest' | 'open';
  /** Who tokenless callers are under `auth: 'guest'`. (Default: guest, as in Tork) */
  guest?: string;
  /** Verifies bearer JWTs (audience of face 'tork'). */
  jwt?: JwtVerifier;
  /** barge's Prometheus registry: `GET /metrics` answers Prometheus text to clients that ask for it. */
  registry?: Registry;
  /**
   * Tork's `coordinator.api.endpoints.<group>` switches: a group set to false answers 404 on all
   * its paths. An absent group is on. (Default: all on)
   */
  endpoints?: Partial<Record<TorkGroup, boolean>>;
}

/** Tork's route groups; `/scheduled-jobs` belongs to `jobs`. */
export type TorkGroup = 'health' | 'tasks' | 'queues' | 'nodes' | 'jobs' | 'metrics' | 'users';

/** Tork's `middleware.web.bodylimit` default, 500K. */
export const TORK_BODY_LIMIT = 500 * 1024;

type Routes = (app: FastifyInstance, context: TorkContext) => Promise<void>;

const GROUPS: Array<[prefix: string, group: TorkGroup, routes: Routes]> = [
  ['/health', 'health', healthRoutes],
  ['/tasks', 'tasks', taskRoutes],
  ['/queues', 'queues', queueRoutes],
  ['/nodes', 'nodes', nodeRoutes],
  ['/jobs', 'jobs', jobRoutes],
  ['/scheduled-jobs', 'jobs', scheduledJobRoutes],
  ['/metrics', 'metrics', metricsRoutes],
  ['/users', 'users', userRoutes],
];

export const torkPlugin: FastifyPluginAsync<TorkPluginOptions> = async (app, options) => {
  registerTorkWebhooks();
  registerTorkErrors(app);
  readBodiesAsText(app);
  if (options.auth === 'token') requireKeyHeader(app);
  await app.register(authPlugin, {
    store: options.engine.store,
    open: options.auth === 'open',
    guest: options.auth === 'guest' ? (options.guest ?? TORK_GUEST) : undefined,
    jwt: options.jwt,
    face: 'tork',
  });

  const closing = new AbortController();
  app.addHook('preClose', async () => closing.abort());
  const context: TorkContext = {
    engine: options.engine,
    scheduler: options.scheduler,
    version: options.version,
    registry: options.registry,
    closing: closing.signal,
  };
  for (const [prefix, group, routes] of GROUPS) {
    const enabled = options.endpoints?.[group] !== false;
    await app.register(
      async (instance) => {
        // A switched-off group keeps its prefix so its paths get Tork's 404, not barge's.
        instance.setNotFoundHandler(torkNotFound);
        if (enabled) await routes(instance, context);
      },
      { prefix },
    );
  }
};

/**
 * Every body arrives as text, whatever its Content-Type: the routes decode it themselves, so a
 * missing or unknown type gets Tork's 400 rather than Fastify's 415.
 */
function readBodiesAsText(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: TORK_BODY_LIMIT }, (_request, body, done) => done(null, body));
}

/**
 * echo's key auth answers a missing header, or one without the `Bearer ` prefix, with a 400
 * before it looks at the key (§9.2); a wrong key is barge's token check's 401.
 */
function requireKeyHeader(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    if (request.is404 || request.routeOptions.config.auth === 'public') return;
    const header = request.headers.authorization;
    if (header === undefined || header === '') throw badRequest('missing key in request header');
    if (!/^bearer /i.test(header)) throw badRequest('invalid key in the request header');
  });
}

/** Tork's anonymous user (its `guest`), who tokenless callers are under `--tork-open`. */
export const TORK_GUEST = 'guest';

export interface TorkAppOptions {
  /** Let tokenless clients in as the guest, an ordinary user (loopback addresses only; the CLI checks). */
  open: boolean;
  /** The guest's user name. (Default: guest) */
  guest?: string;
  /** The process's scheduler; a plain one over the engine is made when absent (it fires nothing until started). */
  scheduler?: Scheduler;
  /** Route groups switched off (Tork's `coordinator.api.endpoints`). (Default: all on) */
  endpoints?: Partial<Record<TorkGroup, boolean>>;
}

/** The plugin's options from what buildApp has: one line there registers Tork's API. */
export function torkOptions(
  deps: { engine: Engine; version: string; open: boolean; registry?: Registry; jwt?: JwtVerifier },
  tork: TorkAppOptions,
): TorkPluginOptions {
  return {
    engine: deps.engine,
    scheduler: tork.scheduler ?? new Scheduler(deps.engine),
    version: deps.version,
    auth: deps.open ? 'open' : tork.open ? 'guest' : 'token',
    guest: tork.guest,
    registry: deps.registry,
    endpoints: tork.endpoints,
    jwt: deps.jwt,
  };
}
