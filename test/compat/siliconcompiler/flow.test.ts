/**
 * SiliconCompiler jobs end to end through the client's polling loop: a 2×2 flowgraph, from/to
 * subsets, a failing node, cancel mid-run, delete; each SC job an ordinary barge job.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanReplay, replayClient } from './client-replay.js';
import { jobUpload, manifest, startSc, TWO_BY_TWO, waitUntil, type ScUnderTest } from './helpers.js';

let sc: ScUnderTest;

beforeAll(async () => {
  sc = await startSc();
});

afterAll(async () => {
  await sc?.close();
});

const ALL = ['place0', 'place1', 'syn0', 'syn1'];

describe('a 2×2 flowgraph through the client loop', () => {
  it('runs every node, serves setup and node archives, and the journals replay to success', async () => {
    const alice = sc.users.alice;
    const replay = await replayClient(sc, manifest(TWO_BY_TWO), await jobUpload(), ALL, { credentials: alice });
    try {
      expect(replay.ending).toBe('completed');
      expect(replay.fetched).toEqual({ null: 200, syn0: 200, syn1: 200, place0: 200, place1: 200 });
      expect(replay.replayed).toEqual({ syn0: 'success', syn1: 'success', place0: 'success', place1: 'success' });
      // The setup archive holds exactly the job manifest, with the server's remote id in it.
      const setup = JSON.parse(await readFile(join(replay.build, 'gcd/job0/gcd.pkg.json'), 'utf8')) as Record<string, unknown>;
      expect(JSON.stringify((setup.record as Record<string, unknown>).remoteid)).toContain(replay.hash);
      // place0 ran on syn0's outputs: the uploaded design and the chain came through.
      expect(await readFile(join(replay.build, 'gcd/job0/place/0/outputs/gcd.chain'), 'utf8')).toBe('syn0+place0\n');
      expect(existsSync(join(replay.build, 'gcd/job0/place/0/inputs/gcd.chain'))).toBe(true);
      expect(existsSync(join(replay.build, 'gcd/job0/syn/1/place.log'))).toBe(false);
      expect(existsSync(join(replay.build, 'gcd/job0/syn/1/syn.log'))).toBe(true);

      // The SC job is an ordinary barge job: origin, owner, one task per node plus setup.
      const record = JSON.parse(await readFile(join(sc.root, replay.hash, 'barge-job.json'), 'utf8')) as { jobId: string };
      const job = await sc.engine.store.jobGet(record.jobId);
      expect(job).toMatchObject({ origin: 'siliconcompiler', owner: 'alice', state: 'SUCCEEDED' });
      const tasks = await sc.engine.store.taskList(record.jobId);
      expect(tasks.map((task) => task.name).sort()).toEqual(['place/0', 'place/1', 'setup', 'syn/0', 'syn/1']);
      const place0 = tasks.find((task) => task.name === 'place/0');
      expect(place0?.needs).toEqual([tasks.find((task) => task.name === 'syn/0')?.id]);
      // Each node's archive is also its execution's artifact.
      const artifacts = await sc.engine.store.artifactList({ jobId: record.jobId });
      expect(artifacts.map((artifact) => artifact.path).sort()).toEqual(['place0.tar.gz', 'place1.tar.gz', 'syn0.tar.gz', 'syn1.tar.gz']);
    } finally {
      await cleanReplay(replay);
    }
  });

  it('shows a slow node running, with its elapsed time', async () => {
    const slow = manifest({ nodes: { 'syn/0': { args: ['sleep=1.5'] } } });
    const seenElapsed: string[] = [];
    const replay = await replayClient(sc, slow, await jobUpload(), ['syn0'], {
      credentials: sc.users.alice,
      pollMs: 100,
      onPoll: async (_hash, body) => {
        const table = body.message as Record<string, { elapsed_time?: string }> | string;
        if (typeof table === 'object' && table.syn0?.elapsed_time) seenElapsed.push(table.syn0.elapsed_time);
      },
    });
    try {
      expect(replay.seen.syn0).toContain('running');
      expect(replay.replayed).toEqual({ syn0: 'success' });
      expect(replay.seen.null[0]).toMatch(/pending|queued|running|success/);
      expect(seenElapsed.length).toBeGreaterThan(0);
    } finally {
      await cleanReplay(replay);
    }
  });
});

describe('node results', () => {
  it('keep a file with two names inside the node, but no link or name from outside it', async () => {
    const replay = await replayClient(sc, manifest({ nodes: { 'syn/0': { args: ['links'] } } }), await jobUpload(), ['syn0'], { credentials: sc.users.alice });
    try {
      const outputs = join(replay.build, 'gcd/job0/syn/0/outputs');
      expect(await readFile(join(outputs, 'own.txt'), 'utf8')).toBe('own\n');
      expect(await readFile(join(replay.build, 'gcd/job0/syn/0/inputs/own.txt'), 'utf8')).toBe('own\n');
      expect(existsSync(join(outputs, 'outside.v'))).toBe(false);
      expect(existsSync(join(outputs, 'passwd'))).toBe(false);
      expect(replay.replayed).toEqual({ syn0: 'success' });
    } finally {
      await cleanReplay(replay);
    }
  });
});

describe('a node that swaps a folder on the way to its results for a link', () => {
  it('gets no host file into its archive', async () => {
    const host = await mkdtemp(join(tmpdir(), 'barge-sc-host-'));
    try {
      await mkdir(join(host, '0'));
      await writeFile(join(host, '0', 'secret.txt'), 'host secret\n');
      const cfg = manifest({ nodes: { 'syn/0': { args: [`escape=${host}`] } } });
      const replay = await replayClient(sc, cfg, await jobUpload(), ['syn0'], { credentials: sc.users.alice });
      try {
        expect(replay.fetched.syn0).not.toBe(200);
        expect(existsSync(join(replay.build, 'gcd/job0/syn/0/secret.txt'))).toBe(false);
      } finally {
        await cleanReplay(replay);
      }
    } finally {
      await rm(host, { recursive: true, force: true });
    }
  });
});

describe('runtime flowgraph subsets', () => {
  it('option.to runs only the nodes up to those steps, and reports only them', async () => {
    const cfg = manifest({ ...TWO_BY_TWO, to: ['syn'] });
    const replay = await replayClient(sc, cfg, await jobUpload(), ['syn0', 'syn1'], { credentials: sc.users.alice });
    try {
      expect(Object.keys(replay.seen).sort()).toEqual(['null', 'syn0', 'syn1']);
      expect(replay.replayed).toEqual({ syn0: 'success', syn1: 'success' });
      expect(existsSync(join(replay.build, 'gcd/job0/place'))).toBe(false);
    } finally {
      await cleanReplay(replay);
    }
  });

  it('option.from starts from uploaded results: place runs on the syn outputs the client sent', async () => {
    // A resumed job: syn already ran locally, its folder travels in the upload.
    const synManifest = JSON.stringify({ __journal__: [] });
    const upload = await jobUpload({
      'sc_collected_files/gcd.v': 'module gcd(); endmodule\n',
      'syn/0/outputs/gcd.chain': 'syn0\n',
      'syn/0/outputs/gcd.pkg.json': synManifest,
      'syn/1/outputs/gcd.chain': 'syn1\n',
      'syn/1/outputs/gcd.pkg.json': synManifest,
    });
    const cfg = manifest({ ...TWO_BY_TWO, from: ['place'], recorded: { 'syn/0': 'success', 'syn/1': 'success' } });
    const replay = await replayClient(sc, cfg, upload, ['place0', 'place1'], { credentials: sc.users.alice });
    try {
      expect(Object.keys(replay.seen).sort()).toEqual(['null', 'place0', 'place1']);
      expect(replay.replayed).toEqual({ place0: 'success', place1: 'success' });
      expect(await readFile(join(replay.build, 'gcd/job0/place/1/outputs/gcd.chain'), 'utf8')).toBe('syn1+place1\n');
    } finally {
      await cleanReplay(replay);
    }
  });

  it('option.prune leaves a node and what only it feeds out', async () => {
    const cfg = manifest({ ...TWO_BY_TWO, prune: ['syn/1'] });
    const replay = await replayClient(sc, cfg, await jobUpload(), ['place0', 'syn0'], { credentials: sc.users.alice });
    try {
      expect(Object.keys(replay.seen).sort()).toEqual(['null', 'place0', 'syn0']);
    } finally {
      await cleanReplay(replay);
    }
  });
});

describe('a failing node', () => {
  it('ends in error, skips its dependents, and the other branch finishes', async () => {
    const cfg = manifest({ nodes: { ...TWO_BY_TWO.nodes, 'syn/1': { args: ['fail'] } } });
    const replay = await replayClient(sc, cfg, await jobUpload(), ALL, { credentials: sc.users.alice });
    try {
      expect(replay.ending).toBe('completed');
      // The failed node's archive holds its manifest, whose journal says error.
      expect(replay.fetched.syn1).toBe(200);
      expect(replay.replayed).toMatchObject({ syn0: 'success', place0: 'success', syn1: 'error' });
      // The skipped node has no archive: the client only warns.
      expect(replay.fetched.place1).toBe(404);
      const record = JSON.parse(await readFile(join(sc.root, replay.hash, 'barge-job.json'), 'utf8')) as { jobId: string };
      const tasks = await sc.engine.store.taskList(record.jobId);
      expect(tasks.find((task) => task.name === 'place/1')?.state).toBe('SKIPPED');
      expect(tasks.find((task) => task.name === 'place/0')?.state).toBe('SUCCEEDED');
    } finally {
      await cleanReplay(replay);
    }
  });
});

describe('cancel and delete', () => {
  it('cancel mid-run stops the job; check_progress then says canceled; delete removes it', async () => {
    const alice = sc.users.alice;
    const cfg = manifest({ nodes: { 'syn/0': { args: ['sleep=30'] }, 'place/0': { inputs: ['syn/0'] } } });
    let cancelled = false;
    const replay = await replayClient(sc, cfg, await jobUpload(), ['place0', 'syn0'], {
      credentials: alice,
      onPoll: async (hash, body) => {
        const table = body.message as Record<string, { status: string }>;
        if (cancelled || typeof table !== 'object' || table.syn0?.status !== 'running') return;
        // Another user cannot cancel it; a wrong key neither.
        expect((await sc.postJson('/cancel_job/', { job_hash: hash, ...sc.users.bob })).status).toBe(404);
        expect((await sc.postJson('/cancel_job/', { job_hash: hash, username: 'alice', key: 'barge_k_wrong' })).status).toBe(403);
        // Running: delete refuses.
        const early = await sc.postJson('/delete_job/', { job_hash: hash, ...alice });
        expect(early.status).toBe(400);
        expect(early.json).toEqual({ message: 'Error: job is still running.' });
        const answer = await sc.postJson('/cancel_job/', { job_hash: hash, ...alice });
        expect(answer.status).toBe(200);
        expect(answer.json.success).toBe(true);
        cancelled = true;
      },
    });
    try {
      expect(cancelled).toBe(true);
      expect(replay.ending).toBe('canceled');
      const again = await sc.postJson('/cancel_job/', { job_hash: replay.hash, ...alice });
      expect(again.status).toBe(404);
      expect(again.json).toEqual({ message: 'Job is not running.', success: false });

      const record = JSON.parse(await readFile(join(sc.root, replay.hash, 'barge-job.json'), 'utf8')) as { jobId: string };
      expect((await sc.engine.store.jobGet(record.jobId))?.state).toBe('CANCELLED');
      const deleted = await sc.postJson('/delete_job/', { job_hash: replay.hash, ...alice });
      expect(deleted.status).toBe(200);
      expect(deleted.text).toBe('Job deleted.');
      expect(existsSync(join(sc.root, replay.hash))).toBe(false);
      expect(await sc.engine.store.jobGet(record.jobId)).toBeUndefined();
      const gone = await sc.postJson('/check_progress/', { job_hash: replay.hash, job_id: 'job0', ...alice });
      expect(gone.json).toEqual({ status: 'completed', message: 'Job has no running steps.' });
    } finally {
      await cleanReplay(replay);
    }
  });

  it('a finished job is deleted with its folder and barge job; unknown hashes answer the same', async () => {
    const alice = sc.users.alice;
    const replay = await replayClient(sc, manifest({ nodes: { 'syn/0': {} } }), await jobUpload(), ['syn0'], { credentials: alice });
    try {
      const archive = join(sc.root, replay.hash, `${replay.hash}_syn0.tar.gz`);
      expect(existsSync(archive)).toBe(true);
      // Bob cannot delete alice's job: the answer is the same, nothing is removed.
      expect((await sc.postJson('/delete_job/', { job_hash: replay.hash, ...sc.users.bob })).text).toBe('Job deleted.');
      expect(existsSync(archive)).toBe(true);
      const deleted = await sc.postJson('/delete_job/', { job_hash: replay.hash, ...alice });
      expect(deleted.status).toBe(200);
      expect(deleted.text).toBe('Job deleted.');
      await waitUntil(async () => !existsSync(join(sc.root, replay.hash)), 'the job folder to go');
      expect((await sc.postJson('/delete_job/', { job_hash: '0'.repeat(32), ...alice })).text).toBe('Job deleted.');
    } finally {
      await cleanReplay(replay);
    }
  });
});
