/**
 * Store factories for tests: a fresh SQLite file, or a fresh database on the throwaway PostgreSQL
 * cluster that the global setup started. `storeKinds` lists both, so a suite runs once per store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { freshPgUrl } from './pg.js';

export type StoreKind = 'sqlite' | 'postgres';
export const storeKinds: StoreKind[] = ['sqlite', 'postgres'];

export interface TestStore {
  store: Store;
  /** The URL the store was opened with (for other processes to open the same database). */
  url: string;
  dir: string;
  close(): Promise<void>;
}

export async function makeTestStore(kind: StoreKind): Promise<TestStore> {
  const dir = mkdtempSync(join(tmpdir(), 'barge-test-'));
  const url = kind === 'sqlite' ? `sqlite:${join(dir, 'barge.db')}` : await freshPgUrl();
  const store = await openStore(url);
  return {
    store,
    url,
    dir,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
