/**
 * The account commands of `barge`: `users` (admins), `users pubkeys`, `keys`, `share`, `me`,
 * `login` and `token jwt`. Each is a thin layer over a /v1 route (docs/accounts.md). Secrets the
 * server shows once (a new user's token, a new key, a JWT) go to stdout alone, so
 * `barge keys create > key.txt` keeps exactly the secret; everything else people read goes to stderr.
 */
import type { Command } from 'commander';
import { ApiError, BargeClient, CliError, normalizeServer } from './client.js';
import { clientCommand, execute, positiveInt } from './commands.js';
import { saveCredentials } from './credentials.js';
import { formatAgo, table } from './format.js';
import { readStdin, readText } from './specs.js';
import type { Credential, Me, Pubkey, Quotas, Share, User } from './wire.js';

const out = (text: string): void => void process.stdout.write(`${text}\n`);
const say = (text: string): void => void process.stderr.write(`${text}\n`);
const printJson = (value: unknown): void => out(JSON.stringify(value, null, 2));
const seg = encodeURIComponent;

interface JsonOption {
  json?: boolean;
}

interface UserOption {
  user?: string;
}

export function registerAccountCommands(program: Command): void {
  registerUsers(program);
  registerKeys(program);

  clientCommand(program, 'share')
    .description('share a job with a user (they see and control it as you do); without USER, list who has it')
    .argument('<job>', 'job id')
    .argument('[user]', 'user name')
    .option('--remove', 'stop sharing it with USER')
    .option('--json', 'print {items} as JSON')
    .action((job: string, user: string | undefined, options: JsonOption & { remove?: boolean }, command: Command) =>
      execute(command, (client) => share(client, job, user, options)),
    );

  clientCommand(program, 'me')
    .description('who your token belongs to, with your quotas and what you use of them')
    .option('--json', 'print it as JSON')
    .action((options: JsonOption, command: Command) => execute(command, (client) => me(client, options)));

  clientCommand(program, 'login')
    .description('check a token against a server and save both in the credentials file the CLI reads')
    .addHelpText('after', '\nThe token comes from --token, else BARGE_TOKEN, else stdin (one line).')
    .action((_options: unknown, command: Command) => execute(command, (client) => login(client)));

  const token = program.command('token').description('tokens for other programs');
  clientCommand(token, 'jwt')
    .description("a JWT signed by the server (admins: for any user), for one face's audience")
    .requiredOption('--audience <aud>', 'who it is for: v1, tork, or an outside API’s audience')
    .option('--user <name>', 'for this user (admins; default: you)')
    .option('--ttl <lifetime>', 'how long it is valid, e.g. 24h, 30m, 7d', '24h')
    .action((options: UserOption & { audience: string; ttl: string }, command: Command) =>
      execute(command, async (client) => {
        const issued = await client.send<{ token: string; expiresAt: string }>('POST', '/v1/jwt', { audience: options.audience, ttl: options.ttl, user: options.user });
        out(issued.token);
        say(`valid until ${issued.expiresAt}`);
        return 0;
      }),
    );
}

