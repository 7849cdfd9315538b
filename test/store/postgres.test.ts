/** The store conformance suite against PostgreSQL: a fresh database per file, a fresh schema per case. */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { PG_SKIP_REASON, freshPgUrl, pgAvailable } from '../helpers/pg.js';
import { runStoreConformance } from './conformance.js';

if (pgAvailable()) {
  let databaseUrl = '';
  beforeAll(async () => {
    databaseUrl = await freshPgUrl();
  });
  runStoreConformance('postgres', () =>
    PostgresStore.open(databaseUrl, { schema: `case_${randomBytes(6).toString('hex')}` }),
  );
} else {
  describe('postgres store conformance', () => {
    it.skip(PG_SKIP_REASON, () => undefined);
  });
}
