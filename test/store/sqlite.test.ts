/** The store conformance suite against SQLite: a fresh file per case. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { idsByPrefixSql } from '../../src/store/sqlite/jobs.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { runStoreConformance } from './conformance.js';

const root = mkdtempSync(join(tmpdir(), 'barge-sqlite-conformance-'));
let files = 0;

afterAll(() => rmSync(root, { recursive: true, force: true }));

runStoreConformance('sqlite', () => SqliteStore.open(join(root, `store-${++files}.db`)));

describe('sqlite id prefix lookups', () => {
  it('search the primary key by range, never scan the table', async () => {
    const file = join(root, 'prefix-plan.db');
    const store = await SqliteStore.open(file);
    await store.close();
    const db = new Database(file, { readonly: true });
    try {
      for (const table of ['jobs', 'executions'] as const) {
        const plan = db.prepare(`EXPLAIN QUERY PLAN ${idsByPrefixSql(table)}`).all('abcdef', 'abcdefg', 11) as Array<{ detail: string }>;
        const details = plan.map((step) => step.detail).join('; ');
        expect(details).toMatch(/SEARCH .* USING (COVERING )?INDEX .*\(id>\? AND id<\?\)/);
      }
    } finally {
      db.close();
    }
  });
});