function registerUsers(program: Command): void {
  const users = program.command('users').description('manage users (admins) and public keys');

  clientCommand(users, 'add')
    .description("create a user; prints its first API token (shown once)")
    .argument('<name>', 'user name')
    .option('--role <role>', 'admin, user, viewer or worker', 'user')
    .option('--json', 'print {user, token} as JSON')
    .action((name: string, options: JsonOption & { role: string }, command: Command) =>
      execute(command, async (client) => {
        const created = await client.send<{ user: User; token: string }>('POST', '/v1/users', { name, role: options.role });
        if (options.json) printJson(created);
        else {
          out(created.token);
          say(`user ${created.user.name} (${created.user.role}) created; the token above is shown once`);
        }
        return 0;
      }),
    );

  clientCommand(users, 'ls')
    .description('list users')
    .option('--json', 'print {items} as JSON')
    .action((options: JsonOption, command: Command) =>
      execute(command, async (client) => {
        const list = await client.send<{ items: User[] }>('GET', '/v1/users');
        if (options.json) printJson(list);
        else out(table(['NAME', 'ROLE', 'DISABLED', 'QUOTAS', 'CREATED'], list.items.map((u) => [u.name, u.role, u.disabled ? 'yes' : '', formatQuotas(u.quotas), u.createdAt])));
        return 0;
      }),
    );

  clientCommand(users, 'rm')
    .description('delete a user with its credentials and keys (its jobs stay)')
    .argument('<name>', 'user name')
    .action((name: string, _options: unknown, command: Command) =>
      execute(command, async (client) => {
        await client.send('DELETE', `/v1/users/${seg(name)}`);
        say(`user ${name} deleted`);
        return 0;
      }),
    );

  clientCommand(users, 'role')
    .description("change a user's role")
    .argument('<name>', 'user name')
    .argument('<role>', 'admin, user, viewer or worker')
    .action((name: string, role: string, _options: unknown, command: Command) => execute(command, (client) => changeUser(client, name, { role })));

  clientCommand(users, 'disable')
    .description('disable a user (its credentials stop working) or, with --enable, enable it again')
    .argument('<name>', 'user name')
    .option('--enable', 'enable it again')
    .action((name: string, options: { enable?: boolean }, command: Command) =>
      execute(command, (client) => changeUser(client, name, { disabled: !options.enable })),
    );

  clientCommand(users, 'quota')
    .description("set a user's quotas (replaces them all; no option clears them)")
    .argument('<name>', 'user name')
    .option('--running <n>', 'executions running at once', nonNegativeInt)
    .option('--queued <n>', 'executions waiting to run', nonNegativeInt)
    .option('--compute-seconds <n>', 'compute seconds per period', nonNegativeInt)
    .option('--result-bytes <n>', 'result bytes downloaded per period', nonNegativeInt)
    .option('--max-array-items <n>', "the longest each list of the user's jobs", nonNegativeInt)
    .option('--period <seconds>', 'period length in seconds (default 86400)', positiveInt)
    .action((name: string, options: QuotaOptions, command: Command) => execute(command, (client) => changeUser(client, name, { quotas: quotasOf(options) })));

  const pubkeys = users.command('pubkeys').description('registered ssh-ed25519 public keys (for signed requests)');

  clientCommand(pubkeys, 'add')
    .description('register an OpenSSH public key (a .pub file, the line itself, or - for stdin)')
    .argument('<key>', 'path to id_ed25519.pub, an "ssh-ed25519 AAAA…" line, or -')
    .option('--user <name>', "another user's (admins)")
    .option('--name <name>', "a name for it (default: the key's comment)")
    .option('--expires <lifetime>', 'e.g. 90d (default: never)')
    .action((key: string, options: UserOption & { name?: string; expires?: string }, command: Command) =>
      execute(command, async (client) => {
        const line = await publicKeyLine(key);
        const user = await userName(client, options.user);
        const added = await client.send<Pubkey>('POST', `/v1/users/${seg(user)}/pubkeys`, { publicKey: line, name: options.name, expiresIn: options.expires });
        out(added.id);
        say(`registered ${added.fingerprint} (${added.name}) for ${user}`);
        return 0;
      }),
    );

  clientCommand(pubkeys, 'ls')
    .description('list registered public keys')
    .option('--user <name>', "another user's (admins)")
    .option('--json', 'print {items} as JSON')
    .action((options: UserOption & JsonOption, command: Command) =>
      execute(command, async (client) => {
        const list = await client.send<{ items: Pubkey[] }>('GET', `/v1/users/${seg(await userName(client, options.user))}/pubkeys`);
        const now = Date.now();
        if (options.json) printJson(list);
        else out(table(['ID', 'NAME', 'FINGERPRINT', 'EXPIRES', 'LAST USED'], list.items.map((k) => [k.id, k.name, k.fingerprint, k.expiresAt ?? 'never', formatAgo(k.lastUsedAt, now)])));
        return 0;
      }),
    );

  clientCommand(pubkeys, 'rm')
    .description('remove a registered public key')
    .argument('<id>', 'key id (from `barge users pubkeys ls`)')
    .option('--user <name>', "another user's (admins)")
    .action((id: string, options: UserOption, command: Command) =>
      execute(command, async (client) => {
        await client.send('DELETE', `/v1/users/${seg(await userName(client, options.user))}/pubkeys/${seg(id)}`);
        say(`public key ${id} removed`);
        return 0;
      }),
    );
}

