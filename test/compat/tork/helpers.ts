/**
 * Tork's API under test: the real app (barge's /v1 plus the Tork plugin) listening on 127.0.0.1
 * over a real engine, SQLite store, worker, reaper, outbox dispatcher and scheduler. Image tasks
 * run as Tork's shell runtime runs them: the shell runtime, registered for the `container` kind
 * with `ignoreImage` (what `--image-policy=ignore` does).
 *
 * The engine's clock is the real time plus an offset the test may move (`advanceClock`), so a
 * cron schedule can be made due without waiting a minute.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { FolderArtifactStore } from '../../../src/artifacts/artifacts.js';
import { buildApp } from '../../../src/api/app.js';
import type { TorkGroup } from '../../../src/api/compat/tork/index.js';
import { createToken, createUser } from '../../../src/api/auth/index.js';
import type { JobRow } from '../../../src/core/model.js';
import { isFinal } from '../../../src/core/states.js';
import type { Clock } from '../../../src/engine/clock.js';
import { Engine } from '../../../src/engine/engine.js';
import { newId } from '../../../src/engine/ids.js';
import { OutboxDispatcher } from '../../../src/engine/outbox.js';
import { Reaper } from '../../../src/engine/reaper.js';
import { Scheduler } from '../../../src/engine/scheduler.js';
import { createLuaRuntime, createShellRuntime } from '../../../src/worker/runtimes/index.js';
import { engineSource } from '../../../src/worker/source.js';
import { Worker } from '../../../src/worker/worker.js';
import { makeTestStore, type TestStore } from '../../helpers/stores.js';

export interface TorkOptions {
  /** No tokens (`--tork-open`). (Default: true, as tork-web needs) */
  open?: boolean;
  /** Run a worker. (Default: true) */
  worker?: boolean;
  /**
   * Run the reaper. (Default: true) Off for fixtures written straight to the store, such as
   * RUNNING jobs without executions, which the reaper would settle as stranded.
   */
  reaper?: boolean;
  /** Tork's route group switches. */
  endpoints?: Partial<Record<TorkGroup, boolean>>;
}

export interface Answer {
  status: number;
  headers: Headers;
  /** The body exactly as sent. */
  text: string;
}

