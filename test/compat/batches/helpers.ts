/**
 * The Batches face under test, asked the way the ET Engine SDK asks (et_engine/clients.py):
 * `requests.request(method, url, headers={"Authorization": key}, data=json.dumps(data))`, i.e. a
 * raw JSON string with no Content-Type, `{}` on GET and DELETE, the key raw in the header.
 * Node's fetch would add `text/plain` to a string body, so this speaks node:http itself.
 */
import { request as httpRequest } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCredential } from '../../../src/api/auth/index.js';
import { JwtVerifier, loadOrCreateSigningKey } from '../../../src/api/auth/jwt.js';
import { startApi, type ApiUnderTest, type User } from '../../api/helpers.js';
import type { StoreKind } from '../../helpers/stores.js';

export interface Answer {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
  json<T = unknown>(): T;
}

export interface BatchesUnderTest {
  api: ApiUnderTest;
  /** Each user's API key (`barge_k_…`). */
  keys: Record<User, string>;
  filesystemsRoot: string;
  /** A request as the SDK makes it; `data` is JSON-encoded as is (a string stays a string only when `raw`). */
  sdk(method: string, path: string, options?: { as?: User | null; data?: unknown; raw?: string; authorization?: string }): Promise<Answer>;
  close(): Promise<void>;
}

export async function startBatches(store: StoreKind = 'sqlite'): Promise<BatchesUnderTest> {
  const filesystemsRoot = await mkdtemp(join(tmpdir(), 'barge-filesystems-'));
  // barge's own JWTs, for `Bearer <jwt>`: its signing key in the test's folder.
  const signingKey = await loadOrCreateSigningKey(filesystemsRoot);
  const api = await startApi({ store, batches: { filesystemsRoot }, jwt: (queries) => new JwtVerifier({ store: queries, signingKey, trusted: [] }) });
  const keys = { admin: '', alice: '', bob: '' } as Record<User, string>;
  for (const name of ['admin', 'alice', 'bob'] as const) {
    const user = await api.bundle.engine.store.userGetByName(name);
    keys[name] = (await createCredential(api.bundle.engine.store, { userId: user!.id, kind: 'apikey', name: 'sdk' })).secret;
  }
  const sdk: BatchesUnderTest['sdk'] = (method, path, options = {}) =>
    new Promise((resolve, reject) => {
      const as = options.as === undefined ? 'alice' : options.as;
      const body = options.raw ?? JSON.stringify(options.data ?? {});
      const headers: Record<string, string> = { 'content-length': String(Buffer.byteLength(body)) };
      if (options.authorization !== undefined) headers.authorization = options.authorization;
      else if (as !== null) headers.authorization = keys[as];
      const req = httpRequest(`${api.url}${path}`, { method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, text, headers: res.headers, json: <T,>() => JSON.parse(text) as T });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  return {
    api,
    keys,
    filesystemsRoot,
    sdk,
    async close() {
      await api.close();
      await rm(filesystemsRoot, { recursive: true, force: true });
    },
  };
}
