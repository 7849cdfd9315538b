/**
 * The Batches face over HTTP, asked as the ET Engine SDK asks (helpers.ts): every route at both
 * base paths, the shapes the SDK builds by keyword expansion, real runs whose args arrive as
 * environment variables, filesystems shared between batches, deletes, sharing, the 403s, and the
 * reference's black-box list (batches.md §10, numbered below).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCredential, createUser } from '../../../src/api/auth/index.js';
import { waitFor } from '../../api/helpers.js';
import { startBatches, type Answer, type BatchesUnderTest } from './helpers.js';

let t: BatchesUnderTest;
const BASES = ['', '/v1'];
const STATUS_KEYS = ['submitted', 'pending', 'runnable', 'starting', 'running', 'succeeded', 'failed'];

interface Tool {
  tool_id: string;
  tool_name: string;
  tool_description: string;
}
interface Batch {
  batch_id: string;
  batch_tool: Tool;
  n_jobs: number;
  batch_hardware: { filesystem_list: Array<{ filesystem_id: string; filesystem_name: string }>; cpu: number; memory: number };
}
type Status = Record<string, number>;

beforeAll(async () => {
  t = await startBatches();
});
afterAll(async () => {
  await t?.close();
});

async function makeTool(name: string, program: Record<string, string>, as: 'alice' | 'bob' = 'alice'): Promise<Tool> {
  const answer = await t.sdk('POST', '/v1/tools', { as, data: { tool_name: name, tool_description: `${name} tool`, program } });
  expect(answer.status, answer.text).toBe(200);
  return answer.json<Tool>();
}

async function makeFilesystem(name: string, as: 'alice' | 'bob' = 'alice'): Promise<{ filesystem_id: string; filesystem_name: string }> {
  const answer = await t.sdk('POST', '/v1/filesystems', { as, data: { filesystem_name: name } });
  expect(answer.status, answer.text).toBe(200);
  return answer.json();
}

const hardware = (filesystems: unknown[] = []): Record<string, unknown> => ({ filesystem_list: filesystems, cpu: 1, memory: 256 });

async function runBatch(tool: Tool, body: Record<string, unknown>, base = '/v1', as: 'alice' | 'bob' = 'alice'): Promise<Batch> {
  const answer = await t.sdk('POST', `${base}/tools/${tool.tool_id}`, { as, data: body });
  expect(answer.status, `${answer.text} ${String(answer.headers['x-barge-detail'])}`).toBe(200);
  return answer.json<Batch>();
}

async function status(batchId: string, as: 'alice' | 'bob' = 'alice'): Promise<Status> {
  const answer = await t.sdk('GET', `/v1/batches/${batchId}`, { as });
  expect(answer.status, answer.text).toBe(200);
  return answer.json<Status>();
}

/** Batch.wait(): until succeeded + failed reaches n_jobs, checking every answer's shape on the way. */
async function finished(batch: Batch, as: 'alice' | 'bob' = 'alice'): Promise<Status> {
  let last: Status = {};
  await waitFor(async () => {
    last = await status(batch.batch_id, as);
    expect(Object.keys(last)).toEqual(STATUS_KEYS);
    expect(Object.values(last).reduce((a, b) => a + b, 0)).toBe(batch.n_jobs);
    return last.succeeded + last.failed >= batch.n_jobs;
  }, 20_000);
  return last;
}

async function logsOf(logId: string): Promise<string> {
  const answer = await t.api.json<{ items: Array<{ line: string }> }>(`/v1/executions/${logId}/logs`);
  expect(answer.status).toBe(200);
  return answer.body.items.map((item) => item.line).join('\n');
}

function expectDenied(answer: Answer): void {
  expect(answer.status, answer.text).toBe(403);
  expect(answer.text).toBe('Access denied');
  expect(answer.headers['content-type']).toMatch(/^text\/plain/);
}