export interface TorkUnderTest {
  engine: Engine;
  scheduler: Scheduler;
  dispatcher: OutboxDispatcher;
  worker: Worker | null;
  db: TestStore;
  app: FastifyInstance;
  url: string;
  tokens: { admin: string; alice: string };
  /** Moves the engine's clock forward. */
  advanceClock(ms: number): void;
  /** A request with exact bytes back. `body` objects are sent as JSON with Tork's content type. */
  request(method: string, path: string, init?: { body?: unknown; headers?: Record<string, string> }): Promise<Answer>;
  /** request() and parse the body as JSON. */
  json<T = Record<string, unknown>>(method: string, path: string, init?: { body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: T }>;
  /** Submits YAML through POST /jobs and waits for the job to be final; returns GET /jobs/:id. */
  runYaml(yaml: string): Promise<TorkJob>;
  /** Polls GET /jobs/:id until `check` holds. */
  waitForJob(id: string, check: (job: TorkJob) => boolean, ms?: number): Promise<TorkJob>;
  close(): Promise<void>;
}

/** The parts of Tork's Job the tests read. */
export interface TorkJob {
  id: string;
  name: string;
  state: string;
  position: number;
  taskCount?: number;
  progress?: number;
  result?: string;
  error?: string;
  tasks: Array<Record<string, unknown>>;
  execution: TorkTask[];
  context: Record<string, unknown>;
  schedule?: { id: string; cron: string };
  [key: string]: unknown;
}

export interface TorkTask {
  id: string;
  jobId: string;
  parentId?: string;
  position?: number;
  name: string;
  state: string;
  result?: string;
  error?: string;
  retry?: { limit: number; attempts?: number };
  subjob?: { id?: string };
  [key: string]: unknown;
}

export async function startTork(options: TorkOptions = {}): Promise<TorkUnderTest> {
  const db = await makeTestStore('sqlite');
  let offsetMs = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
  const engine = new Engine({
    store: db.store,
    artifacts: new FolderArtifactStore(join(db.dir, 'artifacts')),
    clock,
    leaseMs: 5_000,
    retryBaseMs: 20,
    retryMaxMs: 200,
  });
  const shell = createShellRuntime({ killGraceMs: 500 });
  const imagesInShell = createShellRuntime({ killGraceMs: 500, ignoreImage: true });
  const worker =
    options.worker === false
      ? null
      : new Worker({
          source: engineSource(engine),
          artifacts: engine.artifacts,
          nodeId: newId(),
          name: 'worker',
          version: 'test',
          workRoot: join(db.dir, 'work'),
          runtimes: { shell, lua: createLuaRuntime({}), container: imagesInShell },
          cpus: 8,
          memoryMb: 8192,
          renewMs: 200,
          idlePollMs: 100,
          drainGraceMs: 2_000,
        });
  const reaper = new Reaper(engine, { nodeId: newId(), intervalMs: 200 });
  // The tests' webhook receivers listen on 127.0.0.1, which only an admin's opt-in allows.
  const dispatcher = new OutboxDispatcher({ store: db.store, clock, intervalMs: 100, retryPauseMs: 100, allowPrivateTargets: true });
  const scheduler = new Scheduler(engine);
  worker?.start();
  if (options.reaper !== false) reaper.start();
  dispatcher.start();

  const app = await buildApp({ engine, version: 'test', open: false, logger: false, tork: { open: options.open ?? true, scheduler, endpoints: options.endpoints } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address !== 'object') throw new Error('not listening');
  const url = `http://127.0.0.1:${address.port}`;

  const tokens = { admin: '', alice: '' };
  for (const name of ['admin', 'alice'] as const) {
    const user = await createUser(db.store, { name, role: name === 'admin' ? 'admin' : 'user' });
    tokens[name] = await createToken(db.store, user.id);
  }

  const request: TorkUnderTest['request'] = async (method, path, init = {}) => {
    const headers = { ...init.headers };
    // Bytes, not a string: fetch would add `text/plain` to a string body without a content type.
    let body: Blob | undefined;
    if (typeof init.body === 'string') body = new Blob([init.body]);
    else if (init.body !== undefined) {
      body = new Blob([JSON.stringify(init.body)]);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${url}${path}`, { method, headers, body });
    return { status: response.status, headers: response.headers, text: await response.text() };
  };

  const json: TorkUnderTest['json'] = async <T,>(method: string, path: string, init?: { body?: unknown; headers?: Record<string, string> }) => {
    const answer = await request(method, path, init);
    return { status: answer.status, body: (answer.text ? JSON.parse(answer.text) : null) as T };
  };

  const waitForJob: TorkUnderTest['waitForJob'] = async (id, check, ms = 30_000) => {
    const until = Date.now() + ms;
    for (;;) {
      const { status, body } = await json<TorkJob>('GET', `/jobs/${id}`);
      if (status !== 200) throw new Error(`GET /jobs/${id}: ${status} ${JSON.stringify(body)}`);
      if (check(body)) return body;
      if (Date.now() > until) throw new Error(`job ${id} still ${body.state} after ${ms} ms`);
      await sleep(50);
    }
  };

  return {
    engine,
    scheduler,
    dispatcher,
    worker,
    db,
    app,
    url,
    tokens,
    advanceClock: (ms) => {
      offsetMs += ms;
    },
    request,
    json,
    waitForJob,
    async runYaml(yaml) {
      const created = await json<{ id: string }>('POST', '/jobs', { body: yaml, headers: { 'content-type': 'text/yaml' } });
      if (created.status !== 200) throw new Error(`submit failed: ${created.status} ${JSON.stringify(created.body)}`);
      return waitForJob(created.body.id, (job) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(job.state));
    },
    async close() {
      if (app.server.listening) await app.close();
      await worker?.stop();
      await reaper.stop();
      await dispatcher.stop();
      await db.close();
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` holds or `ms` pass. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await sleep(50);
  }
}

/** A job row written straight to the store, as Tork's own API tests create jobs in the datastore. */
export function storedJob(overrides: Partial<JobRow> = {}): JobRow {
  const now = new Date().toISOString();
  return {
    id: newId(),
    name: 'stored job',
    description: null,
    // Tokenless callers under --tork-open are the guest: the tests read these jobs as it.
    owner: 'guest',
    origin: 'tork',
    tags: [],
    inputs: {},
    secrets: {},
    metadata: {},
    queue: 'default',
    priority: 0,
    spec: { name: overrides.name ?? 'stored job', tasks: [{ name: 'a task', run: 'true' }] },
    state: 'PENDING',
    progress: 0,
    result: null,
    error: null,
    vars: {},
    parentExecutionId: null,
    taskCount: 1,
    createdAt: now,
    startedAt: null,
    completedAt: null,
    failedAt: null,
    ...overrides,
  };
}

export function isFinalJob(job: JobRow): boolean {
  return isFinal(job.state);
}
