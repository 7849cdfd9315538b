/**
 * SiliconCompiler's client loop (`Client.run`, `__run_loop`; reference §8.3) replayed over HTTP:
 * check_server, remote_run, check_progress until the job is no longer running (fetching the setup
 * archive once `null` is done and each node's archive once it is done), then the final fetches of
 * everything not yet fetched, each archive's `<hash>/` copied over a local build folder, and the
 * node manifests' `__journal__` replayed into a local record of node statuses.
 */
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { clientForm, unpack, type ScUnderTest } from './helpers.js';

const DONE = new Set(['success', 'error', 'skipped', 'timeout']);

export interface Credentials {
  username: string;
  key: string;
}

export interface Replay {
  hash: string;
  /** Every status each node key showed, in order, without repeats. */
  seen: Record<string, string[]>;
  /** The job status that ended polling. */
  ending: string;
  /** Per node key (`null` for setup), the HTTP status of its results fetch. */
  fetched: Record<string, number>;
  /** The local build folder the archives were copied over. */
  build: string;
  /** record.status per node as replayed from the node manifests' journals. */
  replayed: Record<string, string>;
  /** check_progress calls made. */
  polls: number;
}

export interface ReplayOptions {
  credentials?: Credentials;
  design?: string;
  jobname?: string;
  /** Called after each check_progress (cancel mid-run, …). */
  onPoll?: (hash: string, body: Record<string, unknown>) => Promise<void>;
  pollMs?: number;
}

export async function replayClient(sc: ScUnderTest, cfg: Record<string, unknown>, upload: Buffer | null, nodes: string[], options: ReplayOptions = {}): Promise<Replay> {
  const creds = options.credentials ? { username: options.credentials.username, key: options.credentials.key } : {};
  const design = options.design ?? 'gcd';
  const jobname = options.jobname ?? 'job0';

  const check = await sc.postJson('/check_server/', creds);
  expect(check.status).toBe(200);
  expect(check.json.status).toBe('ready');
  expect(typeof check.json.progress_interval).toBe('number');

  const parts: Array<[string, Buffer | string]> = [['params', JSON.stringify({ cfg, params: creds })]];
  if (upload) parts.push(['import', upload]);
  const form = clientForm(parts);
  const run = await sc.post('/remote_run/', form.body, form.headers);
  expect(run.status, run.text).toBe(200);
  const hash = run.json.job_hash as string;
  expect(hash).toMatch(/^[0-9a-f]{32}$/);

  const build = await mkdtemp(join(tmpdir(), 'sc-client-'));
  const seen: Record<string, string[]> = {};
  const fetched: Record<string, number> = {};
  const fetch = async (node: string | null): Promise<void> => {
    const body = node === null ? { ...creds } : { ...creds, node };
    const answer = await sc.post(`/get_results/${hash}.tar.gz`, JSON.stringify(body));
    fetched[node ?? 'null'] = answer.status;
    if (answer.status !== 200) return;
    const scratch = await mkdtemp(join(tmpdir(), 'sc-fetch-'));
    try {
      const names = await unpack(answer.body, scratch);
      for (const name of names) expect(name.startsWith(`${hash}/${design}/${jobname}/`), name).toBe(true);
      await cp(join(scratch, hash), build, { recursive: true });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  };

  let ending = 'running';
  let polls = 0;
  while (ending === 'running') {
    await new Promise((r) => setTimeout(r, options.pollMs ?? 150));
    const progress = await sc.postJson('/check_progress/', { job_hash: hash, job_id: jobname, ...creds });
    polls += 1;
    // The client polls forever on anything but 200: never answer otherwise.
    expect(progress.status).toBe(200);
    ending = progress.json.status as string;
    const message = progress.json.message;
    if (typeof message === 'object' && message !== null) {
      for (const [key, entry] of Object.entries(message as Record<string, { status: string; elapsed_time?: string }>)) {
        // The client's table has only the runtime nodes (and null): any other key crashes it.
        expect(['null', ...nodes]).toContain(key);
        expect(Object.keys(entry).every((field) => field === 'status' || field === 'elapsed_time')).toBe(true);
        expect(typeof entry.status).toBe('string');
        if (entry.elapsed_time !== undefined) expect(entry.elapsed_time).toMatch(/^\d+:\d\d:\d\d$/);
        const history = (seen[key] ??= []);
        if (history.at(-1) !== entry.status) history.push(entry.status);
        if (DONE.has(entry.status) && fetched[key] === undefined) await fetch(key === 'null' ? null : key);
      }
    }
    await options.onPoll?.(hash, progress.json);
    if (polls > 400) throw new Error('the job never stopped running');
  }
  if (fetched.null === undefined) await fetch(null);
  for (const node of nodes) if (fetched[node] === undefined) await fetch(node);

  const replayed: Record<string, string> = {};
  for (const node of nodes) {
    const match = /^(.*?)(\d+)$/.exec(node);
    if (!match) continue;
    const path = join(build, design, jobname, match[1], match[2], 'outputs', `${design}.pkg.json`);
    const manifest = JSON.parse(await readFile(path, 'utf8').catch(() => '{}')) as { __journal__?: Array<{ key: string[]; value: unknown; step: string | null; index: string | null }> };
    for (const record of manifest.__journal__ ?? []) {
      if (record.key.join(',') === 'record,status' && `${record.step ?? ''}${record.index ?? ''}` === node) replayed[node] = String(record.value);
    }
  }
  return { hash, seen, ending, fetched, build, replayed, polls };
}

export async function cleanReplay(replay: Replay): Promise<void> {
  await rm(replay.build, { recursive: true, force: true });
}

export async function ensureDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
}
