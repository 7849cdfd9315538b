/**
 * `barge up`, `barge server` and `barge worker`: start the parts, print where they are, and drain
 * on Ctrl-C (SIGINT) or SIGTERM.
 */
import type { Command } from 'commander';
import type { Mode } from './assemble.js';
import { isLoopbackName } from '../api/loopback-only.js';
import { loadConfig, SETTINGS, type ServerConfig } from './config.js';
import { normalizeServer } from './client.js';
import { saveCredentials, credentialsPath, savedToken } from './credentials.js';

const DESCRIPTIONS: Record<Mode, string> = {
  up: 'run everything in one process: API, engine, a worker and the web UI (data in ./.barge)',
  server: 'run an API server and the engine (no worker)',
  worker: 'run a worker and the engine against a database (no API)',
};

export function registerServerCommands(program: Command): void {
  for (const mode of ['up', 'server', 'worker'] as Mode[]) {
    const command = program.command(mode).description(DESCRIPTIONS[mode]);
    for (const setting of SETTINGS) command.option(setting.flag, `${setting.help} [env ${setting.env}]`);
    command.option('--config <file>', 'settings file (default ./barge.yaml when present)');
    command.addHelpText(
      'after',
      '\nPrecedence: flags, then BARGE_* environment variables, then barge.yaml, then defaults.',
    );
    command.action(async (options: Record<string, unknown>) => {
      const config = loadConfig(flagValues(options), process.env, options.config as string | undefined);
      await serve(mode, config);
    });
  }
}

/** Commander's option names (camelCase) to config keys. */
function flagValues(options: Record<string, unknown>): Partial<Record<keyof ServerConfig, unknown>> {
  const values: Partial<Record<keyof ServerConfig, unknown>> = {};
  for (const setting of SETTINGS) {
    if (options[setting.key] !== undefined) values[setting.key] = options[setting.key];
  }
  return values;
}

async function serve(mode: Mode, config: ServerConfig): Promise<void> {
  if (config.open && !isLoopbackName(config.host)) {
    throw new Error(`--open turns authentication off and is only allowed on a loopback address, not ${config.host}`);
  }
  if (config.torkOpen && !isLoopbackName(config.host)) {
    throw new Error(`--tork-open turns authentication off on Tork's API and is only allowed on a loopback address, not ${config.host}`);
  }
  if (config.scOpen && !isLoopbackName(config.host)) {
    throw new Error(`--sc-open turns authentication off on SiliconCompiler's API and is only allowed on a loopback address, not ${config.host}`);
  }
  if (config.srtOpen && !isLoopbackName(config.host)) {
    throw new Error(`--srt-open turns authentication off on srtslurm's status API and is only allowed on a loopback address, not ${config.host}`);
  }
  const began = performance.now();
  // Loaded here, not at the top: client commands (submit, jobs, …) then start without loading
  // Fastify, both stores and wasmoon.
  const { start } = await import('./assemble.js');
  const { bootstrapAdmin } = await import('../api/auth/index.js');
  const running = await start(mode, config);
  const out = (line: string): boolean => process.stdout.write(`${line}\n`);
  for (const warning of running.warnings) process.stderr.write(`barge: WARNING: ${warning}\n`);
  if (running.url) {
    out(`barge ${mode === 'up' ? 'is up' : 'server is listening'} at ${running.url} (${config.db.startsWith('postgres') ? 'PostgreSQL' : 'SQLite'}, started in ${Math.round(performance.now() - began)} ms)`);
    const admin = await bootstrapAdmin(running.engine.store);
    if (admin) {
      out(`admin token: ${admin.token}`);
      if (mode === 'up') out(`saved to ${saveCredentials({ server: normalizeServer(running.url), token: admin.token })}`);
    } else if (config.open) {
      out('authentication is off (--open)');
    } else {
      out(restartTokenHint(running.url, config));
    }
  }
  if (running.worker) {
    out(`worker ${running.worker.nodeId.slice(0, 8)}: ${running.worker.capacity.cpus} cpus, ${running.worker.capacity.memoryMb} MB, queues ${running.worker.queues.join(',')}`);
  }
  let signals = 0;
  const shutdown = (signal: string): void => {
    signals += 1;
    if (signals > 1) {
      out('stopping now');
      process.exit(130);
    }
    out(`${signal}: draining (running work gets ${config.drainGrace}s; press Ctrl-C again to stop at once)`);
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`barge: shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

/** On a later start: where the CLI's token for this server is, or how to mint one when none is saved. */
function restartTokenHint(url: string, config: ServerConfig): string {
  const server = normalizeServer(url);
  if (savedToken(server)) return `the CLI's token for ${server} is saved in ${credentialsPath()} (or set BARGE_TOKEN)`;
  // Never print the database URL: it may hold a password.
  const where = config.db.startsWith('postgres') ? '--db <the database URL>' : `--data ${config.data}`;
  return `no token for ${server} is saved for the CLI: mint one with \`barge admin token ${where}\`, or set BARGE_TOKEN`;
}
