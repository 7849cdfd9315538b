/**
 * SiliconCompiler's server API under test: the real app on 127.0.0.1 over a real engine, SQLite
 * store and reaper, with the face's own node worker running nodes in the real shell runtime
 * (sandboxed where bubblewrap works). Nodes run test/fixtures/siliconcompiler/sc-node.py, a small
 * stand-in for SiliconCompiler's run_node, bound read-only into the sandbox.
 *
 * Requests are made with node:http so bodies go out exactly as SiliconCompiler's client sends them:
 * JSON as a raw string with no Content-Type, and remote_run's form with a filename on both parts
 * and no part Content-Type.
 */
import { request as httpRequest } from 'node:http';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { c as createTar, x as extractTar } from 'tar';
import { FolderArtifactStore } from '../../../src/artifacts/artifacts.js';
import { buildApp } from '../../../src/api/app.js';
import { createCredential, createUser } from '../../../src/api/auth/index.js';
import { createNodeWorker, ScFolders, type ScAppOptions } from '../../../src/api/compat/siliconcompiler/index.js';
import type { Quotas } from '../../../src/core/model.js';
import { Engine } from '../../../src/engine/engine.js';
import { newId } from '../../../src/engine/ids.js';
import { Reaper } from '../../../src/engine/reaper.js';
import { createShellRuntime } from '../../../src/worker/runtimes/index.js';
import type { Worker } from '../../../src/worker/worker.js';
import { makeTestStore, type TestStore } from '../../helpers/stores.js';

const FIXTURE = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/siliconcompiler/sc-node.py');

/** The node command running the fixture from `folder` (bound read-only into the sandbox). */
export function nodeCommand(folder: string): string {
  return `python3 ${join(folder, 'sc-node.py')} -cfg {manifest} -cwd {cwd} -builddir {builddir} -step {step} -index {index} -remoteid {hash} -unset_scheduler`;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  json: Record<string, unknown>;
}

export interface ScUnderTest {
  engine: Engine;
  db: TestStore;
  app: FastifyInstance;
  url: string;
  root: string;
  worker: Worker;
  /** A user `alice` with an API key, and `viewer`, a viewer. */
  users: { alice: { username: string; key: string }; bob: { username: string; key: string }; viewer: { username: string; key: string } };
  post(path: string, body?: string | Buffer, headers?: Record<string, string>): Promise<Answer>;
  get(path: string): Promise<Answer>;
  postJson(path: string, body: unknown): Promise<Answer>;
  setQuotas(user: string, quotas: Quotas): Promise<void>;
  /** A new ordinary user with an API key. */
  user(name: string, quotas?: Quotas): Promise<{ username: string; key: string }>;
  close(): Promise<void>;
}