function registerKeys(program: Command): void {
  const keys = program.command('keys').description('your API tokens and API keys');

  clientCommand(keys, 'create')
    .description('create an API token or API key; prints the secret (shown once)')
    .option('--name <name>', 'what it is for')
    .option('--kind <kind>', 'token (Authorization: Bearer) or apikey (faces that send a raw key)', 'token')
    .option('--expires <lifetime>', 'e.g. 24h, 30d (default: never)')
    .option('--user <name>', "for another user (admins)")
    .option('--json', 'print {key, secret} as JSON')
    .action((options: UserOption & JsonOption & { name?: string; kind: string; expires?: string }, command: Command) =>
      execute(command, async (client) => {
        const created = await client.send<{ key: Credential; secret: string }>('POST', '/v1/keys', {
          name: options.name,
          kind: options.kind,
          expiresIn: options.expires,
          user: options.user,
        });
        if (options.json) printJson(created);
        else {
          out(created.secret);
          say(`${created.key.kind} ${created.key.id} (${created.key.name}) created${created.key.expiresAt ? `, expires ${created.key.expiresAt}` : ''}; the secret above is shown once`);
        }
        return 0;
      }),
    );

  clientCommand(keys, 'ls')
    .description('list your API tokens and keys (never their secrets)')
    .option('--user <name>', "another user's (admins)")
    .option('--json', 'print {items} as JSON')
    .action((options: UserOption & JsonOption, command: Command) =>
      execute(command, async (client) => {
        const list = await client.send<{ items: Credential[] }>('GET', '/v1/keys', undefined, { user: options.user });
        const now = Date.now();
        if (options.json) printJson(list);
        else out(table(['ID', 'KIND', 'NAME', 'PREFIX', 'EXPIRES', 'LAST USED'], list.items.map((k) => [k.id, k.kind, k.name, `${k.prefix}…`, k.expiresAt ?? 'never', formatAgo(k.lastUsedAt, now)])));
        return 0;
      }),
    );

  clientCommand(keys, 'revoke')
    .description('revoke one API token or key')
    .argument('<id>', 'key id (from `barge keys ls`)')
    .option('--user <name>', "another user's (admins)")
    .action((id: string, options: UserOption, command: Command) =>
      execute(command, async (client) => {
        await client.send('DELETE', `/v1/keys/${seg(id)}`, undefined, { user: options.user });
        say(`key ${id} revoked`);
        return 0;
      }),
    );
}

async function changeUser(client: BargeClient, name: string, change: { role?: string; disabled?: boolean; quotas?: Quotas }): Promise<number> {
  const user = await client.send<User>('PATCH', `/v1/users/${seg(name)}`, change);
  say(`${user.name}: role ${user.role}${user.disabled ? ', disabled' : ''}, quotas ${formatQuotas(user.quotas) || 'none'}`);
  return 0;
}

interface QuotaOptions {
  running?: number;
  queued?: number;
  computeSeconds?: number;
  resultBytes?: number;
  maxArrayItems?: number;
  period?: number;
}

function quotasOf(options: QuotaOptions): Quotas {
  const quotas: Quotas = {
    runningExecutions: options.running,
    queuedExecutions: options.queued,
    computeSecondsPerPeriod: options.computeSeconds,
    resultBytesPerPeriod: options.resultBytes,
    maxArrayItems: options.maxArrayItems,
    periodSeconds: options.period,
  };
  return Object.fromEntries(Object.entries(quotas).filter(([, value]) => value !== undefined)) as Quotas;
}

