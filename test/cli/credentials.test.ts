/**
 * Credentials for several servers (issue 13): two real `barge up`s share one credentials file and
 * keep an entry each; `--server` picks the matching token; a server without one is told which
 * servers have one; a restarted server names a file that exists, or how to mint a token; and
 * `barge admin token --data DIR` mints one from the data folder alone.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBarge, type BargeProcess } from '../helpers/barge-process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'barge-credentials-'));
const configHome = join(work, 'config');
const credentialsFile = join(configHome, 'barge', 'credentials.json');
const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: configHome, HOME: join(work, 'home'), NO_COLOR: '1' };
for (const key of Object.keys(env)) if (key.startsWith('BARGE_')) delete env[key];
const upArgs = (data: string): string[] => ['up', '--data', join(work, data), '--cpus', '1', '--memory', '1024', '--isolation', 'none', '--drain-grace', '1'];
const servers: BargeProcess[] = [];

function barge(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/barge.js', ...args], { cwd: ROOT, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface SavedFile {
  server: string;
  token: string;
  servers: Record<string, { token: string }>;
}

const saved = (): SavedFile => JSON.parse(readFileSync(credentialsFile, 'utf8')) as SavedFile;

beforeAll(async () => {
  mkdirSync(join(work, 'home'), { recursive: true });
  servers.push(await startBarge(upArgs('a'), env));
  servers.push(await startBarge(upArgs('b'), env));
});

afterAll(async () => {
  for (const server of servers) await server.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('credentials for several servers', () => {
  it('keeps one entry per server, the last started current, and sends each server its own token', async () => {
    const [a, b] = servers;
    const file = saved();
    expect(Object.keys(file.servers).sort()).toEqual([a.url, b.url].sort());
    expect(file.server).toBe(b.url);
    expect(file.token).toBe(file.servers[b.url].token);
    expect(file.servers[a.url].token).not.toBe(file.servers[b.url].token);
    expect(statSync(credentialsFile).mode & 0o777).toBe(0o600);
    // The current server by default, the other by --server, each with its own token.
    expect((await barge(['jobs'])).code).toBe(0);
    const other = await barge(['jobs', '--server', a.url]);
    expect(other.code, other.stderr).toBe(0);
  });

  it('says which servers have a token when --server names one without', async () => {
    const [a, b] = servers;
    // Same server, another name: no saved token for it, so none is sent.
    const elsewhere = a.url.replace('127.0.0.1', 'localhost');
    const result = await barge(['jobs', '--server', elsewhere]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no token for ${elsewhere}; ${credentialsFile} has tokens for ${b.url}, ${a.url} only`);
    expect(result.stderr).not.toContain(saved().token);
  });

  it('on restart names the file that holds the token, or how to mint one when none is saved', async () => {
    const port = Number(new URL(servers[0].url).port);
    await servers[0].stop();
    servers[0] = await startBarge(upArgs('a'), env, { port });
    expect(servers[0].output()).toContain(`the CLI's token for ${servers[0].url} is saved in ${credentialsFile}`);

    const lostHome = join(work, 'lost-config');
    await servers[0].stop();
    servers[0] = await startBarge(upArgs('a'), { ...env, XDG_CONFIG_HOME: lostHome }, { port });
    expect(servers[0].output()).toContain(`no token for ${servers[0].url} is saved for the CLI: mint one with \`barge admin token --data ${join(work, 'a')}\``);
    expect(existsSync(join(lostHome, 'barge', 'credentials.json'))).toBe(false);
  });

  it('barge admin token --data mints a working admin token and saves it for the running server only', async () => {
    const [a, b] = servers;
    const before = saved();
    const minted = await barge(['admin', 'token', '--data', join(work, 'a')]);
    expect(minted.code, minted.stderr).toBe(0);
    const token = minted.stdout.trim();
    expect(token).toMatch(/^barge_t_/);
    expect(minted.stderr).toContain(`new token for admin (admin); saved for ${a.url}`);
    const after = saved();
    expect(after.servers[a.url].token).toBe(token);
    expect(after.servers[b.url]).toEqual(before.servers[b.url]);
    expect(after.server).toBe(a.url);
    const me = await barge(['me', '--json']);
    expect(me.code, me.stderr).toBe(0);
    expect(JSON.parse(me.stdout)).toMatchObject({ name: 'admin', role: 'admin' });

    const nowhere = await barge(['admin', 'token', '--data', join(work, 'nothing-here')]);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(/no barge data at .*nothing-here/);
  });
});
