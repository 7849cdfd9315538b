/** The store conformance suite against SQLite: a fresh file per case. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { runStoreConformance } from './conformance.js';

const root = mkdtempSync(join(tmpdir(), 'barge-sqlite-conformance-'));
let files = 0;

afterAll(() => rmSync(root, { recursive: true, force: true }));

runStoreConformance('sqlite', () => SqliteStore.open(join(root, `store-${++files}.db`)));