describe('authentication (§6, §10 #1-#3)', () => {
  const routes: Array<[string, string]> = [
    ['GET', '/tools'],
    ['POST', '/tools'],
    ['GET', '/tools/0123456789abcdef0123456789abcdef'],
    ['POST', '/tools/0123456789abcdef0123456789abcdef'],
    ['DELETE', '/tools/0123456789abcdef0123456789abcdef'],
    ['GET', '/batches'],
    ['DELETE', '/batches'],
    ['GET', '/batches/0123456789abcdef0123456789abcdef'],
    ['DELETE', '/batches/0123456789abcdef0123456789abcdef'],
    ['GET', '/batches/0123456789abcdef0123456789abcdef/jobs'],
    ['GET', '/batches/0123456789abcdef0123456789abcdef/jobs/0123456789abcdef0123456789abcdef'],
    ['GET', '/filesystems'],
    ['POST', '/filesystems'],
  ];

  it('answers 401 Missing authorization header on every route at both bases, in plain text (#1)', async () => {
    for (const base of BASES) {
      for (const [method, path] of routes) {
        const answer = await t.sdk(method, `${base}${path}`, { as: null });
        expect([method, base + path, answer.status, answer.text]).toEqual([method, base + path, 401, 'Missing authorization header']);
        expect(answer.headers['content-type']).toMatch(/^text\/plain/);
      }
    }
  });

  it('refuses unknown keys and JWTs with the original texts (#2)', async () => {
    const unknown = await t.sdk('GET', '/batches', { authorization: 'barge_k_not-a-key' });
    expect([unknown.status, unknown.text]).toEqual([401, 'User not found']);
    const jwt = await t.sdk('GET', '/v1/batches', { authorization: 'Bearer eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2ln' });
    expect([jwt.status, jwt.text]).toEqual([401, 'Unknown authentication error in Bearer token']);
  });

  it('takes the key raw or as Bearer, and API tokens too', async () => {
    expect((await t.sdk('GET', '/batches')).status).toBe(200);
    expect((await t.sdk('GET', '/batches', { authorization: `Bearer ${t.keys.alice}` })).status).toBe(200);
    expect((await t.sdk('GET', '/v1/batches', { authorization: t.api.tokens.alice })).status).toBe(200);
  });

  it('takes barge JWTs for the batches audience, and only those', async () => {
    const issue = async (audience: string): Promise<string> =>
      (await t.api.json<{ token: string }>('/v1/jwt', { method: 'POST', body: { audience, ttl: '1h' } })).body.token;
    const good = await t.sdk('GET', '/v1/batches', { authorization: `Bearer ${await issue('batches')}` });
    expect(good.status, good.text).toBe(200);
    const other = await t.sdk('GET', '/v1/batches', { authorization: `Bearer ${await issue('v1')}` });
    expect([other.status, other.text]).toEqual([401, 'Unknown authentication error in Bearer token']);
  });

  it('lets a viewer read and refuses it writes with Access denied', async () => {
    const { store } = t.api.bundle.engine;
    const viewer = await createUser(store, { name: 'vera', role: 'viewer' });
    const key = (await createCredential(store, { userId: viewer.id, kind: 'apikey' })).secret;
    expect((await t.sdk('GET', '/batches', { authorization: key })).status).toBe(200);
    expectDenied(await t.sdk('POST', '/tools', { authorization: key, data: { tool_name: 'nope' } }));
  });

  it('answers OPTIONS without credentials with the CORS headers, and GET / (#3)', async () => {
    for (const base of BASES) {
      const answer = await t.sdk('OPTIONS', `${base}/batches`, { as: null });
      expect(answer.status).toBe(200);
      expect(answer.headers['access-control-allow-origin']).toBe('*');
      expect(answer.headers['access-control-allow-headers']).toBe('Content-Type, Authorization, Content-Range');
      expect(answer.headers['access-control-allow-methods']).toBe('GET, PUT, POST, DELETE, OPTIONS');
    }
    expect((await t.sdk('GET', '/', { as: null })).status).toBe(200);
    // Every answer carries them, errors too.
    expect((await t.sdk('GET', '/batches', { as: null })).headers['access-control-allow-origin']).toBe('*');
  });
});