function formatQuotas(quotas: Quotas): string {
  const parts: string[] = [];
  if (quotas.runningExecutions !== undefined) parts.push(`running ${quotas.runningExecutions}`);
  if (quotas.queuedExecutions !== undefined) parts.push(`queued ${quotas.queuedExecutions}`);
  if (quotas.computeSecondsPerPeriod !== undefined) parts.push(`compute ${quotas.computeSecondsPerPeriod}s`);
  if (quotas.resultBytesPerPeriod !== undefined) parts.push(`results ${quotas.resultBytesPerPeriod}B`);
  if (quotas.maxArrayItems !== undefined) parts.push(`arrays ${quotas.maxArrayItems}`);
  if (parts.length > 0 && quotas.periodSeconds !== undefined) parts.push(`per ${quotas.periodSeconds}s`);
  return parts.join(', ');
}

async function share(client: BargeClient, job: string, user: string | undefined, options: JsonOption & { remove?: boolean }): Promise<number> {
  const path = `/v1/jobs/${seg(job)}/shares`;
  if (options.remove) {
    if (!user) throw new CliError('--remove needs the USER to stop sharing with');
    await client.send('DELETE', `${path}/${seg(user)}`);
    say(`job ${job} is no longer shared with ${user}`);
    return 0;
  }
  const list = user ? await client.send<{ items: Share[] }>('POST', path, { user }) : await client.send<{ items: Share[] }>('GET', path);
  if (options.json) printJson(list);
  else if (list.items.length === 0) say(`job ${job} is not shared`);
  else out(list.items.map((s) => s.user).join('\n'));
  return 0;
}

async function me(client: BargeClient, options: JsonOption): Promise<number> {
  const info = await client.send<Me>('GET', '/v1/me');
  if (options.json) {
    printJson(info);
    return 0;
  }
  const { usage, quotas } = info;
  const of = (used: number, limit: number | undefined): string => (limit === undefined ? `${used}` : `${used} of ${limit}`);
  out(`${info.name} (${info.role}) at ${client.server}`);
  out(`running executions  ${of(usage.runningExecutions, quotas.runningExecutions)}`);
  out(`queued executions   ${of(usage.queuedExecutions, quotas.queuedExecutions)}`);
  out(`compute seconds     ${of(Math.round(usage.computeSeconds), quotas.computeSecondsPerPeriod)} (period ${usage.periodStart} to ${usage.periodEnd})`);
  out(`result bytes        ${of(usage.resultBytes, quotas.resultBytesPerPeriod)}`);
  return 0;
}

/**
 * Checks the token with /v1/me before saving it, so a typo is caught now rather than at the next
 * command. The token never goes to the terminal.
 */
async function login(client: BargeClient): Promise<number> {
  let token = client.connection.token;
  if (!token || client.connection.tokenSource === 'credentials file') {
    if (process.stdin.isTTY) say('paste your token and press Enter, then Ctrl-D:');
    token = (await readStdin()).trim().split(/\s+/)[0];
  }
  if (!token) throw new CliError('no token: pass --token, set BARGE_TOKEN, or give it on stdin');
  const server = normalizeServer(client.server);
  const checked = new BargeClient({ server, token, tokenSource: 'flag' });
  let info: Me;
  try {
    info = await checked.send<Me>('GET', '/v1/me');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) throw new CliError(`${server} refused the token: ${error.message.replace(/ \(the token.*$/, '')}`);
    throw error;
  }
  const path = saveCredentials({ server, token });
  say(`logged in to ${server} as ${info.name} (${info.role}); saved to ${path}`);
  return 0;
}

/** The caller's own name when no --user is given (the pubkey routes name the user in the path). */
async function userName(client: BargeClient, user: string | undefined): Promise<string> {
  if (user) return user;
  return (await client.send<Me>('GET', '/v1/me')).name;
}

async function publicKeyLine(source: string): Promise<string> {
  if (source === '-') return (await readStdin()).trim();
  if (/^ssh-[a-z0-9-]+\s+AAAA/.test(source.trim())) return source.trim();
  return (await readText(source)).trim();
}

function nonNegativeInt(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new CliError(`expected a whole number of 0 or more, got "${value}"`);
  return number;
}
