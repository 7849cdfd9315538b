/**
 * The runner's four routes over barge's engine and a real Lua worker (sliderule-runner.md §4,
 * §11, §12 #8-24): submit validation, the run folder, reports, cancel.
 */
import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64, eventually, startSlideRule, type SlideRuleUnderTest } from './helpers.js';

let sr: SlideRuleUnderTest;
beforeAll(async () => {
  sr = await startSlideRule();
});
afterAll(async () => {
  await sr.close();
});

const HELLO = 'print("Hello World")\nreturn "Nice to meet you", true\n';
const ECHO = 'return "got " .. arg[2]\n';

interface Submitted {
  name: string;
  run_url: string;
  job_ids: string[];
  job_id?: string;
}

type Report = Record<string, { status: string; statusReason: string; createdAt: string; jobDefinition: string; args: string }>;

async function submitOk(body: Record<string, unknown>): Promise<Submitted> {
  const answer = await sr.call('/submit', body);
  expect(answer.status, answer.text).toBe(200);
  return answer.json as Submitted;
}

async function report(ids: string[]): Promise<Report> {
  const answer = await sr.call('/report/jobs', { job_list: ids });
  expect(answer.status, answer.text).toBe(200);
  return answer.json as Report;
}

async function waitForStatus(id: string, wanted: string[]): Promise<Report[string]> {
  let last: Report[string] | undefined;
  await eventually(async () => {
    last = (await report([id]))[id];
    return last !== undefined && wanted.includes(last.status);
  }).catch((error: unknown) => {
    throw new Error(`${id} is ${JSON.stringify(last)}, not ${wanted.join('/')}`, { cause: error });
  });
  return last as Report[string];
}

function runFolder(runUrl: string): string {
  return fileURLToPath(runUrl);
}