describe('tools (§4.3)', () => {
  it('creates, lists, shows and deletes tools with exactly the SDK keys, at both bases', async () => {
    for (const base of BASES) {
      const created = await t.sdk('POST', `${base}/tools`, { data: { tool_name: `plain${base.length}`, tool_description: 'no program yet' } });
      expect(created.status).toBe(200);
      const tool = created.json<Tool>();
      expect(Object.keys(tool).sort()).toEqual(['tool_description', 'tool_id', 'tool_name']);
      const listed = (await t.sdk('GET', `${base}/tools`)).json<Tool[]>();
      for (const item of listed) expect(Object.keys(item).sort()).toEqual(['tool_description', 'tool_id', 'tool_name']);
      expect(listed).toContainEqual(tool);
      const shown = await t.sdk('GET', `${base}/tools/${tool.tool_id}`);
      expect(shown.json<Tool>()).toMatchObject(tool);
      // A tool without a program cannot run yet: 400, saying so in the detail header.
      const run = await t.sdk('POST', `${base}/tools/${tool.tool_id}`, { data: { fixed_args: {}, variable_args: [], hardware: hardware() } });
      expect([run.status, run.text]).toEqual([400, 'Invalid request body']);
      expect(run.headers['x-barge-detail']).toMatch(/no program/);
      const deleted = await t.sdk('DELETE', `${base}/tools/${tool.tool_id}`);
      expect([deleted.status, deleted.text]).toEqual([200, '']);
      expectDenied(await t.sdk('GET', `${base}/tools/${tool.tool_id}`));
    }
  });

  it('takes a program by upload, and refuses bad names and a second tool of the same name', async () => {
    const tool = (await t.sdk('POST', '/tools', { data: { tool_name: 'uploaded', tool_description: '' } })).json<Tool>();
    const upload = await new Promise<Answer>((resolve) => {
      void t.sdk('PUT', `/tools/${tool.tool_id}/program?kind=bash`, { raw: 'echo uploaded "$who"' }).then(resolve);
    });
    expect(upload.status, upload.text).toBe(200);
    expect(upload.json<Record<string, unknown>>().tool_kind).toBe('bash');
    const batch = await runBatch(tool, { fixed_args: { who: 'me' }, variable_args: [], hardware: hardware() });
    expect((await finished(batch)).succeeded).toBe(1);
    const [job] = (await t.sdk('GET', `/batches/${batch.batch_id}/jobs`)).json<Array<{ log_id: string }>>();
    expect(await logsOf(job.log_id)).toContain('uploaded me');

    expect((await t.sdk('POST', '/tools', { data: { tool_name: 'uploaded' } })).status).toBe(409);
    expect((await t.sdk('POST', '/tools', { data: { tool_name: '../x' } })).status).toBe(400);
    expect((await t.sdk('POST', '/tools', { raw: 'not json' })).text).toBe('Invalid JSON in request body');
  });

  it("is barge's /v1/tools: the same registry under both paths", async () => {
    const tool = await makeTool('registry-check', { kind: 'bash', script: 'true' });
    const root = (await t.sdk('GET', '/tools')).json<Tool[]>();
    const v1 = await t.api.json<Tool[]>('/v1/tools');
    expect(v1.status).toBe(200);
    expect(v1.body).toEqual(root);
    expect(root).toContainEqual(tool);
  });
});

