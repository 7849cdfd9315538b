/** Opening stores from URLs, and migrations: concurrent first opens, reopening, a newer schema. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openStore, parseStoreUrl, redactPassword } from '../../src/store/open.js';
import { SqliteConnection } from '../../src/store/sqlite/connection.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { checkMigrationOrder } from '../../src/store/shared/migration.js';
import { freshPgUrl, pgAvailable } from '../helpers/pg.js';
import { makeJob } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'barge-open-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('parseStoreUrl', () => {
  it.each([
    ['sqlite:/var/lib/barge/barge.db', { dialect: 'sqlite', path: '/var/lib/barge/barge.db' }],
    ['sqlite:./.barge/barge.db', { dialect: 'sqlite', path: './.barge/barge.db' }],
    ['sqlite:///abs/barge.db', { dialect: 'sqlite', path: '/abs/barge.db' }],
    ['sqlite://rel/barge.db', { dialect: 'sqlite', path: 'rel/barge.db' }],
    ['.barge/barge.db', { dialect: 'sqlite', path: '.barge/barge.db' }],
    ['/data/jobs.sqlite3', { dialect: 'sqlite', path: '/data/jobs.sqlite3' }],
    ['postgres://u:p@127.0.0.1/db', { dialect: 'postgres', url: 'postgres://u:p@127.0.0.1/db' }],
    ['postgresql://127.0.0.1/db?schema=x', { dialect: 'postgres', url: 'postgresql://127.0.0.1/db?schema=x' }],
  ])('%s', (url, expected) => {
    expect(parseStoreUrl(url)).toEqual(expected);
  });

  it('names the problem, without the password, for anything else', () => {
    expect(() => parseStoreUrl('mysql://root:hunter2@127.0.0.1/db')).toThrow(/unsupported database URL.*sqlite:PATH/);
    expect(() => parseStoreUrl('mysql://root:hunter2@127.0.0.1/db')).not.toThrow(/hunter2/);
    expect(() => parseStoreUrl('barge.txt')).toThrow(/unsupported database URL/);
    expect(() => parseStoreUrl('sqlite:')).toThrow(/names no SQLite file/);
    expect(redactPassword('postgres://u:secret@h/db')).toBe('postgres://u:***@h/db');
  });
});

describe('migrations', () => {
  it('are numbered 1, 2, 3… with the same numbers and names in both dialects', () => {
    expect(() => checkMigrationOrder(SQLITE_MIGRATIONS)).not.toThrow();
    expect(() => checkMigrationOrder(POSTGRES_MIGRATIONS)).not.toThrow();
    expect(SQLITE_MIGRATIONS.map((m) => [m.version, m.name])).toEqual(POSTGRES_MIGRATIONS.map((m) => [m.version, m.name]));
    expect(() => checkMigrationOrder([{ version: 2, name: 'x', sql: '' }])).toThrow(/expected 1/);
  });

  it('SQLite: opening a new file from several stores at once migrates it once; reopening keeps the data', async () => {
    const path = join(root, 'nested', 'folder', 'concurrent.db');
    const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(`sqlite:${path}`)));
    const job = makeJob();
    await stores[0].jobInsert(job);
    expect(await stores[3].jobGet(job.id)).toEqual(job);
    await Promise.all(stores.map((s) => s.close()));

    const reopened = await openStore(path);
    expect(await reopened.jobGet(job.id)).toEqual(job);
    await reopened.close();
    const conn = new SqliteConnection(path);
    expect(conn.all('SELECT version FROM barge_migrations ORDER BY version').map((r) => r.version)).toEqual(
      SQLITE_MIGRATIONS.map((m) => m.version),
    );
    conn.close();
  });

  it('SQLite: refuses a database migrated by a newer barge', async () => {
    const path = join(root, 'newer.db');
    await (await openStore(path)).close();
    const conn = new SqliteConnection(path);
    conn.run(`INSERT INTO barge_migrations (version, name, applied_at) VALUES (999, 'future', '2099-01-01T00:00:00.000Z')`);
    conn.close();
    await expect(openStore(path)).rejects.toThrow(/version 999.*upgrade barge/);
  });

  it.skipIf(!pgAvailable())('PostgreSQL: several stores opening one new schema at once migrate it once', async () => {
    const url = `${await freshPgUrl()}?schema=together`;
    const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(url)));
    const job = makeJob();
    await stores[0].jobInsert(job);
    expect(await stores[3].jobGet(job.id)).toEqual(job);
    await Promise.all(stores.map((s) => s.close()));

    const client = new pg.Client({ connectionString: url.replace('?schema=together', '') });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const { rows } = await client.query('SELECT version FROM together.barge_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
      const { rows: publicTables } = await client.query(
        `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'jobs'`,
      );
      expect(publicTables[0].n).toBe(0);
      await client.query(`INSERT INTO together.barge_migrations (version, name) VALUES (999, 'future')`);
    } finally {
      await client.end();
    }
    await expect(openStore(url)).rejects.toThrow(/version 999.*upgrade barge/);
  });

  it.skipIf(!pgAvailable())('PostgreSQL: refuses a schema name that is not a plain identifier', async () => {
    await expect(openStore(`${await freshPgUrl()}?schema=bad;name`)).rejects.toThrow(/not a plain lowercase name/);
  });

  it.skipIf(!pgAvailable())('PostgreSQL: says which server it could not reach', async () => {
    await expect(openStore('postgres://nobody:pw@127.0.0.1:1/none')).rejects.toThrow(
      /PostgreSQL store at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none \(schema public\): .*ECONNREFUSED/,
    );
  });

  it('SQLite: says which file it could not open', async () => {
    const blocker = join(root, 'a-file');
    writeFileSync(blocker, '');
    await expect(openStore(`sqlite:${join(blocker, 'barge.db')}`)).rejects.toThrow(/SQLite store at .*a-file\/barge\.db: /);
  });
});

describe.skipIf(!pgAvailable())('PostgreSQL notifications between stores', () => {
  async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('reach every store on the same schema, not other schemas, and survive a dropped connection', async () => {
    const base = await freshPgUrl();
    const [sender, receiver, elsewhere] = await Promise.all([
      openStore(`${base}?schema=shared`),
      openStore(`${base}?schema=shared`),
      openStore(`${base}?schema=other`),
    ]);
    try {
      const heard: string[] = [];
      const heardElsewhere: string[] = [];
      await receiver.listen('work', (payload) => heard.push(payload));
      await elsewhere.listen('work', (payload) => heardElsewhere.push(payload));
      await sender.notify('work', 'first');
      await waitFor(() => heard.length === 1);

      // Kill the receiver's LISTEN connection: it reconnects and listens again.
      const admin = new pg.Client({ connectionString: base });
      admin.on('error', () => undefined);
      await admin.connect();
      try {
        const { rows } = await admin.query(
          `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
           WHERE datname = current_database() AND query LIKE 'LISTEN "barge.shared.work"%'`,
        );
        expect(rows.length).toBeGreaterThan(0);
      } finally {
        await admin.end();
      }
      const deadline = Date.now() + 10_000;
      while (!heard.includes('second') && Date.now() < deadline) {
        await sender.notify('work', 'second');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(heard).toContain('second');
      expect(heardElsewhere).toEqual([]);
    } finally {
      await Promise.all([sender.close(), receiver.close(), elsewhere.close()]);
    }
  });
});
