/**
 * bench/queue: no-op tasks per second — queueing alone, no process started — through barge's
 * engine and a real worker with the `noop` runtime, on SQLite and on PostgreSQL, against BullMQ on
 * a `redis-server` this bench starts on loopback, and graphile-worker on the same PostgreSQL
 * cluster as barge, in the same run. Every side runs the same number of jobs at the same
 * concurrency and is timed from the first enqueue to the last completion.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createNoopRuntime } from '../src/worker/runtimes/noop.js';
import { freePort } from '../test/helpers/barge-process.js';
import { timeArrayThroughEngine } from './engine-array.js';

const require = createRequire(import.meta.url);

export interface Throughput {
  name: string;
  perSecond: number;
}

/** barge's engine with the noop runtime: `items` no-op tasks at `concurrency`, per second. */
export async function bargeNoop(items: number, concurrency: number, storeUrl?: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'barge-bench-noop-'));
  try {
    const ms = await timeArrayThroughEngine({
      dir,
      name: 'noop',
      items,
      concurrency,
      task: { name: 'noop', run: 'true' },
      runtimes: { shell: createNoopRuntime() },
      storeUrl,
    });
    return (items * 1000) / ms;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function packageVersion(name: string): string {
  return (require(`${name}/package.json`) as { version: string }).version;
}

/** A redis-server on loopback with no persistence, for as long as `use` runs. */
async function withRedis<T>(use: (port: number) => Promise<T>): Promise<T> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'barge-bench-redis-'));
  const server: ChildProcess = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
  try {
    for (let tries = 0; ; tries += 1) {
      if (spawnSync('redis-cli', ['-p', String(port), 'ping']).stdout?.toString().trim() === 'PONG') break;
      if (tries > 100) throw new Error('redis-server did not start');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return await use(port);
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

export function redisVersion(): string {
  const text = spawnSync('redis-server', ['--version']).stdout?.toString() ?? '';
  return /v=(\S+)/.exec(text)?.[1] ?? 'unknown';
}

/** BullMQ: `items` no-op jobs added in bulk, a worker at `concurrency`, per second. */
export async function bullmqNoop(items: number, concurrency: number): Promise<number> {
  // BullMQ 6 leaves its Redis client, ioredis, optional; without it every connection fails, over and over.
  try {
    require.resolve('ioredis');
  } catch {
    throw new Error('ioredis, the Redis client BullMQ needs, is not installed');
  }
  const { Queue, Worker, QueueEvents } = await import('bullmq');
  return withRedis(async (port) => {
    const connection = { host: '127.0.0.1', port };
    const queue = new Queue('bench', { connection });
    const events = new QueueEvents('bench', { connection });
    let done = 0;
    let finished: () => void = () => undefined;
    const allDone = new Promise<void>((resolve) => (finished = resolve));
    const began = performance.now();
    const worker = new Worker('bench', async () => undefined, { connection, concurrency, autorun: true });
    worker.on('completed', () => {
      done += 1;
      if (done === items) finished();
    });
    for (let first = 0; first < items; first += 1000) {
      const count = Math.min(1000, items - first);
      await queue.addBulk(Array.from({ length: count }, (_, i) => ({ name: 'noop', data: { i: first + i }, opts: { removeOnComplete: true } })));
    }
    await allDone;
    const ms = performance.now() - began;
    await worker.close();
    await events.close();
    await queue.close();
    return (items * 1000) / ms;
  });
}

/** graphile-worker on `serverUrl` (a fresh database): no-op jobs, per second; `batched` uses its local queue and batched completions. */
export async function graphileNoop(serverUrl: string, items: number, concurrency: number, batched: boolean): Promise<number> {
  const { run, makeWorkerUtils } = await import('graphile-worker');
  const connectionString = await freshDatabase(serverUrl, `graphile_${batched ? 'batched' : 'default'}`);
  const utils = await makeWorkerUtils({ connectionString });
  await utils.migrate();
  let done = 0;
  let finished: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const began = performance.now();
  const runner = await run({
    connectionString,
    concurrency,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: quietGraphileLogger(await import('graphile-worker')),
    ...(batched ? { preset: { worker: { localQueue: { size: concurrency * 4 }, completeJobBatchDelay: 0 } } } : {}),
    taskList: {
      noop: async () => {
        done += 1;
        if (done === items) finished();
      },
    },
  });
  for (let first = 0; first < items; first += 1000) {
    const count = Math.min(1000, items - first);
    await utils.addJobs(Array.from({ length: count }, (_, i) => ({ identifier: 'noop', payload: { i: first + i } })));
  }
  await allDone;
  const ms = performance.now() - began;
  await runner.stop();
  await utils.release();
  return (items * 1000) / ms;
}

function quietGraphileLogger(module: typeof import('graphile-worker')): InstanceType<typeof module.Logger> {
  return new module.Logger(() => () => undefined);
}

/** Creates database `name` on the cluster (dropping an older one) and answers its URL. */
export async function freshDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name}`);
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function postgresVersion(serverUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version ?? 'unknown';
  } finally {
    await client.end();
  }
}
