/**
 * The account commands of the real `barge` binary against a real `barge up`: users, keys (create,
 * use, revoke), public keys, shares, `login` into a fresh credentials file, `token jwt`, `me`.
 * The server is another process, so each CLI run may block this one (spawnSync).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBarge, type BargeProcess } from '../helpers/barge-process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'barge-accounts-cli-'));
let server: BargeProcess;

function env(configHome: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: configHome, HOME: work, NO_COLOR: '1' };
  for (const key of Object.keys(base)) if (key.startsWith('BARGE_')) delete base[key];
  return { ...base, ...extra };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function barge(args: string[], options: { config?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Run {
  const result = spawnSync(process.execPath, ['bin/barge.js', ...args], {
    cwd: ROOT,
    env: env(options.config ?? join(work, 'admin'), options.env),
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function ok(args: string[], options: Parameters<typeof barge>[1] = {}): string {
  const run = barge(args, options);
  expect(run.code, `barge ${args.join(' ')}\n${run.stdout}\n${run.stderr}`).toBe(0);
  return run.stdout.trim();
}

beforeAll(async () => {
  mkdirSync(join(work, 'admin'), { recursive: true });
  server = await startBarge(['up', '--data', join(work, 'data'), '--cpus', '2', '--memory', '2048'], env(join(work, 'admin')));
});

afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('account commands', () => {
  it('adds users with roles, changes and lists them, and removes them', () => {
    const token = ok(['users', 'add', 'carol', '--role', 'viewer']);
    expect(token).toMatch(/^barge_t_[\w-]{43}$/);
    ok(['users', 'quota', 'carol', '--running', '2', '--queued', '50']);
    const listed = ok(['users', 'ls']);
    expect(listed).toMatch(/^carol\s+viewer\s+running 2, queued 50/m);
    expect(listed).not.toContain(token);
    ok(['users', 'role', 'carol', 'user']);
    expect(JSON.parse(ok(['me', '--json'], { env: { BARGE_TOKEN: token } }))).toMatchObject({ name: 'carol', role: 'user', quotas: { runningExecutions: 2 } });
    ok(['users', 'disable', 'carol']);
    expect(barge(['me'], { env: { BARGE_TOKEN: token } }).stderr).toMatch(/the user is disabled/);
    ok(['users', 'disable', 'carol', '--enable']);
    ok(['users', 'rm', 'carol']);
    expect(barge(['me'], { env: { BARGE_TOKEN: token } }).code).toBe(1);
    // A non-admin is refused, with the reason.
    const dave = ok(['users', 'add', 'dave']);
    const refused = barge(['users', 'ls'], { env: { BARGE_TOKEN: dave } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/admins only/);
  });

  it('creates a key whose secret is printed alone, uses it, lists it without the secret, revokes it', () => {
    const secret = ok(['keys', 'create', '--name', 'ci', '--kind', 'apikey', '--expires', '30d']);
    expect(secret).toMatch(/^barge_k_[\w-]{43}$/);
    expect(ok(['me'], { env: { BARGE_TOKEN: secret } })).toMatch(/^admin \(admin\)/);
    const keys = JSON.parse(ok(['keys', 'ls', '--json'])) as { items: Array<{ id: string; name: string; prefix: string; lastUsedAt: string | null }> };
    const key = keys.items.find((k) => k.name === 'ci');
    expect(key).toMatchObject({ prefix: secret.slice(0, 12), lastUsedAt: expect.any(String) });
    expect(ok(['keys', 'ls'])).not.toContain(secret);
    ok(['keys', 'revoke', key!.id]);
    expect(barge(['me'], { env: { BARGE_TOKEN: secret } }).stderr).toMatch(/unknown or revoked token/);
  });

  it('registers, lists and removes a public key', () => {
    const keyFile = join(work, 'id_ed25519');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'admin@test', '-f', keyFile]);
    const id = ok(['users', 'pubkeys', 'add', `${keyFile}.pub`]);
    const fingerprint = spawnSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${keyFile}.pub`], { encoding: 'utf8' }).stdout.split(' ')[1];
    expect(ok(['users', 'pubkeys', 'ls'])).toContain(fingerprint);
    const again = barge(['users', 'pubkeys', 'add', '-'], { input: readFileSync(`${keyFile}.pub`, 'utf8') });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already registered/);
    ok(['users', 'pubkeys', 'rm', id]);
    expect(ok(['users', 'pubkeys', 'ls'])).not.toContain(fingerprint);
  });

  it('shares a job with another user, who then reads it; unsharing hides it again', () => {
    const erin = ok(['users', 'add', 'erin']);
    const job = ok(['run', '--detach', '--', 'echo', 'hi']);
    expect(barge(['get', job], { env: { BARGE_TOKEN: erin } }).stderr).toMatch(/no job or execution has the id/);
    ok(['share', job, 'erin']);
    expect(ok(['share', job])).toBe('erin');
    expect(ok(['get', job], { env: { BARGE_TOKEN: erin } })).toContain(job);
    ok(['share', job, 'erin', '--remove']);
    expect(barge(['get', job], { env: { BARGE_TOKEN: erin } }).code).toBe(1);
  });

  it('logs in: checks the token, saves it 0600 for later commands; refuses a bad one and saves nothing', () => {
    const frank = ok(['users', 'add', 'frank']);
    const config = join(work, 'frank');
    const bad = barge(['login', '--server', server.url.replace('http://', '')], { config, input: 'barge_t_wrong\n' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/refused the token/);
    expect(() => statSync(join(config, 'barge', 'credentials.json'))).toThrow();

    const logged = barge(['login', '--server', server.url], { config, input: `${frank}\n` });
    expect(logged.code, logged.stderr).toBe(0);
    expect(logged.stderr).toMatch(/logged in to .* as frank \(user\)/);
    expect(logged.stdout + logged.stderr).not.toContain(frank);
    expect(statSync(join(config, 'barge', 'credentials.json')).mode & 0o777).toBe(0o600);
    expect(ok(['me'], { config })).toMatch(/^frank \(user\)/);
  });

  it('issues a JWT that the server then accepts', () => {
    const jwt = ok(['token', 'jwt', '--audience', 'v1', '--ttl', '10m']);
    expect(jwt.split('.')).toHaveLength(3);
    expect(ok(['me'], { env: { BARGE_TOKEN: jwt } })).toMatch(/^admin \(admin\)/);
    const other = ok(['token', 'jwt', '--audience', 'tork']);
    expect(barge(['me'], { env: { BARGE_TOKEN: other } }).stderr).toMatch(/audience must be v1/);
  });
});