describe('batches: creation and listing (§10 #6-#10)', () => {
  let hello: Tool;
  beforeAll(async () => {
    hello = await makeTool('hello', { kind: 'bash', script: 'echo "Hello, $name! ($i)"' });
  });

  it('creates a batch from the SDK body without a Content-Type and answers Batch JSON (#6)', async () => {
    for (const base of BASES) {
      const batch = await runBatch(hello, { fixed_args: { name: 'John' }, variable_args: [], hardware: { filesystem_list: [], cpu: 1, memory: 256 } }, base);
      expect(batch.n_jobs).toBe(1);
      expect(batch.batch_tool).toEqual({ tool_id: hello.tool_id, tool_name: 'hello', tool_description: 'hello tool' });
      expect(Object.keys(batch.batch_tool).sort()).toEqual(['tool_description', 'tool_id', 'tool_name']);
      expect(batch.batch_hardware).toEqual({ filesystem_list: [], cpu: 1, memory: 256 });
      expect((await finished(batch)).succeeded).toBe(1);
    }
  });

  it('makes n_jobs = len(variable_args), takes gen (a) hardware and the typed argument form (#7)', async () => {
    const three = await runBatch(hello, { fixed_args: { name: 'X' }, variable_args: [{ i: 1 }, { i: 2 }, { i: 3 }], hardware: hardware() });
    expect(three.n_jobs).toBe(3);
    const genA = await runBatch(hello, { fixed_args: { name: { value: 'typed', type: 'str' } }, variable_args: [], hardware: { filesystems: [], memory: 512, cpu: 2 } }, '');
    expect(genA.batch_hardware).toEqual({ filesystem_list: [], cpu: 2, memory: 512 });
    const done = await finished(three);
    expect(done.succeeded).toBe(3);
    await finished(genA);
    const [job] = (await t.sdk('GET', `/batches/${genA.batch_id}/jobs`)).json<Array<{ log_id: string; args: unknown }>>();
    expect(job.args).toEqual([{ name: 'name', value: 'typed' }]);
    expect(await logsOf(job.log_id)).toContain('Hello, typed!');
  });

  it('refuses bad bodies with the original texts (#8)', async () => {
    const notJson = await t.sdk('POST', `/tools/${hello.tool_id}`, { raw: 'not json' });
    expect([notJson.status, notJson.text]).toEqual([400, 'Invalid JSON in request body']);
    const noHardware = await t.sdk('POST', `/tools/${hello.tool_id}`, { data: { fixed_args: {}, variable_args: [] } });
    expect([noHardware.status, noHardware.text]).toEqual([400, 'Invalid request body']);
    expect(noHardware.headers['x-barge-detail']).toBe('hardware is missing');
    for (const bad of [
      { fixed_args: { 'not a name': 1 }, variable_args: [], hardware: hardware() },
      { fixed_args: { BARGE_OUTPUT: 'x' }, variable_args: [], hardware: hardware() },
      { fixed_args: {}, variable_args: {}, hardware: hardware() },
      { fixed_args: {}, variable_args: [], hardware: { cpu: -1 } },
      { fixed_args: {}, variable_args: [], hardware: { filesystem_list: [{ filesystem_name: 'x' }] } },
    ]) {
      const answer = await t.sdk('POST', `/tools/${hello.tool_id}`, { data: bad });
      expect([answer.status, answer.text]).toEqual([400, 'Invalid request body']);
    }
  });

  it('lists the batch with the four Batch keys at both bases (#9, #10)', async () => {
    const batch = await runBatch(hello, { fixed_args: { name: 'listed' }, variable_args: [], hardware: hardware() });
    const root = await t.sdk('GET', '/batches');
    const v1 = await t.sdk('GET', '/v1/batches');
    expect(root.status).toBe(200);
    expect(root.headers['content-type']).toMatch(/^application\/json/);
    expect(v1.json()).toEqual(root.json());
    const found = root.json<Batch[]>().find((item) => item.batch_id === batch.batch_id);
    expect(found).toMatchObject({ batch_id: batch.batch_id, batch_tool: batch.batch_tool, n_jobs: 1, batch_hardware: batch.batch_hardware });
    await finished(batch);
  });
});

describe('status (§10 #11-#13)', () => {
  it('answers exactly seven integer counts that sum to n_jobs, from creation to the end', async () => {
    const tool = await makeTool('mixed', { kind: 'bash', script: 'sleep 0.2; exit "$code"' });
    const batch = await runBatch(tool, { fixed_args: {}, variable_args: [{ code: 0 }, { code: 0 }, { code: 3 }], hardware: hardware() });
    const first = await status(batch.batch_id);
    expect(Object.keys(first)).toEqual(STATUS_KEYS);
    for (const value of Object.values(first)) expect(Number.isInteger(value)).toBe(true);
    expect(Object.values(first).reduce((a, b) => a + b, 0)).toBe(3);
    const done = await finished(batch);
    expect(done).toEqual({ submitted: 0, pending: 0, runnable: 0, starting: 0, running: 0, succeeded: 2, failed: 1 });
    // Stable after the end: stored states, not a live view.
    expect(await status(batch.batch_id)).toEqual(done);
  });
});

