/**
 * Claims from several processes at once, on both stores: SQLite processes share one file (BEGIN
 * IMMEDIATE and the busy timeout serialize them), PostgreSQL processes share a database (FOR
 * UPDATE SKIP LOCKED). Every runnable execution is claimed exactly once.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { freshPgUrl, pgAvailable } from '../helpers/pg.js';
import { makeExecution, makeJob } from './fixtures.js';

const PROCESSES = 4;
const PER_OWNER = 1_500;
const OWNERS = ['ann', 'bob', 'cy'];

const root = mkdtempSync(join(tmpdir(), 'barge-multiprocess-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function seed(store: Store): Promise<string[]> {
  const all: string[] = [];
  for (const owner of OWNERS) {
    const job = makeJob({ owner });
    await store.jobInsert(job);
    const rows = Array.from({ length: PER_OWNER }, (_, idx) => makeExecution(job, { idx }));
    await store.executionInsertMany(rows);
    all.push(...rows.map((r) => r.id));
  }
  return all;
}

function runClaimer(url: string, outFile: string, goFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/store/claim-process.ts', url, outFile, goFile], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

async function waitForFiles(files: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!files.every((file) => existsSync(file))) {
    if (Date.now() > deadline) throw new Error(`processes not ready: ${files.filter((f) => !existsSync(f)).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function claimFromProcesses(url: string, dir: string): Promise<void> {
  const store = await openStore(url);
  let expected: string[];
  try {
    expected = await seed(store);
  } finally {
    await store.close();
  }
  const outFiles = Array.from({ length: PROCESSES }, (_, i) => join(dir, `claimed-${i}.txt`));
  const goFile = join(dir, 'go');
  const exits = outFiles.map((file) => runClaimer(url, file, goFile));
  await waitForFiles(outFiles.map((file) => `${file}.ready`));
  writeFileSync(goFile, '');
  expect(await Promise.all(exits)).toEqual(Array(PROCESSES).fill(0));

  const perProcess = outFiles.map((file) => readFileSync(file, 'utf8').split('\n').filter(Boolean));
  const claimed = perProcess.flat();
  expect(claimed).toHaveLength(expected.length);
  expect(new Set(claimed)).toEqual(new Set(expected));
  // The processes really competed: each one won some claims.
  for (const ids of perProcess) expect(ids.length).toBeGreaterThan(0);
}

describe('claims from several processes', () => {
  it(`SQLite: ${PROCESSES} processes on one file claim each execution exactly once`, { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(root, 'sqlite-'));
    await claimFromProcesses(`sqlite:${join(dir, 'barge.db')}`, dir);
  });

  it.skipIf(!pgAvailable())(
    `PostgreSQL: ${PROCESSES} processes claim each execution exactly once`,
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(join(root, 'pg-'));
      await claimFromProcesses(await freshPgUrl(), dir);
    },
  );
});
