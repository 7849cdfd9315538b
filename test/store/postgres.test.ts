/** The store conformance suite against PostgreSQL: a fresh database per file, a fresh schema per case. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idsByPrefixSql } from '../../src/store/postgres/jobs.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Queries } from '../../src/store/store.js';
import { freshPgUrl, pgAvailable } from '../helpers/pg.js';
import { runStoreConformance } from './conformance.js';
import { makeExecution, makeJob } from './fixtures.js';

let databaseUrl = '';
if (pgAvailable()) {
  beforeAll(async () => {
    databaseUrl = await freshPgUrl();
  });
  runStoreConformance('postgres', () =>
    PostgresStore.open(databaseUrl, { schema: `case_${randomBytes(6).toString('hex')}` }),
  );
}

describe.skipIf(!pgAvailable())('postgres transactions', () => {
  let store: PostgresStore;
  beforeAll(async () => {
    store = await PostgresStore.open(databaseUrl, { schema: `deadlock_${randomBytes(6).toString('hex')}` });
  });
  afterAll(async () => {
    await store?.close();
  });

  it('reruns the victim of a deadlock, so both transactions land', async () => {
    const [a, b] = [makeJob(), makeJob()];
    await store.jobInsert(a);
    await store.jobInsert(b);
    let bothLocked!: () => void;
    const barrier = new Promise<void>((resolve) => {
      let count = 0;
      bothLocked = () => (count += 1) === 2 && resolve();
    });
    let runs = 0;
    // Each locks one job, waits until the other holds its lock, then wants the other's: a deadlock.
    const crosswise = (first: string, second: string, name: string) =>
      store.tx(async (tx: Queries) => {
        runs += 1;
        await tx.jobSetVar({ id: first, name, value: 'first' });
        if (runs <= 2) {
          bothLocked();
          await barrier;
        }
        await tx.jobSetVar({ id: second, name, value: 'second' });
      });
    await Promise.all([crosswise(a.id, b.id, 'x'), crosswise(b.id, a.id, 'y')]);
    expect(runs).toBe(3);
    expect((await store.jobGet(a.id))?.vars).toMatchObject({ x: 'first', y: 'second' });
    expect((await store.jobGet(b.id))?.vars).toMatchObject({ x: 'second', y: 'first' });
  });

  it('survives the server cutting a connection a transaction holds between two statements', async () => {
    const failure = store.tx(async (tx) => {
      await tx.jobGet('none');
      expect(await terminateIdleInTransaction(databaseUrl)).toBe(1);
      // The client's 'error' event fired meanwhile (no listener would have killed the process).
      await new Promise((resolve) => setTimeout(resolve, 100));
      await tx.jobGet('none');
    });
    await expect(failure).rejects.toMatchObject({ code: 'BARGE_E_UNAVAILABLE' });
    // The pool hands out a working connection afterwards.
    expect(await store.jobGet('none')).toBeUndefined();
  });

  it('a decision read under the job lock waits for a transaction holding the job, then sees what it committed', async () => {
    const job = makeJob({ progress: 0 });
    await store.jobInsert(job);
    const running = makeExecution(job, { state: 'RUNNING' });
    await store.executionInsertMany([running]);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const holder = store.tx(async (tx) => {
      await tx.executionSetState({ id: running.id, from: ['RUNNING'], to: 'RUNNING', patch: { progress: 5 } });
      await tx.jobUpdate({ id: job.id, patch: { progress: 50 } });
      holding();
      await released;
    });
    await held;
    // A row another transaction holds is passed over, not waited for.
    expect(await store.tx((tx) => tx.executionListActive({ jobId: job.id, skipLocked: true }))).toEqual([]);
    expect((await store.tx((tx) => tx.jobGet(job.id)))?.progress).toBe(0);
    let waitedFor = false;
    const decider = store.tx(async (tx) => {
      const read = await tx.jobLock({ id: job.id, mode: 'update' });
      return { read, waitedFor };
    });
    await waitUntilBlocked(databaseUrl);
    waitedFor = true;
    release();
    await holder;
    const { read, waitedFor: afterWait } = await decider;
    expect(afterWait).toBe(true);
    expect(read?.progress).toBe(50);
  });
});

describe.skipIf(!pgAvailable())('postgres id prefix lookups', () => {
  it('search the primary key by range, never scan the table', async () => {
    const schema = `prefix_${randomBytes(6).toString('hex')}`;
    const store = await PostgresStore.open(databaseUrl, { schema });
    const client = new pg.Client({ connectionString: databaseUrl.replace(/\?.*$/u, '') });
    await client.connect();
    try {
      await client.query(`SET search_path TO ${schema}`);
      // An empty table: make the planner show whether the index can serve the range at all.
      await client.query('SET enable_seqscan = off');
      for (const table of ['jobs', 'executions'] as const) {
        const { rows } = await client.query(`EXPLAIN ${idsByPrefixSql(table)}`, ['abcdef', 'abcdefg', 11]);
        const plan = rows.map((row: { 'QUERY PLAN': string }) => row['QUERY PLAN']).join('\n');
        expect(plan).toMatch(/Index (Only )?Scan using \w+ on \w+/);
        expect(plan).toMatch(/Index Cond: \(\(id >= .*\) AND \(id < .*\)\)/);
      }
    } finally {
      await client.end();
      await store.close();
    }
  });
});

/** Ends, from another connection, every session of this database idle inside a transaction, as a server restart would. */
async function terminateIdleInTransaction(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url.replace(/\?.*$/u, '') });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
       WHERE datname = current_database() AND state = 'idle in transaction' AND pid <> pg_backend_pid()`,
    );
    return rows.length;
  } finally {
    await client.end();
  }
}

/** Resolves once some session of this database waits on a lock. */
async function waitUntilBlocked(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url.replace(/\?.*$/u, '') });
  client.on('error', () => undefined);
  await client.connect();
  try {
    for (;;) {
      const { rows } = await client.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      if ((rows[0] as { n: number }).n > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await client.end();
  }
}
