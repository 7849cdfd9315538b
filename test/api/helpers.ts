/**
 * An API under test: the real app listening on 127.0.0.1 over a real engine, worker and SQLite
 * store, with three users (admin, alice, bob) and their tokens, and a small fetch wrapper.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../../src/api/app.js';
import { createToken, createUser } from '../../src/api/auth/index.js';
import type { JwtVerifier } from '../../src/api/auth/jwt.js';
import type { Store } from '../../src/store/store.js';
import type { JobRow } from '../../src/core/model.js';
import { isFinal } from '../../src/core/states.js';
import { makeEngine, type EngineBundle } from '../helpers/engine.js';
import type { StoreKind } from '../helpers/stores.js';

export interface ApiUnderTest {
  bundle: EngineBundle;
  app: FastifyInstance;
  url: string;
  tokens: { admin: string; alice: string; bob: string };
  /** fetch against the app; `as` picks a user's token (default alice), `as: null` sends none. */
  call(path: string, init?: CallInit): Promise<Response>;
  /** call() and parse the JSON answer. */
  json<T = ErrorAnswer>(path: string, init?: CallInit): Promise<{ status: number; body: T; headers: Headers }>;
  /** Submits a spec over HTTP as alice (or `as`) and waits for the job to be final. */
  runJob(spec: unknown, as?: User): Promise<JobRow>;
  close(): Promise<void>;
}

export type User = 'admin' | 'alice' | 'bob';

export interface ErrorAnswer {
  error: string;
  message: string;
  details?: Array<{ path: string; message: string }>;
}

export type { ExecutionBody, JobBody, LogLineBody, EventBody } from '../../src/api/v1/schemas.js';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface CallInit extends Omit<RequestInit, 'body'> {
  as?: User | null;
  /** An object is sent as JSON; a string as is (set content-type yourself). */
  body?: unknown;
}

export interface ApiOptions extends Partial<Pick<AppDeps, 'open' | 'bodyLimitBytes' | 'tork' | 'srtslurm' | 'rateLimit' | 'batches'>> {
  /** Builds the JWT verifier over the test's store. (Default: none, JWTs are refused) */
  jwt?: (store: Store) => JwtVerifier;
  /** Which store the engine runs on. (Default: sqlite) */
  store?: StoreKind;
}

export async function startApi(options: ApiOptions = {}): Promise<ApiUnderTest> {
  const { jwt, store: kind = 'sqlite', ...deps } = options;
  const bundle = await makeEngine(kind);
  // Quiet: the deliberate 500 in errors.test.ts would print its stack.
  const app = await buildApp({
    engine: bundle.engine,
    version: 'test',
    open: options.open ?? false,
    logger: false,
    ...deps,
    jwt: jwt?.(bundle.engine.store),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address !== 'object') throw new Error('not listening');
  const url = `http://127.0.0.1:${address.port}`;

  const { store } = bundle.engine;
  const tokens = { admin: '', alice: '', bob: '' };
  for (const name of ['admin', 'alice', 'bob'] as const) {
    const user = await createUser(store, { name, role: name === 'admin' ? 'admin' : 'user' });
    tokens[name] = await createToken(store, user.id);
  }

  const call = (path: string, init: CallInit = {}): Promise<Response> => {
    const { as = 'alice', body, headers, ...rest } = init;
    const merged = new Headers(headers);
    if (as !== null && !merged.has('authorization')) merged.set('authorization', `Bearer ${tokens[as]}`);
    let payload: BodyInit | undefined;
    if (typeof body === 'string' || body instanceof Uint8Array) payload = body as BodyInit;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      if (!merged.has('content-type')) merged.set('content-type', 'application/json');
    }
    return fetch(`${url}${path}`, { ...rest, headers: merged, body: payload });
  };

  const json = async <T = ErrorAnswer,>(path: string, init?: CallInit) => {
    const response = await call(path, init);
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T, headers: response.headers };
  };

  return {
    bundle,
    app,
    url,
    tokens,
    call,
    json,
    async runJob(spec, as = 'alice') {
      const created = await json<{ id: string }>('/v1/jobs', { method: 'POST', body: spec, as });
      if (created.status !== 201) throw new Error(`submit failed: ${created.status} ${JSON.stringify(created.body)}`);
      const done = await bundle.engine.waitForJob(created.body.id, 30_000);
      if (!isFinal(done.state)) throw new Error(`job ${done.id} still ${done.state}`);
      return done;
    },
    async close() {
      // A test may have closed the app already.
      if (app.server.listening) await app.close();
      await bundle.stop();
    },
  };
}

/** Polls until `check` holds or `ms` pass. */
export async function waitFor(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const hello = (name = 'hello'): Record<string, unknown> => ({
  name,
  tasks: [{ name: 'say', run: 'echo hello' }],
});
