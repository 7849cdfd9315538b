/**
 * Where the CLI finds its servers and their tokens: `~/.config/barge/credentials.json`, mode 0600.
 *
 * One entry per server URL, and a current one:
 *
 *     { "server": "<current URL>", "token": "<its token>",
 *       "servers": { "<URL>": { "token": "…", "savedAt": "ISO" }, … } }
 *
 * Saving a server's token (`barge up`, `barge login`, `barge admin token --save`) adds or replaces
 * that server's entry and makes it current; every other server's entry stays. The top-level
 * `server`/`token` pair repeats the current entry, so a file written before `servers` existed
 * still reads as one server.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { normalizeServer } from './client.js';

export interface Credentials {
  server: string;
  token: string;
}

interface SavedServer {
  token: string;
  savedAt?: string;
}

interface CredentialsFile {
  server?: string;
  token?: string;
  servers: Record<string, SavedServer>;
}

export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'barge', 'credentials.json');
}

function readFile(env: NodeJS.ProcessEnv): CredentialsFile {
  let parsed: Partial<CredentialsFile>;
  try {
    parsed = JSON.parse(readFileSync(credentialsPath(env), 'utf8')) as Partial<CredentialsFile>;
  } catch {
    // No file, or not ours: nothing saved.
    return { servers: {} };
  }
  const servers: Record<string, SavedServer> = {};
  if (typeof parsed.servers === 'object' && parsed.servers !== null) {
    for (const [url, entry] of Object.entries(parsed.servers)) {
      const key = asServer(url);
      if (key && typeof entry?.token === 'string') servers[key] = { token: entry.token, ...(entry.savedAt ? { savedAt: entry.savedAt } : {}) };
    }
  }
  const current = typeof parsed.server === 'string' ? asServer(parsed.server) : undefined;
  // A file of the one-server shape: its pair is its only entry.
  if (current && typeof parsed.token === 'string' && !servers[current]) servers[current] = { token: parsed.token };
  return { server: current, servers };
}

/** A URL as normalizeServer writes it (hand-edited files may say `host:port/`); undefined when not a URL. */
function asServer(url: string): string | undefined {
  try {
    return normalizeServer(url);
  } catch {
    return undefined;
  }
}

/** The current server and its token, if any. */
export function readCredentials(env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const file = readFile(env);
  const entry = file.server ? file.servers[file.server] : undefined;
  return file.server && entry ? { server: file.server, token: entry.token } : undefined;
}

/** The token saved for this server (URLs compared as normalizeServer writes them). */
export function savedToken(server: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return readFile(env).servers[normalizeServer(server)]?.token;
}

/** Every server that has a saved token, current first. */
export function savedServers(env: NodeJS.ProcessEnv = process.env): string[] {
  const file = readFile(env);
  return Object.keys(file.servers).sort((a, b) => Number(b === file.server) - Number(a === file.server) || a.localeCompare(b));
}

/**
 * Saves a server's token and makes it current, keeping every other server's entry. Written to a
 * temporary file and renamed, so a reader never sees half a file.
 */
export function saveCredentials(credentials: Credentials, env: NodeJS.ProcessEnv = process.env): string {
  const path = credentialsPath(env);
  const file = readFile(env);
  const server = normalizeServer(credentials.server);
  file.servers[server] = { token: credentials.token, savedAt: new Date().toISOString() };
  const written: CredentialsFile = { server, token: credentials.token, servers: file.servers };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(written, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
  return path;
}
