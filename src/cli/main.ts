/**
 * The `barge` command. Server-side commands (up, server, worker) are in serve.ts; the client
 * commands that talk to a server over HTTP are in commands.ts.
 */
import { Command } from 'commander';
import { registerServerCommands } from './serve.js';
import { registerClientCommands } from './commands.js';
import { registerAccountCommands } from './accounts.js';
import { registerAdminCommands } from './admin.js';
import { registerRegistryCommands } from './registry.js';
import { VERSION } from '../version.js';

const program = new Command();
program
  .name('barge')
  .description('A self-hosted batch job runner: queue, place, run and keep jobs.')
  .version(VERSION)
  .showHelpAfterError();

registerServerCommands(program);
registerClientCommands(program);
registerAccountCommands(program);
registerAdminCommands(program);
registerRegistryCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`barge: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
