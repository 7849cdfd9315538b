/**
 * A throwaway PostgreSQL cluster for tests, and a fresh database per test file on it.
 *
 * `startPostgres` (called once per run by global-setup.ts) finds the server binaries, initialises a
 * cluster in a temporary folder with trust auth, listening only on 127.0.0.1 on a free port, with
 * fsync off for speed. initdb refuses to run as root, so as root the folder is handed to the
 * `postgres` user and the binaries run through `su`. Test files then call `freshPgUrl()`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { freePort } from './barge-process.js';

export interface PgCluster {
  /** Server URL (database `postgres`, user `postgres`, no password). */
  url: string;
  stop(): Promise<void>;
  /** Shuts the server down (fast: open connections are cut), keeping its data and port. */
  pause(): void;
  /** Starts a paused server again on the same port. */
  resume(): void;
}

const REQUIRED_BINARIES = ['initdb', 'pg_ctl', 'postgres'];

/** The folder holding initdb, pg_ctl and postgres: PATH first, then Debian's versioned folders (newest first). */
export function findPgBinDir(): string | undefined {
  const candidates = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  const debianRoot = '/usr/lib/postgresql';
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => join(debianRoot, version, 'bin')));
  }
  return candidates.find((dir) => REQUIRED_BINARIES.every((name) => existsSync(join(dir, name))));
}

/** Starts a cluster, or returns undefined when PostgreSQL is not installed (an error under CI). */
export async function startPostgres(): Promise<PgCluster | undefined> {
  const binDir = findPgBinDir();
  if (!binDir) {
    const message = 'PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or in /usr/lib/postgresql/*/bin';
    if (process.env.CI) throw new Error(`${message}; CI must run the PostgreSQL tests`);
    return undefined;
  }
  const root = mkdtempSync(join(tmpdir(), 'barge-pg-'));
  const data = join(root, 'data');
  const port = await freePort();
  const runAs = makeRunner(root);
  const settings = [
    `-c listen_addresses=127.0.0.1`,
    `-p ${port}`,
    `-c unix_socket_directories=${root}`,
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=300',
  ].join(' ');
  const start = (): void => runAs([join(binDir, 'pg_ctl'), '-D', data, '-l', join(root, 'server.log'), '-o', settings, '-w', 'start']);
  const pause = (): void => runAs([join(binDir, 'pg_ctl'), '-D', data, '-m', 'fast', '-w', 'stop']);
  try {
    runAs([join(binDir, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    start();
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      try {
        pause();
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
    pause,
    resume: start,
  };
}

/** Runs a command synchronously, as the `postgres` user when we are root (owning `root` for it). */
function makeRunner(root: string): (argv: string[]) => void {
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(root, uid, gid);
  }
  return (argv) => {
    const result = asRoot
      ? spawnSync('su', ['postgres', '-s', '/bin/sh', '-c', argv.map(shellQuote).join(' ')], { encoding: 'utf8' })
      : spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
    if (result.status !== 0) {
      throw new Error(`${argv[0]} failed (exit ${result.status}): ${result.stderr || result.stdout || result.error?.message}`);
    }
  };
}

function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}



// ---- inside test files ---------------------------------------------------------------------

/** Whether the global setup started a cluster (false only outside CI without PostgreSQL). */
export function pgAvailable(): boolean {
  return inject('pgUrl') !== '';
}

/** Why PostgreSQL tests are skipped, for `describe.skipIf(…)` titles and logs. */
export const PG_SKIP_REASON = 'PostgreSQL is not installed (no initdb/pg_ctl/postgres): PostgreSQL tests skipped';

/** A new empty database on the test cluster, as a URL. */
export async function freshPgUrl(): Promise<string> {
  const serverUrl = inject('pgUrl');
  if (!serverUrl) throw new Error(PG_SKIP_REASON);
  const name = `barge_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: serverUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
