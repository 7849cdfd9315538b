/** The store conformance suite against PostgreSQL: a fresh database per file, a fresh schema per case. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Queries } from '../../src/store/store.js';
import { freshPgUrl, pgAvailable } from '../helpers/pg.js';
import { runStoreConformance } from './conformance.js';
import { makeJob } from './fixtures.js';

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
});
