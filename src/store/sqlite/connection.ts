/**
 * The one better-sqlite3 connection of a SqliteStore: pragmas, a statement cache keyed by SQL
 * text, and BEGIN IMMEDIATE with retries. Everything here is synchronous; taking turns between
 * async callers is the store's job (sqlite-store.ts).
 */
import Database from 'better-sqlite3';
import type { Table, RawRow } from '../shared/codec.js';
import { decodeRow } from '../shared/codec.js';
import { isBusy } from './errors.js';
import { BargeError } from '../../core/errors.js';

export type Bind = unknown[];

/** How long a statement waits for another process's write lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 10_000;
/** Waits between attempts at BEGIN IMMEDIATE while another process writes: 1 ms plus up to 4 ms jitter. */
const BEGIN_RETRY_MIN_MS = 1;
const BEGIN_RETRY_JITTER_MS = 4;

const SQLITE_TRANSPORT = { jsonAsText: true, boolAsInt: true };

export class SqliteConnection {
  readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(readonly path: string) {
    this.db = new Database(path);
    // WAL lets readers in other processes go on while one process writes; NORMAL is durable
    // across application crashes (a power loss may lose the last commits, not corrupt the file).
    // The busy timeout comes first: switching to WAL takes a lock that another process opening
    // the same file at the same moment may hold.
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
  }

  /** The prepared statement for this SQL text, compiled once per connection. */
  statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs a write; the number of rows it changed. */
  run(sql: string, bind: Bind = []): number {
    return this.statement(sql).run(...bind).changes;
  }

  all(sql: string, bind: Bind = []): RawRow[] {
    return this.statement(sql).all(...bind) as RawRow[];
  }

  get(sql: string, bind: Bind = []): RawRow | undefined {
    return this.statement(sql).get(...bind) as RawRow | undefined;
  }

  /** Rows decoded into model rows through the table's column list. */
  rows<R>(table: Table<R>, sql: string, bind: Bind = []): R[] {
    return this.all(sql, bind).map((raw) => decodeRow(table, raw, SQLITE_TRANSPORT));
  }

  row<R>(table: Table<R>, sql: string, bind: Bind = []): R | undefined {
    const raw = this.get(sql, bind);
    return raw ? decodeRow(table, raw, SQLITE_TRANSPORT) : undefined;
  }

  /** The first column of the first row, as a number (counts). */
  number(sql: string, bind: Bind = []): number {
    const raw = this.get(sql, bind);
    return raw ? Number(Object.values(raw)[0] ?? 0) : 0;
  }

  /**
   * BEGIN IMMEDIATE takes the write lock up front, so two processes claiming at once are
   * serialized by SQLite rather than both reading the same candidates (a deferred transaction
   * that upgrades to a writer in WAL mode fails at once with SQLITE_BUSY_SNAPSHOT instead).
   *
   * While another process holds the lock, wait here asynchronously, retrying every few
   * milliseconds (with jitter) for up to the busy timeout, instead of inside SQLite's busy handler:
   * that handler blocks the whole event loop (heartbeats, HTTP) and backs off to 100 ms sleeps,
   * so a process that commits and begins again at once would keep the lock from sleeping ones.
   */
  async begin(): Promise<void> {
    const deadline = Date.now() + BUSY_TIMEOUT_MS;
    for (;;) {
      if (this.tryBegin()) return;
      if (Date.now() > deadline) {
        throw new BargeError('BARGE_E_UNAVAILABLE', `SQLite database ${this.path} stayed locked for ${BUSY_TIMEOUT_MS} ms`);
      }
      await sleep(BEGIN_RETRY_MIN_MS + Math.random() * BEGIN_RETRY_JITTER_MS);
    }
  }

  /** One BEGIN IMMEDIATE that fails at once on a held lock: false when busy. */
  private tryBegin(): boolean {
    this.run('PRAGMA busy_timeout = 0');
    try {
      this.db.exec('BEGIN IMMEDIATE');
      return true;
    } catch (error) {
      if (isBusy(error)) return false;
      throw error;
    } finally {
      this.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  commit(): void {
    this.db.exec('COMMIT');
  }

  /** Rolls back if a transaction is still open (SQLite ends some on its own after errors). */
  rollback(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  close(): void {
    this.statements.clear();
    this.db.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
