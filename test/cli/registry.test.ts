/**
 * `barge tools` and `barge fs` of the real binary against a real `barge up` (with
 * `--image-policy ignore`, so an image tool's command runs in the shell as Tork's shell runtime
 * runs image tasks), and the batches they make run there: the filesystem lives in the data folder.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBarge, type BargeProcess } from '../helpers/barge-process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'barge-registry-cli-'));
let server: BargeProcess;

function env(): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: join(work, 'config'), HOME: work, NO_COLOR: '1' };
  for (const key of Object.keys(base)) if (key.startsWith('BARGE_')) delete base[key];
  return base;
}

function barge(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/barge.js', ...args], { cwd: ROOT, env: env(), encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function ok(args: string[]): string {
  const run = barge(args);
  expect(run.code, `barge ${args.join(' ')}\n${run.stdout}\n${run.stderr}`).toBe(0);
  return run.stdout.trim();
}

/** As the SDK asks: the raw key, a JSON string without Content-Type. */
async function sdk<T>(method: string, path: string, key: string, data: unknown = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(`${server.url}${path}`, { method, headers: { authorization: key }, body: method === 'GET' ? undefined : new Blob([JSON.stringify(data)]) });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

beforeAll(async () => {
  mkdirSync(join(work, 'config'), { recursive: true });
  server = await startBarge(['up', '--data', join(work, 'data'), '--cpus', '2', '--memory', '2048', '--image-policy', 'ignore'], env());
});

afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('barge tools and barge fs', () => {
  it('adds, lists and removes tools and filesystems that batches then use', async () => {
    writeFileSync(join(work, 'write.sh'), 'echo "$greeting $n" > "/mnt/efs/out-$n"\n');
    writeFileSync(join(work, 'count.lua'), 'print("lua sees " .. os.getenv("n"))\n');
    writeFileSync(join(work, 'cmd.sh'), 'cat /mnt/efs/out-1 /mnt/efs/out-2\n');
    const writer = ok(['tools', 'add', 'writer', join(work, 'write.sh'), '--description', 'writes a file']);
    expect(writer).toMatch(/^[0-9a-f]{32}$/);
    ok(['tools', 'add', 'counter', join(work, 'count.lua'), '--lua']);
    ok(['tools', 'add', 'reader', join(work, 'cmd.sh'), '--image', 'docker.io/library/alpine:3']);
    const fsId = ok(['fs', 'add', 'results']);
    expect(ok(['tools', 'ls'])).toMatch(/writer\s+writes a file\n.*counter.*\n.*reader/);

    const key = ok(['keys', 'create', '--kind', 'apikey']);
    const hardware = { filesystem_list: [{ filesystem_id: fsId, filesystem_name: 'results' }], cpu: 1, memory: 128 };
    const wrote = await sdk<{ batch_id: string; n_jobs: number }>('POST', `/v1/tools/${writer}`, key, { fixed_args: { greeting: 'hi' }, variable_args: [{ n: 1 }, { n: 2 }], hardware });
    expect(wrote.status).toBe(200);
    await until(key, wrote.body.batch_id, 2);
    expect(readFileSync(join(work, 'data', 'filesystems', fsId, 'out-2'), 'utf8')).toBe('hi 2\n');

    const tools = (await sdk<Array<{ tool_id: string; tool_name: string }>>('GET', '/tools', key)).body;
    const reader = tools.find((t) => t.tool_name === 'reader')!;
    const read = await sdk<{ batch_id: string }>('POST', `/tools/${reader.tool_id}`, key, { fixed_args: {}, variable_args: [], hardware });
    expect(await until(key, read.body.batch_id, 1)).toMatchObject({ succeeded: 1 });
    const [readJob] = (await sdk<Array<{ log_id: string }>>('GET', `/batches/${read.body.batch_id}/jobs`, key)).body;
    const readLog = await sdk<{ items: Array<{ line: string }> }>('GET', `/v1/executions/${readJob.log_id}/logs`, `Bearer ${key}`);
    expect(readLog.body.items.map((item) => item.line)).toEqual(['hi 1', 'hi 2']);
    const counter = tools.find((t) => t.tool_name === 'counter')!;
    const counted = await sdk<{ batch_id: string }>('POST', `/tools/${counter.tool_id}`, key, { fixed_args: {}, variable_args: [{ n: 42 }], hardware: { cpu: 1, memory: 128 } });
    expect(await until(key, counted.body.batch_id, 1)).toMatchObject({ succeeded: 1 });
    const [countJob] = (await sdk<Array<{ log_id: string }>>('GET', `/batches/${counted.body.batch_id}/jobs`, key)).body;
    const countLog = await sdk<{ items: Array<{ line: string }> }>('GET', `/v1/executions/${countJob.log_id}/logs`, `Bearer ${key}`);
    expect(countLog.body.items.map((item) => item.line)).toEqual(['lua sees 42']);

    ok(['tools', 'rm', 'counter']);
    expect((await sdk<Array<{ tool_name: string }>>('GET', '/tools', key)).body.map((t) => t.tool_name)).toEqual(['writer', 'reader']);
    ok(['fs', 'rm', 'results']);
    expect(readdirSync(join(work, 'data', 'filesystems'))).not.toContain(fsId);
  });
});

async function until(key: string, batchId: string, n: number): Promise<Record<string, number>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { body } = await sdk<Record<string, number>>('GET', `/batches/${batchId}`, key);
    if (body.succeeded + body.failed >= n) return body;
    if (Date.now() > deadline) throw new Error(`batch ${batchId} not done: ${JSON.stringify(body)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
