/**
 * CLI waiters across a server restart: a real `barge up` is stopped (by pid, waited for: the data
 * folder is locked while it runs) and started again on the same data folder and port, while
 * `barge wait` and `barge logs -f` are waiting on a job. They say the server is away, keep
 * waiting, and finish with the job; `logs -f` does not print again what it already printed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startBarge, startCli, type BargeProcess, type RunningCli } from '../helpers/barge-process.js';

const work = mkdtempSync(join(tmpdir(), 'barge-cli-restart-'));
const data = join(work, 'data');
const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: join(work, 'config'), HOME: join(work, 'home'), NO_COLOR: '1' };
for (const key of Object.keys(env)) if (key.startsWith('BARGE_')) delete env[key];
const upArgs = ['up', '--data', data, '--cpus', '4', '--memory', '4096', '--isolation', 'none', '--drain-grace', '1'];
let port: number;
let server: BargeProcess | undefined;

const cli = (args: string[]): RunningCli => startCli(args, env);

async function until(what: string, condition: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  mkdirSync(join(work, 'home'), { recursive: true });
  port = await freePort();
  server = await startBarge(upArgs, env, { port });
});

afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('CLI waiters across a server restart', () => {
  it('wait and logs -f keep waiting, say so, resume, and finish with the job', async () => {
    const spec = join(work, 'ticks.json');
    // Retries: the restart may take the running attempt down with the old process.
    const script = 'for i in $(seq 1 12); do echo "tick $i"; sleep 0.5; done';
    writeFileSync(spec, JSON.stringify({ name: 'ticks', tasks: [{ name: 'ticks', run: script, retry: { limit: 3 } }] }));
    const submitted = cli(['submit', spec]);
    expect(await submitted.exited).toBe(0);
    const jobId = submitted.stdout().trim();

    const waiter = cli(['wait', jobId, '--give-up-after', '2m']);
    const follower = cli(['logs', jobId, '-f', '--json', '--give-up-after', '2m']);
    await until('two lines followed', () => follower.stdout().includes('"tick 2"'));

    const stopped = server!;
    server = undefined;
    await stopped.stop();
    await until('both waiters to notice', () =>
      [waiter, follower].every((running) => running.stderr().includes('server unreachable, job continues; retrying')),
    );
    server = await startBarge(upArgs, env, { port });

    expect(await follower.exited, follower.stderr()).toBe(0);
    expect(await waiter.exited, waiter.stderr()).toBe(0);
    expect(waiter.stderr()).toMatch(new RegExp(`job ${jobId} "ticks" SUCCEEDED`));
    expect(waiter.stderr()).not.toMatch(/gave up/);
    // Each attempt's lines printed once each, in order, none missed: following resumed after the
    // last line seen (a retry after the restart is another execution, numbered from 1 again).
    const lines = follower.stdout().trim().split('\n').map((text) => JSON.parse(text) as { executionId: string; number: number; line: string });
    const numbersByExecution = new Map<string, number[]>();
    for (const { executionId, number } of lines) numbersByExecution.set(executionId, [...(numbersByExecution.get(executionId) ?? []), number]);
    for (const numbers of numbersByExecution.values()) expect(numbers).toEqual(numbers.map((_, i) => i + 1));
    expect(lines.some((line) => line.line === 'tick 12')).toBe(true);
  });

  it('gives up after --give-up-after, naming barge wait', async () => {
    const spec = join(work, 'long.json');
    writeFileSync(spec, JSON.stringify({ name: 'long', tasks: [{ name: 'long', run: 'sleep 30' }] }));
    const submitted = cli(['submit', spec]);
    expect(await submitted.exited).toBe(0);
    const jobId = submitted.stdout().trim();
    const waiter = cli(['wait', jobId, '--give-up-after', '2s']);
    await until('the first progress line', () => /\d+\/\d+ done/.test(waiter.stderr()));
    const stopped = server!;
    server = undefined;
    await stopped.stop();
    expect(await waiter.exited).toBe(1);
    expect(waiter.stderr()).toMatch(/server unreachable, job continues; retrying/);
    expect(waiter.stderr()).toMatch(new RegExp(`gave up after .*barge wait ${jobId}`));
  });
});
