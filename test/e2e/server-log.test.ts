/**
 * The server's log (pino, src/cli/logging.ts): a line per job state change at info, requests at
 * debug, JSON or pretty, on stderr; never a token. Real `barge up` processes, their output read.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCredentials } from '../../src/cli/credentials.js';
import { api, startBarge, type BargeProcess } from '../helpers/barge-process.js';

const work = mkdtempSync(join(tmpdir(), 'barge-server-log-'));
const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: join(work, 'config'), HOME: join(work, 'home') };
for (const key of Object.keys(env)) if (key.startsWith('BARGE_')) delete env[key];
mkdirSync(join(work, 'home'), { recursive: true });
const started: BargeProcess[] = [];

afterAll(async () => {
  for (const server of started) await server.stop();
  rmSync(work, { recursive: true, force: true });
});

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function up(data: string, logArgs: string[]): Promise<{ server: BargeProcess; token: string }> {
  const server = await startBarge(['up', '--data', join(work, data), '--cpus', '1', '--memory', '1024', '--isolation', 'none', '--drain-grace', '1', ...logArgs], env);
  started.push(server);
  return { server, token: readCredentials(env)?.token ?? '' };
}

async function submit(server: BargeProcess, token: string): Promise<string> {
  const { status, body } = await api<{ id: string }>(server.url, '/v1/jobs?wait=20s', { method: 'POST', body: JSON.stringify({ name: 'logged', tasks: [{ name: 'a', run: 'true' }] }) }, token);
  expect(status).toBe(201);
  return body.id;
}

describe('server log', () => {
  it('json at debug: job state lines, request lines, no token anywhere in the log', async () => {
    const { server, token } = await up('json', ['--log-format', 'json', '--log-level', 'debug']);
    const jobId = await submit(server, token);
    await until('the job SUCCEEDED line', () => server.output().includes(`"msg":"job ${jobId} SUCCEEDED"`));
    const lines = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string; jobId?: string; state?: string; req?: unknown });
    expect(lines.filter((line) => line.jobId === jobId && line.level === 30).map((line) => line.state)).toEqual(expect.arrayContaining(['RUNNING', 'SUCCEEDED']));
    expect(lines.some((line) => line.level === 20 && line.msg.startsWith('execution '))).toBe(true);
    expect(lines.some((line) => line.req !== undefined)).toBe(true);
    expect(lines.some((line) => /^worker [0-9a-f]{8} started$/.test(line.msg))).toBe(true);
    // The first token is printed once on stdout's start line, never in a log line.
    expect(lines.some((line) => JSON.stringify(line).includes(token))).toBe(false);
    expect(server.output().split(token).length - 1).toBe(1);
  });

  it('pretty at info: readable job lines, no request lines', async () => {
    const { server, token } = await up('pretty', []);
    const jobId = await submit(server, token);
    await until('the pretty SUCCEEDED line', () => new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  job ${jobId} SUCCEEDED$`, 'm').test(server.output()));
    expect(server.output()).not.toMatch(/"msg"|GET \/v1/);
  });

  it('at warn, no job lines', async () => {
    const quiet = await up('quiet', ['--log-level', 'warn']);
    const quietJob = await submit(quiet.server, quiet.token);
    const { body } = await api<{ state: string }>(quiet.server.url, `/v1/jobs/${quietJob}`, {}, quiet.token);
    expect(body.state).toBe('SUCCEEDED');
    expect(quiet.server.output()).not.toContain(`job ${quietJob}`);
  });

  it('refuses an unknown level or format by name', () => {
    const result = spawnSync(process.execPath, ['bin/barge.js', 'up', '--data', join(work, 'bad'), '--log-level', 'loud'], { env, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('--log-level must be one of fatal, error, warn, info, debug, trace, silent, not "loud"');
    const format = spawnSync(process.execPath, ['bin/barge.js', 'up', '--data', join(work, 'bad'), '--log-format', 'xml'], { env, encoding: 'utf8' });
    expect(format.stderr).toContain('--log-format must be one of pretty, json');
  });
});