describe('arguments as environment variables (§4.2, §9 #15)', () => {
  it('gives each job fixed_args then its element, converted, to bash and to Lua', async () => {
    const bash = await makeTool('env-bash', { kind: 'bash', script: '#!/bin/bash\nprintf "%s|%s|%s|%s|%s\\n" "$text" "$num" "$flag" "$obj" "$shared"' });
    const batch = await runBatch(bash, {
      fixed_args: { text: "it's $HOME `x`", num: 1.5, flag: true, shared: 'fixed', obj: null },
      variable_args: [{ shared: 'element' }, { obj: { a: [1, 'b'] } }],
      hardware: hardware(),
    });
    expect((await finished(batch)).succeeded).toBe(2);
    const jobs = (await t.sdk('GET', `/batches/${batch.batch_id}/jobs`)).json<Array<{ job_id: string; log_id: string; args: Array<{ name: string; value: string }> }>>();
    expect(jobs).toHaveLength(2);
    expect(jobs[0].args.map((a) => a.name)).toEqual(['text', 'num', 'flag', 'shared', 'obj', 'shared']);
    expect(await logsOf(jobs[0].log_id)).toContain("it's $HOME `x`|1.5|true|null|element");
    expect(await logsOf(jobs[1].log_id)).toContain('it\'s $HOME `x`|1.5|true|{"a":[1,"b"]}|fixed');

    const lua = await makeTool('env-lua', { kind: 'lua', script: 'print(os.getenv("greeting") .. " " .. os.getenv("n") .. " " .. tostring(os.getenv("missing")))' });
    const luaBatch = await runBatch(lua, { fixed_args: { greeting: 'hi "there"\n' }, variable_args: [{ n: 7 }], hardware: hardware() });
    expect((await finished(luaBatch)).succeeded).toBe(1);
    const [luaJob] = (await t.sdk('GET', `/batches/${luaBatch.batch_id}/jobs`)).json<Array<{ log_id: string }>>();
    expect(await logsOf(luaJob.log_id)).toContain('hi "there"\n 7 nil');
  });

  it('makes cpu and memory the jobs\' limits', async () => {
    const tool = await makeTool('limits', { kind: 'bash', script: 'true' });
    const batch = await runBatch(tool, { fixed_args: {}, variable_args: [], hardware: { filesystem_list: [], cpu: 2, memory: 300 } });
    await finished(batch);
    const [job] = (await t.sdk('GET', `/batches/${batch.batch_id}/jobs`)).json<Array<{ job_id: string }>>();
    const execution = await t.api.bundle.engine.store.executionGet(job.job_id);
    expect([execution?.cpus, execution?.memoryMb]).toEqual([2, 300]);
  });
});

