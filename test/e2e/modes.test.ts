/**
 * The parts alone: `barge server` and `barge worker` as two processes over one database, and
 * `barge up` over PostgreSQL; `--open` refused off loopback.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { api, startBarge, type BargeProcess } from '../helpers/barge-process.js';
import { freshPgUrl, pgAvailable } from '../helpers/pg.js';

interface JobBody {
  id: string;
  state: string;
  result: string | null;
}

async function runJob(url: string): Promise<JobBody> {
  const { status, body } = await api<JobBody>(url, '/v1/jobs?wait=60s', {
    method: 'POST',
    body: JSON.stringify({ name: 'split', output: '{{ tasks.where }}', tasks: [{ name: 'w', var: 'where', run: 'echo -n ran > $BARGE_OUTPUT' }] }),
  });
  expect(status).toBe(201);
  return body;
}

describe('server, worker and database modes', () => {
  const running: BargeProcess[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const barge of running) await barge.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('runs a job submitted to `barge server` on a separate `barge worker`', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'barge-modes-'));
    dirs.push(dir);
    const db = `sqlite:${join(dir, 'shared.db')}`;
    const server = await startBarge(['server', '--db', db, '--data', join(dir, 'server'), '--open']);
    running.push(server);
    const worker = await startBarge(['worker', '--db', db, '--data', join(dir, 'worker'), '--isolation', 'none'], {}, { waitForHttp: false });
    running.push(worker);
    const job = await runJob(server.url);
    expect(job).toMatchObject({ state: 'SUCCEEDED', result: 'ran' });
    const nodes = await api<{ items: Array<{ role: string; status: string }> }>(server.url, '/v1/nodes');
    expect(nodes.body.items.map((n) => n.role).sort()).toEqual(['server', 'worker']);
  });

  it.skipIf(!pgAvailable())('runs `barge up --db postgres://…` as one process', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'barge-modes-'));
    dirs.push(dir);
    const up = await startBarge(['up', '--db', await freshPgUrl(), '--data', dir, '--open', '--isolation', 'none']);
    running.push(up);
    expect(up.output()).toContain('PostgreSQL');
    const health = await api<{ store: string }>(up.url, '/v1/health');
    expect(health.body.store).toBe('postgres');
    expect(await runJob(up.url)).toMatchObject({ state: 'SUCCEEDED', result: 'ran' });
  });

  it('refuses --open on an address other hosts can reach', () => {
    const result = spawnSync(process.execPath, ['bin/barge.js', 'up', '--open', '--host', '0.0.0.0', '--port', '0'], { encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('--open turns authentication off and is only allowed on a loopback address, not 0.0.0.0');
  });
});
