/**
 * `barge admin token --data DIR`: a new API token for an admin, minted straight in the data, for
 * when the saved one is lost. It needs file access to the data folder (or the database URL), not a
 * token: whoever can read the data is already its master. The token is printed once and saved for
 * the server that holds the folder (or `--server URL`), beside other servers' entries.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { normalizeServer } from './client.js';
import { saveCredentials } from './credentials.js';
import { readHolder } from './data-folder.js';

interface TokenOptions {
  data: string;
  db?: string;
  user?: string;
  server?: string;
  save: boolean;
}

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('recovery commands that work on the data itself (no server, no token)');
  admin
    .command('token')
    .description('mint a new API token for an admin (lost token), straight in the data')
    .option('--data <dir>', 'the data folder', process.env.BARGE_DATA || '.barge')
    .option('--db <url>', 'sqlite:PATH or postgres://… (default sqlite:<data>/barge.db)', process.env.BARGE_DB || undefined)
    .option('--user <name>', 'for this user (default: the first enabled admin)')
    .option('--server <url>', 'save it for this server (default: the one running on the data folder, if any)')
    .option('--no-save', 'only print it')
    .action(async (options: TokenOptions) => {
      process.exitCode = await mintToken(options);
    });
}

async function mintToken(options: TokenOptions): Promise<number> {
  const data = resolve(options.data);
  const db = options.db ?? `sqlite:${resolve(data, 'barge.db')}`;
  if (db.startsWith('sqlite:') && !(await exists(db.slice('sqlite:'.length)))) {
    throw new Error(`no barge data at ${db.slice('sqlite:'.length)}: name the data folder with --data (or the database with --db)`);
  }
  // Loaded here: the stores are heavy, and client commands never need them.
  const { openStore } = await import('../store/open.js');
  const { createToken } = await import('../api/auth/tokens.js');
  const store = await openStore(db);
  try {
    const users = await store.userList();
    const user = options.user ? users.find((u) => u.name === options.user) : users.find((u) => u.role === 'admin' && !u.disabled);
    if (!user) throw new Error(options.user ? `no user ${options.user} in ${db}` : `no enabled admin in ${db}: name a user with --user`);
    if (user.disabled) throw new Error(`user ${user.name} is disabled: enable it first (\`barge users disable ${user.name} --enable\` as an admin)`);
    const token = await createToken(store, user.id, 'recovery');
    process.stdout.write(`${token}\n`);
    const server = options.server ?? readHolder(data)?.url;
    if (options.save && server) {
      const url = normalizeServer(server);
      process.stderr.write(`new token for ${user.name} (${user.role}); saved for ${url} in ${saveCredentials({ server: url, token })}\n`);
    } else {
      process.stderr.write(`new token for ${user.name} (${user.role}); not saved${options.save ? ' (no server runs on this folder: pass --server URL to save it)' : ''}\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}

async function exists(path: string): Promise<boolean> {
  const { access } = await import('node:fs/promises');
  return access(path).then(
    () => true,
    () => false,
  );
}