describe('filesystems', () => {
  it('lists and shows filesystems with exactly the SDK keys at both bases', async () => {
    const fs = await makeFilesystem('listing');
    expect(Object.keys(fs).sort()).toEqual(['filesystem_id', 'filesystem_name']);
    for (const base of BASES) {
      expect((await t.sdk('GET', `${base}/filesystems`)).json()).toContainEqual(fs);
      expect((await t.sdk('GET', `${base}/filesystems/${fs.filesystem_id}`)).json()).toEqual(fs);
    }
  });

  it('is written by one batch and read by another, at /mnt/efs', async () => {
    const fs = await makeFilesystem('shared-data');
    const writer = await makeTool('writer', { kind: 'bash', script: 'echo "value-$i" > "/mnt/efs/item-$i" && test "$BARGE_EFS" = /mnt/efs' });
    const reader = await makeTool('reader', { kind: 'bash', script: 'cat /mnt/efs/item-1 /mnt/efs/item-2' });
    const wrote = await runBatch(writer, { fixed_args: {}, variable_args: [{ i: 1 }, { i: 2 }], hardware: hardware([fs]) });
    expect((await finished(wrote)).succeeded).toBe(2);
    expect(wrote.batch_hardware.filesystem_list).toEqual([fs]);
    const read = await runBatch(reader, { fixed_args: {}, variable_args: [], hardware: { filesystems: [fs.filesystem_id], cpu: 1, memory: 256 } });
    expect((await finished(read)).succeeded).toBe(1);
    const [job] = (await t.sdk('GET', `/batches/${read.batch_id}/jobs`)).json<Array<{ log_id: string }>>();
    expect(await logsOf(job.log_id)).toMatch(/value-1\nvalue-2/);
    // On the host, in the filesystems' folder.
    expect(await readFile(join(t.filesystemsRoot, fs.filesystem_id, 'item-2'), 'utf8')).toBe('value-2\n');
  });

  it('mounts several filesystems at /mnt/efs/<name>', async () => {
    const a = await makeFilesystem('alpha');
    const b = await makeFilesystem('beta');
    const tool = await makeTool('two-fs', { kind: 'bash', script: 'echo a > /mnt/efs/alpha/f && echo b > /mnt/efs/beta/f' });
    const batch = await runBatch(tool, { fixed_args: {}, variable_args: [], hardware: hardware([a, b]) });
    expect((await finished(batch)).succeeded).toBe(1);
    expect(await readFile(join(t.filesystemsRoot, b.filesystem_id, 'f'), 'utf8')).toBe('b\n');
  });

  it('mounts an outside folder an admin names, and refuses one to others', async () => {
    const outside = join(t.filesystemsRoot, 'outside-folder');
    await mkdir(outside);
    expectDenied(await t.sdk('POST', '/filesystems', { data: { filesystem_name: 'outside', path: outside } }));
    const made = await t.sdk('POST', '/filesystems', { as: 'admin', data: { filesystem_name: 'outside', path: outside } });
    expect(made.status, made.text).toBe(200);
    const fs = made.json<{ filesystem_id: string; filesystem_name: string }>();
    const tool = await makeTool('outside-writer', { kind: 'bash', script: 'echo outside > /mnt/efs/here' });
    expect((await t.sdk('POST', `/filesystems/${fs.filesystem_id}/shares`, { as: 'admin', data: { user: 'alice' } })).status).toBe(200);
    const batch = await runBatch(tool, { fixed_args: {}, variable_args: [], hardware: hardware([fs]) });
    expect((await finished(batch)).succeeded).toBe(1);
    expect(await readFile(join(outside, 'here'), 'utf8')).toBe('outside\n');
    // Deleting it keeps the outside folder.
    expect((await t.sdk('DELETE', `/filesystems/${fs.filesystem_id}`, { as: 'admin' })).status).toBe(200);
    expect(await readFile(join(outside, 'here'), 'utf8')).toBe('outside\n');
  });

  it("refuses another user's filesystem until it is shared, and only the owner deletes it", async () => {
    const fs = await makeFilesystem('private', 'alice');
    const tool = await makeTool('bob-tool', { kind: 'bash', script: 'ls /mnt/efs' }, 'bob');
    const body = { fixed_args: {}, variable_args: [], hardware: hardware([fs]) };
    expectDenied(await t.sdk('POST', `/tools/${tool.tool_id}`, { as: 'bob', data: body }));
    expectDenied(await t.sdk('GET', `/filesystems/${fs.filesystem_id}`, { as: 'bob' }));
    // Nor through a spec of barge's own: the engine checks every filesystem mount.
    const sneaky = await t.api.json('/v1/jobs', {
      method: 'POST',
      as: 'bob',
      body: { name: 'sneaky', tasks: [{ name: 't', run: 'ls /mnt/efs', mounts: [{ type: 'filesystem', source: fs.filesystem_id, target: '/mnt/efs', opts: { path: '/etc' } }] }] },
    });
    expect(sneaky.status).toBe(400);
    expect((await t.sdk('POST', `/filesystems/${fs.filesystem_id}/shares`, { data: { user: 'bob' } })).status).toBe(200);
    expect((await t.sdk('GET', '/filesystems', { as: 'bob' })).json()).toContainEqual(fs);
    const batch = await runBatch(tool, body, '/v1', 'bob');
    expect((await finished(batch, 'bob')).succeeded).toBe(1);
    expectDenied(await t.sdk('DELETE', `/filesystems/${fs.filesystem_id}`, { as: 'bob' }));
    expect((await t.sdk('DELETE', `/filesystems/${fs.filesystem_id}`)).status).toBe(200);
    expectDenied(await t.sdk('GET', `/filesystems/${fs.filesystem_id}`));
  });
});

