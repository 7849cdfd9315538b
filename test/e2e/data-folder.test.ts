/**
 * The data folder at rest and in use (issue 7, "Secrets and files at rest", "One process per data
 * folder"): the folder is 0700 and the database, its WAL and SHM and the artifacts 0600, tightened
 * at start; a second `barge up` or `barge worker` on a folder in use exits non-zero naming the live
 * one's pid and address and takes nothing from it (a `barge server`, which runs no work, may share
 * it); every process is its own node. Real processes.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { api, freePort, startBarge, type BargeProcess } from '../helpers/barge-process.js';
import { freshPgUrl, pgAvailable } from '../helpers/pg.js';
import { storeKinds } from '../helpers/stores.js';

interface ExecutionBody {
  id: string;
  state: string;
  attempt: number;
  nodeId: string | null;
  reason: string | null;
  parentId: string | null;
}

const modeOf = (path: string): number => statSync(path).mode & 0o777;

/** Runs barge to its exit (it is expected to refuse), with its output. */
function runToExit(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/barge.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function executionsOf(url: string, jobId: string): Promise<ExecutionBody[]> {
  const page = await api<{ items: ExecutionBody[] }>(url, `/v1/jobs/${jobId}/executions?limit=100`);
  return page.body.items;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the data folder', () => {
  const root = mkdtempSync(join(tmpdir(), 'barge-folder-'));
  const running: BargeProcess[] = [];
  afterAll(async () => {
    for (const barge of running) await barge.stop('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('keeps the folder 0700 and the database, WAL, SHM and artifacts 0600, tightening old ones', { timeout: 120_000 }, async () => {
    const data = join(root, 'modes');
    mkdirSync(data, { mode: 0o755 });
    chmodSync(data, 0o755);
    const args = ['up', '--data', data, '--open', '--isolation', 'none'];
    const first = await startBarge(args);
    running.push(first);
    const created = await api<{ id: string }>(first.url, '/v1/jobs', {
      method: 'POST',
      body: JSON.stringify({ name: 'files', tasks: [{ name: 'out', run: 'mkdir -p outputs/sub && echo hi > outputs/sub/a.txt' }] }),
    });
    expect(created.status).toBe(201);
    await until('job done', async () => {
      const { body } = await api<{ state: string }>(first.url, `/v1/jobs/${created.body.id}`);
      return body.state === 'SUCCEEDED' ? true : undefined;
    });

    const check = (): void => {
      expect(modeOf(data)).toBe(0o700);
      for (const file of ['barge.db', 'barge.db-wal', 'barge.db-shm', 'barge.lock', 'barge.pid', 'node.id']) {
        expect(modeOf(join(data, file)), file).toBe(0o600);
      }
      const jobFolder = join(data, 'artifacts', created.body.id);
      const [executionFolder] = readdirSync(jobFolder);
      for (const folder of [jobFolder, join(jobFolder, executionFolder), join(jobFolder, executionFolder, 'sub')]) {
        expect(modeOf(folder), folder).toBe(0o700);
      }
      expect(modeOf(join(jobFolder, executionFolder, 'sub', 'a.txt'))).toBe(0o600);
    };
    check();

    // Files left by an older barge (0755 folder, 0644 database) are tightened at the next start.
    await first.stop();
    chmodSync(data, 0o755);
    for (const file of ['barge.db', 'barge.db-wal', 'barge.db-shm']) if (existsSync(join(data, file))) chmodSync(join(data, file), 0o644);
    const second = await startBarge(args);
    running.push(second);
    expect(modeOf(data)).toBe(0o700);
    expect(modeOf(join(data, 'barge.db'))).toBe(0o600);
    await second.stop();
  });

  it.each(storeKinds.filter((kind) => kind === 'sqlite' || pgAvailable()))('refuses a second barge up or worker on a folder in use, taking nothing from the live one (%s)', { timeout: 120_000 }, async (kind) => {
    const data = join(root, `locked-${kind}`);
    const db = kind === 'postgres' ? ['--db', await freshPgUrl()] : [];
    const live = await startBarge(['up', ...db, '--data', data, '--open', '--isolation', 'none']);
    running.push(live);
    const created = await api<{ id: string }>(live.url, '/v1/jobs', {
      method: 'POST',
      body: JSON.stringify({ name: 'long', tasks: [{ name: 'sleep', run: 'sleep 60' }] }),
    });
    const before = await until('execution running', async () => {
      const [execution] = await executionsOf(live.url, created.body.id);
      return execution?.state === 'RUNNING' ? execution : undefined;
    });
    const liveNode = readFileSync(join(data, 'node.id'), 'utf8').trim();
    expect(before.nodeId).toBe(liveNode);

    // Another port, so only the lock can stop it (not EADDRINUSE).
    const second = await runToExit(['up', ...db, '--data', data, '--open', '--isolation', 'none', '--port', String(await freePort())]);
    expect(second.code).not.toBe(0);
    expect(second.output).toContain(`pid ${live.child.pid}`);
    expect(second.output).toContain(live.url);
    expect(second.output).toMatch(/data folder .* is in use by barge up/);

    const worker = await runToExit(['worker', ...db, '--data', data, '--isolation', 'none']);
    expect(worker.code).not.toBe(0);
    expect(worker.output).toContain(`pid ${live.child.pid}`);

    // A server runs no work and hands nothing back: it may share the folder (and its artifacts).
    const server = await startBarge(['server', ...db, '--data', data, '--open']);
    running.push(server);
    expect((await api(server.url, '/v1/health')).status).toBe(200);
    expect(await server.stop()).toBe(0);

    // The live one still runs its execution, as the same attempt on the same node.
    const [after] = await executionsOf(live.url, created.body.id);
    expect(after).toMatchObject({ id: before.id, state: 'RUNNING', attempt: 1, nodeId: liveNode });
    expect(readFileSync(join(data, 'node.id'), 'utf8').trim()).toBe(liveNode);
    expect((await api(live.url, '/v1/health')).status).toBe(200);

    // Killed, it lets the folder go: the next process is a new node and hands the dead one's work back.
    await live.stop('SIGKILL');
    const next = await startBarge(['up', ...db, '--data', data, '--open', '--isolation', 'none']);
    running.push(next);
    const nextNode = readFileSync(join(data, 'node.id'), 'utf8').trim();
    expect(nextNode).toMatch(/^[0-9a-f]{32}$/);
    expect(nextNode).not.toBe(liveNode);
    const executions = await executionsOf(next.url, created.body.id);
    expect(executions.find((e) => e.id === before.id)).toMatchObject({ state: 'FAILED', reason: expect.stringContaining('node restarted') });
    const rerun = await until('a new attempt on the new node', async () => {
      const found = (await executionsOf(next.url, created.body.id)).find((e) => e.attempt === 2 && e.state === 'RUNNING');
      return found;
    });
    expect(rerun.nodeId).toBe(nextNode);
    await next.stop('SIGKILL');
  });
});