export async function startSc(options: Partial<ScAppOptions> & { open?: boolean } = {}): Promise<ScUnderTest> {
  const db = await makeTestStore('sqlite');
  const engine = new Engine({ store: db.store, artifacts: new FolderArtifactStore(join(db.dir, 'artifacts')), leaseMs: 5_000 });
  const root = join(db.dir, 'siliconcompiler');
  // A copy the sandbox's task user (nobody, under a root worker) may read, as a tool installation would be.
  const tools = await mkdtemp(join(tmpdir(), 'sc-tools-'));
  await chmod(tools, 0o755);
  await copyFile(FIXTURE, join(tools, 'sc-node.py'));
  const sc: ScAppOptions = { root, open: false, checkIntervalSeconds: 1, node: { command: nodeCommand(tools), memoryMb: 512 }, ...options };
  const app = await buildApp({ engine, version: 'test', open: false, logger: false, siliconcompiler: sc });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const folders = new ScFolders(root);
  const worker = createNodeWorker({
    engine,
    folders,
    shell: createShellRuntime({ killGraceMs: 500, readOnlyPaths: [tools] }),
    processNodeId: newId(),
    version: 'test',
    cpus: 4,
    memoryMb: 8192,
  });
  worker.start();
  const reaper = new Reaper(engine, { nodeId: newId(), intervalMs: 200 });
  reaper.start();

  const user = async (name: string, role: 'user' | 'viewer', quotas?: Quotas): Promise<{ username: string; key: string }> => {
    const row = await createUser(engine.store, { name, role, quotas });
    return { username: name, key: (await createCredential(engine.store, { userId: row.id, kind: 'apikey' })).secret };
  };
  const users = { alice: await user('alice', 'user'), bob: await user('bob', 'user'), viewer: await user('viewer', 'viewer') };
  const post = (path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> => send(url, 'POST', path, body, headers);
  return {
    engine,
    db,
    app,
    url,
    root,
    worker,
    users,
    post,
    get: (path) => send(url, 'GET', path),
    postJson: (path, body) => post(path, JSON.stringify(body)),
    user: (name, quotas) => user(name, 'user', quotas),
    async setQuotas(name, quotas) {
      const row = await engine.store.userGetByName(name);
      if (!row) throw new Error(`no user ${name}`);
      await engine.store.userUpdate({ id: row.id, patch: { quotas } });
      engine.quotas.forget(name);
    },
    async close() {
      await app.close();
      await worker.stop();
      await reaper.stop();
      await db.close();
      await rm(tools, { recursive: true, force: true });
    },
  };
}

function send(url: string, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolvePromise, reject) => {
    const target = new URL(url);
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method,
        path,
        // A fresh connection each time, as an early 413 leaves the rest of its request unread.
        agent: false,
        // Only Content-Length, as the client's `requests.post(data=json.dumps(…))` sends.
        headers: { ...(payload ? { 'content-length': String(payload.length) } : {}), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const buffer = Buffer.concat(chunks);
          const text = buffer.toString('utf8');
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // Not JSON (archives, plain text).
          }
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: buffer, text, json });
        });
      },
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** The multipart form `requests.post(files=…)` builds: a filename on each part, no part Content-Type. */
export function clientForm(parts: Array<[name: string, content: Buffer | string]>): { body: Buffer; headers: Record<string, string> } {
  const boundary = `scboundary${newId()}`;
  const chunks: Buffer[] = [];
  for (const [name, content] of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}"\r\n\r\n`));
    chunks.push(Buffer.isBuffer(content) ? content : Buffer.from(content));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

// ---- manifests -------------------------------------------------------------------------------

type Param = { node: Record<string, Record<string, { value: unknown; signature?: unknown }>> };

function param(value: unknown): Param {
  return { node: { '*': { '*': { value, signature: null } }, default: { default: { value: null, signature: null } } } };
}

export interface FlowSpec {
  /** `<step>/<index>` → its inputs as `<step>/<index>`, and node args. */
  nodes: Record<string, { inputs?: string[]; args?: string[] }>;
  from?: string[];
  to?: string[];
  prune?: string[];
  /** Per `<step>/<index>`, a `record.status` the manifest already holds. */
  recorded?: Record<string, string>;
}

/** A manifest in SiliconCompiler's getdict() shape, with only what the server and the fixture read. */
export function manifest(flow: FlowSpec, design = 'gcd', jobname = 'job0'): Record<string, unknown> {
  const graph: Record<string, Record<string, unknown>> = { default: { default: { input: param([]) } } };
  for (const [name, node] of Object.entries(flow.nodes)) {
    const [step, index] = name.split('/');
    graph[step] ??= {};
    graph[step][index] = {
      input: param((node.inputs ?? []).map((input) => input.split('/'))),
      args: param(node.args ?? []),
      task: param('nop'),
    };
  }
  const status: Param = { node: { default: { default: { value: null } } } };
  for (const [name, value] of Object.entries(flow.recorded ?? {})) {
    const [step, index] = name.split('/');
    status.node[step] ??= {};
    status.node[step][index] = { value };
  }
  return {
    __meta__: { class: 'siliconcompiler.project/Project', sctype: 'Project' },
    option: {
      design: param(design),
      flow: param('testflow'),
      jobname: { node: { default: { default: { value: jobname, signature: null } } } },
      from: param(flow.from ?? []),
      to: param(flow.to ?? []),
      prune: param((flow.prune ?? []).map((node) => node.split('/'))),
      builddir: param('build'),
      remote: param(true),
      nodashboard: param(false),
      nodisplay: param(false),
      quiet: param(false),
    },
    record: { status, remoteid: param(null) },
    flowgraph: { testflow: graph },
  };
}

/** A 2×2 flowgraph: two parallel `syn` nodes, each feeding a `place` node with the same index. */
export const TWO_BY_TWO: FlowSpec = {
  nodes: {
    'syn/0': {},
    'syn/1': {},
    'place/0': { inputs: ['syn/0'] },
    'place/1': { inputs: ['syn/1'] },
  },
};

// ---- archives --------------------------------------------------------------------------------

/** The client's upload: a tar.gz of a job folder holding `sc_collected_files/` and `job.log`. */
export async function jobUpload(files: Record<string, string> = { 'sc_collected_files/gcd.v': 'module gcd(); endmodule\n', 'job.log': 'collected\n' }): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'sc-upload-'));
  try {
    for (const [name, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await writeFile(join(dir, name), content);
    }
    const file = join(dir, '..', `${dir.split('/').pop()}.tar.gz`);
    await createTar({ file, cwd: dir, gzip: true, portable: true }, Object.keys(files).map((name) => name.split('/')[0]).filter((v, i, a) => a.indexOf(v) === i));
    const bytes = await readFile(file);
    await rm(file, { force: true });
    return bytes;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A raw ustar entry: any name and type, for hostile uploads a tar library would not write. */
export function rawTarEntry(name: string, type: '0' | '1' | '2' | '3' | '5' | '6', content = '', linkName = ''): Buffer {
  const header = Buffer.alloc(512, 0);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${Buffer.byteLength(content).toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write(type, 156);
  header.write(linkName, 157, 100, 'utf8');
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const data = Buffer.alloc(Math.ceil(Buffer.byteLength(content) / 512) * 512, 0);
  data.write(content);
  return Buffer.concat([header, data]);
}

export function rawTarGz(entries: Buffer[]): Buffer {
  return gzipSync(Buffer.concat([...entries, Buffer.alloc(1024, 0)]));
}

/** Extracts a results archive into `dest`; returns its member names. */
export async function unpack(archive: Buffer, dest: string): Promise<string[]> {
  await mkdir(dest, { recursive: true });
  const file = join(dest, `.archive-${newId()}.tar.gz`);
  await writeFile(file, archive);
  const names: string[] = [];
  await extractTar({ file, cwd: dest, onReadEntry: (entry) => void names.push(entry.path) });
  await rm(file);
  return names;
}

export function waitUntil<T>(check: () => Promise<T | undefined | null | false>, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  return (async () => {
    for (;;) {
      const value = await check();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
}