describe('big batches', () => {
  it('takes 5,000 elements in one request, counts them all at once, and deletes them', async () => {
    const tool = await makeTool('big', { kind: 'bash', script: 'sleep 30' });
    const variable = Array.from({ length: 5_000 }, (_, i) => ({ i }));
    const batch = await runBatch(tool, { fixed_args: { word: 'x' }, variable_args: variable, hardware: hardware() });
    expect(batch.n_jobs).toBe(5_000);
    const counts = await status(batch.batch_id);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(5_000);
    expect((await t.sdk('DELETE', `/batches/${batch.batch_id}`)).status).toBe(200);
    expectDenied(await t.sdk('GET', `/batches/${batch.batch_id}`));
  });
});

describe('jobs of a batch (§10 #16, #17)', () => {
  it('lists jobs with args, fixed first, and shows each with its real state and epoch-ms times', async () => {
    const tool = await makeTool('jobs', { kind: 'bash', script: 'echo "$k$v"' });
    const batch = await runBatch(tool, { fixed_args: { k: 'K' }, variable_args: [{ v: 1 }, { v: 2 }], hardware: hardware() });
    await finished(batch);
    for (const base of BASES) {
      const jobs = (await t.sdk('GET', `${base}/batches/${batch.batch_id}/jobs`)).json<Array<{ job_id: string; log_id: string; args: unknown }>>();
      expect(jobs.map((job) => Object.keys(job).sort())).toEqual([
        ['args', 'job_id', 'log_id'],
        ['args', 'job_id', 'log_id'],
      ]);
      expect(jobs[1].args).toEqual([
        { name: 'k', value: 'K' },
        { name: 'v', value: '2' },
      ]);
      const detail = (await t.sdk('GET', `${base}/batches/${batch.batch_id}/jobs/${jobs[0].job_id}`)).json<Record<string, unknown>>();
      expect(detail).toMatchObject({ job_id: jobs[0].job_id, log_id: jobs[0].log_id, tool_id: tool.tool_id, status: 'SUCCEEDED', reason: '' });
      for (const key of ['create_time', 'start_time', 'stop_time']) expect(Number.isInteger(detail[key])).toBe(true);
      expect(detail.hardware).toEqual({ filesystems: [], memory: 256, cpu: 1 });
      expect(await logsOf(jobs[0].log_id)).toContain('K1');
    }
    // §9 #5: a job of another batch is not found under this one.
    const other = await runBatch(tool, { fixed_args: {}, variable_args: [], hardware: hardware() });
    const [otherJob] = (await t.sdk('GET', `/batches/${other.batch_id}/jobs`)).json<Array<{ job_id: string }>>();
    expect((await t.sdk('GET', `/batches/${batch.batch_id}/jobs/${otherJob.job_id}`)).status).toBe(404);
    await finished(other);
  });
});