describe('POST /submit', () => {
  it('§12 #8-13: each bad request is a 400 naming what is wrong, and nothing is written', async () => {
    const script = base64(HELLO);
    const cases: Array<[unknown, string]> = [
      [{}, 'missing name'],
      [{ name: 1 }, 'missing script'],
      [{ name: 'hello_world', script: '' }, 'missing args_list'],
      [{ name: 'hello_world', script: '', args_list: [''] }, 'empty script provided'],
      [{ name: 1, script, args_list: [''] }, "invalid name supplied of type <class 'int'>"],
      [{ name: 'hello_world', script, args_list: 'test1' }, "invalid array of arguments supplied of type <class 'str'>"],
      [{ name: 'hello_world', script, args_list: [''], vcpus: 50 }, 'invalid vCPUs provided: 50 (an integer from 1 to 8)'],
      [{ name: 'hello_world', script, args_list: [''], memory: 'lots' }, 'invalid memory provided: "lots" (an integer from 4096 to 32768)'],
      [{ name: 'hello_world', script, args_list: [''], memory: 2048 }, 'invalid memory provided: 2048 (an integer from 4096 to 32768)'],
      [{ name: 'hello_world', script, args_list: [''], vcpus: true }, 'invalid vCPUs provided: true (an integer from 1 to 8)'],
      [{ name: 'hello_world', script, args_list: ['a', 2, 'c'] }, "args_list[1] is a <class 'int'>, not a string"],
      [{ name: 'hello_world', script: '!!!', args_list: ['a'] }, 'script is not valid base64'],
      [{ name: 'hello_world', script, args: Array.from({ length: 10_001 }, () => 'x') }, 'args has 10001 elements, more than 10000'],
    ];
    for (const [body, reason] of cases) {
      const answer = await sr.call('/submit', body);
      expect([answer.status, answer.json], JSON.stringify(body).slice(0, 80)).toEqual([400, { error: 'bad request', error_description: reason }]);
    }
    expect(await sr.engine.store.jobList({ origin: 'sliderule', limit: 10 })).toEqual([]);
  });

  it('§12 #14: a valid submit answers name, run_url and one id per element; the blank element runs with "nil"', async () => {
    const answer = await sr.call('/submit', { name: 'hello world', script: base64(ECHO), args_list: [' ', 'a'] });
    expect(answer.status).toBe(200);
    const body = answer.json as Submitted;
    expect(Object.keys(body)).toEqual(['name', 'run_url', 'job_ids']);
    expect(body.name).toBe('hello world');
    expect(body.run_url).toMatch(/^file:\/\/\/.+\/run-alice-hello-[0-9a-f]{10}$/);
    expect(body.job_ids).toHaveLength(2);
    for (const id of body.job_ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    // Python's json.dumps: ", " and ": " separators.
    expect(answer.text).toMatch(/^\{"name": "hello world", "run_url": "file:\/\/\/[^"]+", "job_ids": \["[^"]+", "[^"]+"\]\}$/);

    const first = await waitForStatus(body.job_ids[0], ['SUCCEEDED', 'FAILED']);
    expect(first).toMatchObject({ status: 'SUCCEEDED', statusReason: 'n/a', args: 'nil' });
    expect((await waitForStatus(body.job_ids[1], ['SUCCEEDED'])).args).toBe('a');

    const folder = runFolder(body.run_url);
    await eventually(async () => (await readdir(folder)).filter((name) => name.startsWith('result_')).length === 2);
    expect((await readdir(folder)).sort()).toEqual(['receipt.json', 'result_0.json', 'result_1.json', 'script.lua']);
    expect(await readFile(`${folder}/script.lua`, 'utf8')).toBe(ECHO);
    expect(await readFile(`${folder}/result_0.json`, 'utf8')).toBe('got nil');
    expect(await readFile(`${folder}/result_1.json`, 'utf8')).toBe('got a');
    expect(await readFile(`${folder}/receipt.json`, 'utf8')).toBe(
      '{\n  "name": "hello world",\n  "username": "alice",\n  "args": {\n    "0": " ",\n    "1": "a"\n  },\n  "environment": "test"\n}',
    );
  });

  it('the hello-world example: result_0.json holds the first return value; the job is an ordinary barge job', async () => {
    const body = await submitOk({ name: 'hello_world', script: base64(HELLO), args_list: [' '] });
    expect(await waitForStatus(body.job_ids[0], ['SUCCEEDED', 'FAILED'])).toMatchObject({ status: 'SUCCEEDED' });
    const folder = runFolder(body.run_url);
    await eventually(async () => (await readdir(folder)).includes('result_0.json'));
    expect(await readFile(`${folder}/result_0.json`, 'utf8')).toBe('Nice to meet you');
    const [job] = await sr.engine.store.jobList({ origin: 'sliderule', limit: 1 });
    expect(job).toMatchObject({ name: 'hello_world', owner: 'alice', origin: 'sliderule', state: 'SUCCEEDED' });
    // Downloadable through /v1 as the job's results.
    const download = await fetch(`${sr.url}/v1/jobs/${job.id}/results.tar.gz`, { headers: { authorization: `Bearer ${sr.adminToken}` } });
    expect(download.status).toBe(200);
    expect((await download.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });

  it('args (a list or one string) also answers job_id, the array id; children are <job_id>:<i>', async () => {
    const body = await submitOk({ name: 'arr', script: base64(ECHO), args: ['x', 'y'] });
    expect(body.job_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.job_ids).toHaveLength(2);
    await waitForStatus(body.job_ids[1], ['SUCCEEDED']);
    const answer = await report([`${body.job_id}:1`, body.job_id as string]);
    expect(answer[`${body.job_id}:1`]).toMatchObject({ status: 'SUCCEEDED', args: 'y' });
    expect(answer[body.job_id as string]).toMatchObject({ status: 'SUCCEEDED' });
    const single = await submitOk({ name: 'one', script: base64(ECHO), args: 'solo' });
    expect(single.job_ids).toHaveLength(1);
    expect((await waitForStatus(single.job_ids[0], ['SUCCEEDED'])).args).toBe('solo');
  });

  it('a Lua error fails only its element: FAILED with the error as statusReason, the others succeed, no result file', async () => {
    const script = 'if arg[2] == "bad" then error("boom") end\nreturn arg[2]\n';
    const body = await submitOk({ name: 'mixed', script: base64(script), args_list: ['ok1', 'bad', 'ok2'] });
    const failed = await waitForStatus(body.job_ids[1], ['FAILED', 'SUCCEEDED']);
    expect(failed.status).toBe('FAILED');
    expect(failed.statusReason).toContain('boom');
    expect((await waitForStatus(body.job_ids[0], ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');
    expect((await waitForStatus(body.job_ids[2], ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');
    const folder = runFolder(body.run_url);
    // Results land as their elements succeed; once the job ended, all are there and no more come.
    const [job] = await sr.engine.store.jobList({ origin: 'sliderule', limit: 1 });
    await eventually(async () => (await sr.engine.store.jobGet(job.id))?.state === 'FAILED');
    await eventually(async () => (await readdir(folder)).filter((name) => name.startsWith('result_')).length >= 2);
    expect((await readdir(folder)).sort()).toEqual(['receipt.json', 'result_0.json', 'result_2.json', 'script.lua']);
  });

  it('1,000 elements: ids in order, every result lands in the run folder', async () => {
    const args = Array.from({ length: 1_000 }, (_, i) => `e${i}`);
    const body = await submitOk({ name: 'thousand', script: base64('return arg[2]\n'), args_list: args });
    expect(body.job_ids).toHaveLength(1_000);
    expect(new Set(body.job_ids).size).toBe(1_000);
    const folder = runFolder(body.run_url);
    await eventually(async () => (await readdir(folder)).filter((name) => name.startsWith('result_')).length === 1_000, 120_000);
    expect(await readFile(`${folder}/result_0.json`, 'utf8')).toBe('e0');
    expect(await readFile(`${folder}/result_999.json`, 'utf8')).toBe('e999');
    const sample = await report([body.job_ids[0], body.job_ids[500], body.job_ids[999]]);
    expect(Object.values(sample).map((r) => [r.status, r.args])).toEqual([
      ['SUCCEEDED', 'e0'],
      ['SUCCEEDED', 'e500'],
      ['SUCCEEDED', 'e999'],
    ]);
  }, 150_000);
});

describe('POST /report/jobs', () => {
  it('§12 #15-18: job_list is required, a list, at most 100; unknown ids are left out', async () => {
    expect((await sr.call('/report/jobs', {})).json).toEqual({ error: 'bad request', error_description: 'missing job_list' });
    expect((await sr.call('/report/jobs', { job_list: 'my list' })).status).toBe(400);
    const tooMany = await sr.call('/report/jobs', { job_list: Array.from({ length: 101 }, (_, i) => i) });
    expect([tooMany.status, tooMany.json]).toEqual([400, { error: 'bad request', error_description: 'can only status up to 100 at a time' }]);
    const unknown = await sr.call('/report/jobs', { job_list: ['does_not_exist', '00000000-0000-0000-0000-000000000000'] });
    expect([unknown.status, unknown.text]).toEqual([200, '{}']);
  });

  it('§12 #19: a submitted id is known at once, with the report fields and createdAt format', async () => {
    const body = await submitOk({ name: 'fresh', script: base64(ECHO), args_list: ['q'] });
    const answer = await report([body.job_ids[0]]);
    const entry = answer[body.job_ids[0]];
    expect(Object.keys(entry)).toEqual(['status', 'statusReason', 'createdAt', 'jobDefinition', 'args']);
    expect(['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED']).toContain(entry.status);
    expect(entry.createdAt).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(entry.args).toBe('q');
  });

  it("another user's ids are not found", async () => {
    const body = await submitOk({ name: 'private', script: base64(ECHO), args_list: ['p'] });
    const asBob = await sr.call('/report/jobs', { job_list: body.job_ids }, { signer: sr.bob });
    expect([asBob.status, asBob.text]).toEqual([200, '{}']);
  });
});

describe('POST /report/queue', () => {
  it('§12 #20-22: states are checked; counts match the listing; the report is pre-seeded with 0', async () => {
    expect((await sr.call('/report/queue', { job_state: 1 })).status).toBe(400);
    const wrong = await sr.call('/report/queue', { job_state: ['RUNNING', 'WRONG'] });
    expect([wrong.status, wrong.json]).toEqual([400, { error: 'bad request', error_description: 'unknown job state supplied: WRONG' }]);
    const running = await sr.call('/report/queue', { job_state: 'RUNNING' });
    const body = running.json as { report: Record<string, number>; jobs: unknown[] };
    expect(Object.keys(body.report)).toEqual(['RUNNING']);
    expect(body.report.RUNNING).toBe(body.jobs.length);
  });

  it('no job_state reports all seven states; verbose false leaves out jobs; name and job_id filter', async () => {
    const body = await submitOk({ name: 'queued', script: base64(ECHO), args: ['1', '2', '3'] });
    await waitForStatus(body.job_ids[2], ['SUCCEEDED']);
    const all = (await sr.call('/report/queue', {})).json as { report: Record<string, number>; jobs: Array<{ job_id: string; name: string; status: string }> };
    expect(Object.keys(all.report)).toEqual(['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED']);
    expect(Object.values(all.report).reduce((a, b) => a + b, 0)).toBe(all.jobs.length);
    const quiet = (await sr.call('/report/queue', { job_state: ['SUCCEEDED'], verbose: false })).json as Record<string, unknown>;
    expect(Object.keys(quiet)).toEqual(['report']);
    const byName = (await sr.call('/report/queue', { job_state: ['SUCCEEDED'], name: 'queued' })).json as typeof all;
    expect(byName.jobs).toEqual(body.job_ids.map((id) => ({ job_id: id, name: 'queued', status: 'SUCCEEDED' })));
    const byArray = (await sr.call('/report/queue', { job_id: body.job_id })).json as typeof all;
    expect(byArray.report.SUCCEEDED).toBe(3);
  });
});

describe('POST /cancel', () => {
  it('§12 #23: cancels a running element for real: FAILED, Canceled by user; the others run on', async () => {
    const script = 'if arg[2] == "slow" then while true do end end\nreturn arg[2]\n';
    const body = await submitOk({ name: 'spin', script: base64(script), args_list: ['slow', 'fast'] });
    await waitForStatus(body.job_ids[0], ['RUNNING']);
    const answer = await sr.call('/cancel', { job_list: [body.job_ids[0]] });
    expect([answer.status, answer.json]).toEqual([200, [body.job_ids[0]]]);
    expect(await waitForStatus(body.job_ids[0], ['FAILED'])).toMatchObject({ status: 'FAILED', statusReason: 'Canceled by user' });
    expect((await waitForStatus(body.job_ids[1], ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');
    const [job] = await sr.engine.store.jobList({ origin: 'sliderule', limit: 1 });
    expect(job.name).toBe('spin');
    // FAILED, or CANCELLED when the cancel found `slow` the job's only unfinished element.
    await eventually(async () => ['FAILED', 'CANCELLED'].includes((await sr.engine.store.jobGet(job.id))?.state ?? ''));
    // The worker really stopped it: nothing of the job is still leased.
    expect(await sr.engine.store.executionList({ jobId: job.id, states: ['STARTING', 'RUNNING'], limit: 10 })).toEqual([]);
  });

  it('unknown ids are a 404; an empty list cancels nothing', async () => {
    const unknown = await sr.call('/cancel', { job_list: ['00000000-0000-0000-0000-000000000000'] });
    expect([unknown.status, unknown.json]).toEqual([404, { error: 'not found', error_description: 'failure in request' }]);
    expect((await sr.call('/cancel', { job_list: [] })).text).toBe('[]');
  });

  it('§12 #24: a null body (cancel_all) cancels every active job of the caller and lists its active elements', async () => {
    const spin = base64('while true do end\n');
    const a = await submitOk({ name: 'spin-a', script: spin, args_list: ['1', '2'] });
    const b = await submitOk({ name: 'spin-b', script: spin, args_list: ['3'] });
    const bobs = await submitOk({ name: 'spin-bob', script: spin, args_list: ['4'] }).catch(() => null);
    expect(bobs).not.toBeNull();
    await waitForStatus(a.job_ids[0], ['RUNNING']);
    const answer = await sr.call('/cancel', undefined, { raw: 'null' });
    expect(answer.status).toBe(200);
    const cancelled = answer.json as string[];
    // Every active element of the caller's: these, and any an earlier test left running.
    expect(cancelled).toEqual(expect.arrayContaining([...a.job_ids, ...b.job_ids, ...(bobs?.job_ids ?? [])]));
    for (const id of cancelled) expect(await waitForStatus(id, ['FAILED'])).toMatchObject({ statusReason: 'Canceled by user' });
    const nothingLeft = await sr.call('/cancel', undefined, { raw: 'null' });
    expect(nothingLeft.text).toBe('[]');
  });
});
