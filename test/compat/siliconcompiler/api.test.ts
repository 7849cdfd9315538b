/**
 * The SiliconCompiler face request by request: routing, validation and authentication in
 * sc-server's words, hostile uploads, the upload limit, quotas, and the black-box list of the
 * reference (§10), with one server whose credentials are API keys and one under `--sc-open`.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatElapsed } from '../../../src/api/compat/siliconcompiler/states.js';
import { cleanReplay, replayClient } from './client-replay.js';
import { clientForm, jobUpload, manifest, rawTarEntry, rawTarGz, startSc, TWO_BY_TWO, waitUntil, type ScUnderTest } from './helpers.js';

let sc: ScUnderTest;
let open: ScUnderTest;
const HASH = 'a'.repeat(32);

beforeAll(async () => {
  [sc, open] = await Promise.all([startSc(), startSc({ open: true, maxUploadBytes: 1024 * 1024, maxUploadFiles: 5, maxNodes: 3 })]);
});

afterAll(async () => {
  await Promise.all([sc?.close(), open?.close()]);
});

function runForm(params: unknown, upload?: Buffer): { body: Buffer; headers: Record<string, string> } {
  const parts: Array<[string, Buffer | string]> = [['params', JSON.stringify(params)]];
  if (upload) parts.push(['import', upload]);
  return clientForm(parts);
}

async function remoteRun(server: ScUnderTest, params: unknown, upload?: Buffer): Promise<Awaited<ReturnType<ScUnderTest['post']>>> {
  const form = runForm(params, upload);
  return server.post('/remote_run/', form.body, form.headers);
}

function stagingEmpty(server: ScUnderTest): boolean {
  return readdirSync(join(server.root, '.staging')).length === 0;
}

describe('routing (§10 1-3)', () => {
  it('answers only POST on its six routes; GET is 405 on them and 404 elsewhere', async () => {
    for (const path of ['/remote_run/', '/check_progress/', '/check_server/', '/cancel_job/', '/delete_job/']) {
      expect((await sc.get(path)).status, path).toBe(405);
    }
    expect((await sc.get(`/get_results/${HASH}.tar.gz`)).status).toBe(405);
    expect((await sc.get('/get_results/.gitignore')).status).toBe(404);
    expect((await sc.post('/get_results/.gitignore', '{}')).status).toBe(404);
    expect((await sc.post('/no_such_route/', '{}')).status).toBe(404);
  });

  it('reads JSON without a Content-Type, and treats an empty body as {}', async () => {
    const answer = await open.post('/check_server/');
    expect(answer.status).toBe(200);
    expect(answer.json.status).toBe('ready');
    const garbage = await open.post('/check_server/', 'not json');
    expect(garbage.status).toBe(400);
    expect(garbage.json).toEqual({ message: 'Error: Invalid parameters: data must be object.' });
  });
});

describe('check_server (§10 4-7)', () => {
  it('without credentials under --sc-open: exactly status, versions and progress_interval', async () => {
    const answer = await open.postJson('/check_server/', {});
    expect(answer.json).toEqual({ status: 'ready', versions: { sc: 'barge test', sc_schema: '0.57.1', sc_server: '0.0.1' }, progress_interval: 1 });
    // Credentials are ignored without auth (sc-server answered 500 here, §9 #1).
    const ignored = await open.postJson('/check_server/', { username: 'nobody', key: 'x' });
    expect(ignored.status).toBe(200);
    expect(ignored.json.user_info).toBeUndefined();
  });

  it('an authenticated user gets user_info from their quotas', async () => {
    const carol = await sc.user('carol', { computeSecondsPerPeriod: 3600, resultBytesPerPeriod: 10 * 1024 });
    const answer = await sc.postJson('/check_server/', carol);
    expect(answer.status).toBe(200);
    expect(answer.json.user_info).toEqual({ compute_time: 3600, bandwidth_kb: 10 });
    expect((await sc.postJson('/check_server/', sc.users.alice)).json.user_info).toEqual({ compute_time: 0, bandwidth_kb: 0 });
  });

  it('refuses a username without a key, missing credentials and a wrong key in sc-server words', async () => {
    const lonely = await sc.postJson('/check_server/', { username: 'testuser' });
    expect(lonely.status).toBe(400);
    expect(lonely.json).toEqual({ message: 'Error: Invalid parameters: data missing dependency key for username.' });
    const missing = await sc.postJson('/check_server/', {});
    expect(missing.status).toBe(400);
    expect(missing.json).toEqual({ message: 'Error: some authentication parameters are missing.' });
    const wrong = await sc.postJson('/check_server/', { username: 'alice', key: 'barge_k_wrong' });
    expect(wrong.status).toBe(403);
    expect(wrong.json).toEqual({ message: 'Authentication error.' });
    // Bob's key is not alice's.
    expect((await sc.postJson('/check_server/', { username: 'alice', key: sc.users.bob.key })).status).toBe(403);
    expect((await sc.postJson('/check_server/', { username: 'alice', key: sc.users.alice.key, extra: 1 })).json).toEqual({
      message: 'Error: Invalid parameters: data must contain only specified properties.',
    });
  });
});

describe('remote_run (§10 8-13)', () => {
  it('refuses a form without a manifest, unknown params, and a viewer', async () => {
    const noCfg = await remoteRun(sc, { params: sc.users.alice }, await jobUpload());
    expect(noCfg.status).toBe(400);
    expect(noCfg.json.message).toContain('Manifest not provided');
    const noParams = await sc.post('/remote_run/', clientForm([['import', await jobUpload()]]).body, clientForm([]).headers);
    expect(noParams.status).toBe(400);
    const bogus = await remoteRun(sc, { cfg: manifest(TWO_BY_TWO), params: { bogus: 'value' } }, await jobUpload());
    expect(bogus.status).toBe(400);
    expect(bogus.json.message).toBe('Error: Invalid parameters: data must contain only specified properties.');
    const viewer = await remoteRun(sc, { cfg: manifest(TWO_BY_TWO), params: sc.users.viewer }, await jobUpload());
    expect(viewer.status).toBe(403);
    const badFlow = await remoteRun(sc, { cfg: { ...manifest(TWO_BY_TWO), flowgraph: {} }, params: sc.users.alice }, await jobUpload());
    expect(badFlow.status).toBe(400);
    expect(badFlow.json.message).toContain('no flowgraph "testflow"');
    expect(stagingEmpty(sc)).toBe(true);
  });

  it('answers a fresh hash, claims the job before answering, and accepts an old job_hash in params', async () => {
    const answer = await remoteRun(sc, { cfg: manifest({ nodes: { 'syn/0': { args: ['sleep=1'] } } }), params: { ...sc.users.alice, job_hash: HASH } }, await jobUpload());
    expect(answer.status).toBe(200);
    const hash = answer.json.job_hash as string;
    expect(hash).toMatch(/^[0-9a-f]{32}$/);
    expect(hash).not.toBe(HASH);
    expect(answer.json).toEqual({ message: `Starting job: ${hash}`, interval: 1, job_hash: hash });
    const progress = await sc.postJson('/check_progress/', { job_hash: hash, job_id: 'job0', ...sc.users.alice });
    expect(progress.json.status).toBe('running');
    expect(existsSync(join(sc.root, hash, 'gcd/job0/sc_collected_files/gcd.v'))).toBe(true);
    expect(await readFile(join(sc.root, '.gitignore'), 'utf8')).toBe('*\n');
    expect(stagingEmpty(sc)).toBe(true);
    // Bob does not see alice's job at all.
    const bobs = await sc.postJson('/check_progress/', { job_hash: hash, job_id: 'job0', ...sc.users.bob });
    expect(bobs.json).toEqual({ status: 'completed', message: 'Job has no running steps.' });
    await waitUntil(async () => (await sc.postJson('/check_progress/', { job_hash: hash, job_id: 'job0', ...sc.users.alice })).json.status === 'completed', 'the job to end');
  });

  it('refuses a non-tar import with a 400 and leaves staging empty', async () => {
    const answer = await remoteRun(sc, { cfg: manifest(TWO_BY_TWO), params: sc.users.alice }, Buffer.from('this is not a tar.gz'));
    expect(answer.status).toBe(400);
    expect(answer.json.message).toContain('not a readable tar.gz');
    expect(stagingEmpty(sc)).toBe(true);
  });

  it('accepts 2 MB params and a 2 MB import by default; over a 1 MB limit is 413', async () => {
    const big = { padding: 'x'.repeat(2 * 1024 * 1024) };
    const bytes = Buffer.alloc(2 * 1024 * 1024, 1);
    const accepted = await remoteRun(sc, { ...big, params: sc.users.alice }, bytes);
    expect(accepted.status).toBe(400);
    expect(accepted.json.message).toBe('Manifest not provided.');
    const limited = await remoteRun(open, { ...big }, bytes);
    expect(limited.status).toBe(413);
    // Without a Content-Length up front (chunked), the stream's size is what counts.
    const form = runForm({ cfg: manifest(TWO_BY_TWO) }, bytes);
    const chunked = await open.post('/remote_run/', form.body, { ...form.headers, 'transfer-encoding': 'chunked', 'content-length': '' });
    expect([413, 400]).toContain(chunked.status);
    expect(stagingEmpty(open)).toBe(true);
  });
});

describe('hostile uploads', () => {
  const cfg = manifest({ nodes: { 'syn/0': {} } });
  const cases: Array<[string, Buffer, string]> = [
    ['a .. path', rawTarGz([rawTarEntry('../escaped.txt', '0', 'owned')]), 'climbs out'],
    ['a nested .. path', rawTarGz([rawTarEntry('sc_collected_files/../../../escaped.txt', '0', 'owned')]), 'climbs out'],
    ['an absolute path', rawTarGz([rawTarEntry('/tmp/escaped.txt', '0', 'owned')]), 'absolute'],
    ['a symbolic link out', rawTarGz([rawTarEntry('sc_collected_files/passwd', '2', '', '/etc/passwd')]), 'link'],
    ['a relative symbolic link', rawTarGz([rawTarEntry('inside', '2', '', '../../..')]), 'link'],
    ['a hard link', rawTarGz([rawTarEntry('hard', '1', '', '/etc/passwd')]), 'link'],
    ['a character device', rawTarGz([rawTarEntry('tty', '3')]), 'CharacterDevice'],
    ['a fifo', rawTarGz([rawTarEntry('pipe', '6')]), 'FIFO'],
  ];
  for (const [what, upload, words] of cases) {
    it(`refuses ${what}, writes nothing and leaves staging empty`, async () => {
      const before = readdirSync(open.root).sort();
      const answer = await remoteRun(open, { cfg }, upload);
      expect(answer.status).toBe(400);
      expect(answer.json.message).toContain(words);
      expect(readdirSync(open.root).sort()).toEqual(before);
      expect(existsSync(join(open.root, 'escaped.txt'))).toBe(false);
      expect(existsSync('/tmp/escaped.txt')).toBe(false);
      expect(stagingEmpty(open)).toBe(true);
    });
  }

  it('accepts the client root entry "/" but refuses more files than the limit', async () => {
    const root = rawTarEntry('/', '5');
    const ok = await remoteRun(open, { cfg }, rawTarGz([root, rawTarEntry('job.log', '0', 'log\n')]));
    expect(ok.status, ok.text).toBe(200);
    const many = rawTarGz(Array.from({ length: 6 }, (_, i) => rawTarEntry(`f${i}`, '0', 'x')));
    const refused = await remoteRun(open, { cfg }, many);
    expect(refused.status).toBe(400);
    expect(refused.json.message).toContain('more than 5 entries');
    expect(stagingEmpty(open)).toBe(true);
  });
});

describe('check_progress (§10 14-18)', () => {
  it('answers completed for unknown jobs, with and without auth', async () => {
    const completed = { status: 'completed', message: 'Job has no running steps.' };
    expect((await open.postJson('/check_progress/', { job_hash: HASH, job_id: 'job0' })).json).toEqual(completed);
    expect((await sc.postJson('/check_progress/', { job_hash: HASH, job_id: 'job0', ...sc.users.alice })).json).toEqual(completed);
  });

  it('validates the hash and job_id in sc-server words', async () => {
    const upper = await open.postJson('/check_progress/', { job_hash: 'A'.repeat(32), job_id: 'job0' });
    expect(upper.status).toBe(400);
    expect(upper.json.message).toBe('Error: Invalid parameters: data.job_hash must match pattern ^[0-9a-f]{32}$.');
    const newline = await open.postJson('/check_progress/', { job_hash: `${HASH}\n`, job_id: 'job0' });
    expect(newline.status).toBe(400);
    const noId = await open.postJson('/check_progress/', { job_hash: HASH });
    expect(noId.json.message).toBe("Error: Invalid parameters: data must contain ['job_hash', 'job_id'] properties.");
    expect((await open.postJson('/check_progress/', [1])).json.message).toBe('Error: Invalid parameters: data must be object.');
  });

  it('formats elapsed times as H:MM:SS', () => {
    expect(formatElapsed(125)).toBe('0:02:05');
    expect(formatElapsed(65)).toBe('0:01:05');
    expect(formatElapsed(3 * 3600 + 7)).toBe('3:00:07');
    expect(formatElapsed(-4)).toBe('0:00:00');
  });
});

describe('get_results (§10 20-24)', () => {
  let hash: string;
  beforeAll(async () => {
    const replay = await replayClient(open, manifest({ nodes: { 'syn/0': {} } }), await jobUpload(), ['syn0']);
    hash = replay.hash;
    await cleanReplay(replay);
  });

  it('serves the archive bytes verbatim; {} is the setup archive', async () => {
    const node = await open.postJson(`/get_results/${hash}.tar.gz`, { node: 'syn0' });
    expect(node.status).toBe(200);
    expect(node.headers['content-encoding']).toBeUndefined();
    expect(node.body.equals(await readFile(join(open.root, hash, `${hash}_syn0.tar.gz`)))).toBe(true);
    const setup = await open.post(`/get_results/${hash}.tar.gz`);
    expect(setup.body.equals(await readFile(join(open.root, hash, `${hash}_None.tar.gz`)))).toBe(true);
  });

  it('answers 404 for a missing archive, and passes node names with dots', async () => {
    for (const node of ['write.gds0', 'dfm.metal_fill0']) {
      const answer = await open.postJson(`/get_results/${hash}.tar.gz`, { node });
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual({ message: 'Could not find results for the requested job/node.' });
    }
  });

  it('refuses path tricks in the URL hash with 400 Invalid parameters, leaking nothing', async () => {
    for (const bad of ['%2e%2e%2f%2e%2e%2fetc%2fpasswd', '..%2f..%2fsecret', '%2E%2E%2Fsecret', 'notahash', 'A'.repeat(32), '..%2fx']) {
      const answer = await open.post(`/get_results/${bad}.tar.gz`, '{}');
      expect(answer.status, bad).toBe(400);
      expect(answer.json.message).toContain('Invalid parameters');
      expect(answer.text).not.toContain('root:');
    }
    expect((await open.postJson(`/get_results/${hash}.tar.gz`, { node: '../x' })).status).toBe(400);
  });

  it('refuses a list body, a wrong key, and another user', async () => {
    expect((await open.postJson(`/get_results/${hash}.tar.gz`, [1])).status).toBe(400);
    expect((await sc.postJson(`/get_results/${HASH}.tar.gz`, { username: 'alice', key: 'barge_k_wrong' })).status).toBe(403);
  });
});

describe('cancel_job and delete_job validation (§10 25, 27, 28-30)', () => {
  it('cancel: unknown is 404 exactly; bad bodies are 400', async () => {
    const unknown = await open.postJson('/cancel_job/', { job_hash: '0'.repeat(32) });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ message: 'Job is not running.', success: false });
    for (const body of [{}, { job_hash: 'not-a-hash' }, { job_hash: '../etc' }]) {
      expect((await open.postJson('/cancel_job/', body)).status).toBe(400);
    }
    expect((await sc.postJson('/cancel_job/', { job_hash: HASH, username: 'alice', key: 'nope' })).status).toBe(403);
  });

  it('delete: unknown is 200 text, an invalid hash 400', async () => {
    const unknown = await open.postJson('/delete_job/', { job_hash: '0'.repeat(32) });
    expect(unknown.status).toBe(200);
    expect(unknown.text).toBe('Job deleted.');
    expect((await open.postJson('/delete_job/', { job_hash: 'nope' })).status).toBe(400);
  });
});

describe('quotas in sc-server shapes', () => {
  it('403 Too many nodes in flowgraph over the server limit and over a user queue quota', async () => {
    const over = await remoteRun(open, { cfg: manifest(TWO_BY_TWO) }, await jobUpload());
    expect(over.status).toBe(403);
    expect(over.json).toEqual({ message: 'Too many nodes in flowgraph' });
    const dave = await sc.user('dave', { queuedExecutions: 4 });
    const queued = await remoteRun(sc, { cfg: manifest(TWO_BY_TWO), params: dave }, await jobUpload());
    expect(queued.status).toBe(403);
    expect(queued.json).toEqual({ message: 'Too many nodes in flowgraph' });
  });

  it('400 when the compute time is spent', async () => {
    const erin = await sc.user('erin', { computeSecondsPerPeriod: 0 });
    const answer = await remoteRun(sc, { cfg: manifest({ nodes: { 'syn/0': {} } }), params: erin }, await jobUpload());
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ message: 'User account is out of bandwidth or time' });
    expect((await sc.postJson('/check_server/', erin)).json.user_info).toEqual({ compute_time: 0, bandwidth_kb: 0 });
  });

  it('503 over the download limit, then 400 on the next run', async () => {
    const frank = await sc.user('frank', { resultBytesPerPeriod: 100 });
    const replay = await replayClient(sc, manifest({ nodes: { 'syn/0': {} } }), await jobUpload(), ['syn0'], { credentials: frank });
    try {
      // The setup archive alone is more than 100 bytes.
      expect(replay.fetched.null).toBe(503);
      const answer = await sc.postJson(`/get_results/${replay.hash}.tar.gz`, { ...frank, node: 'syn0' });
      expect(answer.status).toBe(503);
      expect(answer.json).toEqual({ message: 'Result size is over the download limit' });
    } finally {
      await cleanReplay(replay);
    }
    await sc.setQuotas('frank', { resultBytesPerPeriod: 1 });
    const small = await sc.user('frank2', { resultBytesPerPeriod: 100_000 });
    const served = await replayClient(sc, manifest({ nodes: { 'syn/0': {} } }), await jobUpload(), ['syn0'], { credentials: small });
    await cleanReplay(served);
    await sc.setQuotas('frank2', { resultBytesPerPeriod: 1 });
    const next = await remoteRun(sc, { cfg: manifest({ nodes: { 'syn/0': {} } }), params: small }, await jobUpload());
    expect(next.status).toBe(400);
    expect(next.json).toEqual({ message: 'User account is out of bandwidth or time' });
  });
});
