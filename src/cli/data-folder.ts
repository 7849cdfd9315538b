/**
 * The data folder (`--data`, default ./.barge) belongs to one worker-running process at a time
 * (`barge up`, `barge worker`). Two on one folder would take each other for a crashed predecessor
 * and hand back each other's running executions (which then run twice). So those commands take an
 * exclusive lock on the folder before they touch the store, and a second one exits at once naming
 * the holder's pid and address. Every process is its own node with a fresh id; the holder of the
 * lock may hand back what is still leased to the previous holder, which cannot be running.
 *
 * `barge server` runs no work and hands nothing back, so it takes no lock: it may share a folder
 * with a worker on the same machine (and with it the artifact folder that results are served from).
 *
 * The lock is an OS file lock held by an SQLite connection in EXCLUSIVE locking mode on
 * `barge.lock` (better-sqlite3 is already here; Node has no flock). The kernel drops it when the
 * holder dies, even by kill -9, so there is never a stale lock to clean up. It works on local
 * file systems; a data folder on NFS gets no such guarantee.
 *
 * Modes: the folder is 0700 and what barge writes into it 0600, tightened at every start, so other
 * local users read neither the database nor the artifacts.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { newId } from '../engine/ids.js';

export const FOLDER_MODE = 0o700;
export const FILE_MODE = 0o600;

const LOCK_FILE = 'barge.lock';
/** Who holds the lock, for the message a second process prints. */
const HOLDER_FILE = 'barge.pid';
/** The node id of the last process that held the folder. */
const NODE_FILE = 'node.id';

export interface Holder {
  pid: number;
  command: string;
  /** Where its API listens, once it does. */
  url?: string;
}

export class DataFolderBusyError extends Error {
  constructor(folder: string, holder: Holder | undefined) {
    const who = holder
      ? `barge ${holder.command} (pid ${holder.pid}${holder.url ? `, listening at ${holder.url}` : ''})`
      : 'another barge process';
    super(`the data folder ${folder} is in use by ${who}; stop it first, or give this one another --data folder`);
    this.name = 'DataFolderBusyError';
  }
}

export class DataFolder {
  private constructor(
    readonly path: string,
    private readonly command: string,
    private lock: Database.Database | null,
    /** This process's own node id: new at every start. */
    readonly nodeId: string,
    /** The node id of the previous holder, which is certainly not running now (we hold the lock). */
    readonly previousNodeId: string | undefined,
  ) {}

  /**
   * Creates or tightens the folder, takes its lock (or throws DataFolderBusyError), and gives this
   * process a fresh node id, remembering the previous holder's so its leases can be handed back.
   */
  static claim(path: string, command: string): DataFolder {
    prepare(path);
    const lock = takeLock(path);
    if (!lock) throw new DataFolderBusyError(path, readHolder(path));
    try {
      const previous = readNodeId(path);
      const nodeId = newId();
      writePrivate(join(path, NODE_FILE), `${nodeId}\n`);
      const folder = new DataFolder(path, command, lock, nodeId, previous);
      folder.announce();
      return folder;
    } catch (error) {
      lock.close();
      throw error;
    }
  }

  /** The folder for a process that runs no work (`barge server`): created or tightened, not locked. */
  static share(path: string, command: string): DataFolder {
    prepare(path);
    return new DataFolder(path, command, null, newId(), undefined);
  }

  /** Records who holds the folder (and, once known, where it listens) for a second process's message. */
  announce(url?: string): void {
    if (!this.lock) return;
    const holder: Holder = { pid: process.pid, command: this.command, ...(url ? { url } : {}) };
    writePrivate(join(this.path, HOLDER_FILE), `${JSON.stringify(holder)}\n`);
  }

  /** Lets the folder go (at shutdown; a dying process lets go anyway). */
  release(): void {
    this.lock?.close();
    this.lock = null;
  }
}

function prepare(path: string): void {
  mkdirSync(path, { recursive: true, mode: FOLDER_MODE });
  chmodSync(path, FOLDER_MODE);
}

/** The lock, or null when another process holds it. */
function takeLock(folder: string): Database.Database | null {
  const path = join(folder, LOCK_FILE);
  // No waiting: a busy lock is an answer, not something to wait out.
  const db = new Database(path, { timeout: 0 });
  try {
    chmodSync(path, FILE_MODE);
    // In EXCLUSIVE locking mode the connection keeps the exclusive lock its first write takes
    // until it closes (https://sqlite.org/pragma.html#pragma_locking_mode).
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS held (at TEXT); COMMIT;');
    return db;
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return null;
    throw error;
  }
}

/** Who holds the folder (pid, command and address), as the holder last recorded it. */
export function readHolder(folder: string): Holder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(join(folder, HOLDER_FILE), 'utf8')) as Partial<Holder>;
    if (typeof parsed.pid === 'number' && typeof parsed.command === 'string') {
      return { pid: parsed.pid, command: parsed.command, ...(typeof parsed.url === 'string' ? { url: parsed.url } : {}) };
    }
  } catch {
    // Not written yet (the holder is starting) or not ours.
  }
  return undefined;
}

function readNodeId(folder: string): string | undefined {
  try {
    const id = readFileSync(join(folder, NODE_FILE), 'utf8').trim();
    return /^[0-9a-f]{32}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

function writePrivate(path: string, content: string): void {
  writeFileSync(path, content, { mode: FILE_MODE });
  chmodSync(path, FILE_MODE);
}