describe('access (§9 #9, #11, #13; §10 #4, #5)', () => {
  it("answers 403 Access denied for another user's, unknown and malformed ids", async () => {
    const tool = await makeTool('private-tool', { kind: 'bash', script: 'true' });
    const batch = await runBatch(tool, { fixed_args: {}, variable_args: [], hardware: hardware() });
    for (const base of BASES) {
      for (const id of [batch.batch_id, '0123456789abcdef0123456789abcdef', 'not-a-uuid', "'; drop table jobs; --"]) {
        const path = `${base}/batches/${encodeURIComponent(id)}`;
        expectDenied(await t.sdk('GET', path, { as: 'bob' }));
        expectDenied(await t.sdk('DELETE', path, { as: 'bob' }));
        expectDenied(await t.sdk('GET', `${path}/jobs`, { as: 'bob' }));
      }
      expectDenied(await t.sdk('POST', `${base}/tools/${tool.tool_id}`, { as: 'bob', data: { fixed_args: {}, variable_args: [], hardware: hardware() } }));
      expectDenied(await t.sdk('GET', `${base}/tools/${tool.tool_id}`, { as: 'bob' }));
      expectDenied(await t.sdk('DELETE', `${base}/tools/${tool.tool_id}`, { as: 'bob' }));
    }
    await finished(batch);
  });

  it('lets a user a batch is shared with read it, not list or delete it (#5, §9 #11, #13)', async () => {
    const tool = await makeTool('share-batch', { kind: 'bash', script: 'true' });
    const batch = await runBatch(tool, { fixed_args: {}, variable_args: [], hardware: hardware() });
    expect((await t.api.json(`/v1/jobs/${batch.batch_id}/shares`, { method: 'POST', body: { user: 'bob' } })).status).toBe(200);
    expect(Object.keys(await status(batch.batch_id, 'bob'))).toEqual(STATUS_KEYS);
    expect((await t.sdk('GET', `/batches/${batch.batch_id}/jobs`, { as: 'bob' })).status).toBe(200);
    expect((await t.sdk('GET', '/batches', { as: 'bob' })).json<Batch[]>().map((b) => b.batch_id)).not.toContain(batch.batch_id);
    expectDenied(await t.sdk('DELETE', `/batches/${batch.batch_id}`, { as: 'bob' }));
    await finished(batch);
  });

  it('shares a tool: the grantee lists and runs it, only the owner deletes it', async () => {
    const tool = await makeTool('shared-tool', { kind: 'bash', script: 'echo "$USER_NAME"' });
    expect((await t.sdk('GET', '/tools', { as: 'bob' })).json<Tool[]>()).not.toContainEqual(tool);
    const shared = await t.sdk('POST', `/tools/${tool.tool_id}/shares`, { data: { user: 'bob' } });
    expect(shared.json()).toEqual({ shared_with: ['bob'] });
    expect((await t.sdk('GET', '/tools', { as: 'bob' })).json<Tool[]>()).toContainEqual(tool);
    const batch = await runBatch(tool, { fixed_args: { USER_NAME: 'bob' }, variable_args: [], hardware: hardware() }, '', 'bob');
    expectDenied(await t.sdk('DELETE', `/tools/${tool.tool_id}`, { as: 'bob' }));
    expectDenied(await t.sdk('POST', `/tools/${tool.tool_id}/shares`, { as: 'bob', data: { user: 'bob' } }));
    expect((await t.sdk('DELETE', `/tools/${tool.tool_id}/shares/bob`)).status).toBe(200);
    expectDenied(await t.sdk('POST', `/tools/${tool.tool_id}`, { as: 'bob', data: { fixed_args: {}, variable_args: [], hardware: hardware() } }));
    // The batch is bob's: he owns what he ran, and keeps it after the unsharing.
    expect((await finished(batch, 'bob')).succeeded).toBe(1);
  });
});

describe('deletion (§9 #11, #12; §10 #14, #15)', () => {
  it('deletes a batch, cancelling its running jobs first', async () => {
    const tool = await makeTool('sleeper', { kind: 'bash', script: 'sleep 60' });
    const batch = await runBatch(tool, { fixed_args: {}, variable_args: [{}, {}], hardware: hardware() });
    await waitFor(async () => (await status(batch.batch_id)).running > 0);
    const deleted = await t.sdk('DELETE', `/batches/${batch.batch_id}`);
    expect([deleted.status, deleted.text]).toEqual([200, '']);
    expect((await t.sdk('GET', '/batches')).json<Batch[]>().map((b) => b.batch_id)).not.toContain(batch.batch_id);
    expectDenied(await t.sdk('GET', `/batches/${batch.batch_id}`));
    expect(await t.api.bundle.engine.store.jobGet(batch.batch_id)).toBeUndefined();
    // The worker stopped what ran: a batch that needs all 4 of its cpus runs.
    const whole = await runBatch(await makeTool('whole', { kind: 'bash', script: 'true' }), { fixed_args: {}, variable_args: [], hardware: { cpu: 4, memory: 256 } });
    expect((await finished(whole)).succeeded).toBe(1);
  });

  it("clears the caller's batches and no one else's", async () => {
    const tool = await makeTool('clear-me', { kind: 'bash', script: 'true' }, 'bob');
    const bobs = await runBatch(tool, { fixed_args: {}, variable_args: [], hardware: hardware() }, '/v1', 'bob');
    for (const base of BASES) {
      const cleared = await t.sdk('DELETE', `${base}/batches`);
      expect([cleared.status, cleared.text]).toEqual([200, '']);
      expect((await t.sdk('GET', `${base}/batches`)).json()).toEqual([]);
    }
    expect((await t.sdk('GET', '/batches', { as: 'bob' })).json<Batch[]>().map((b) => b.batch_id)).toContain(bobs.batch_id);
  });
});
