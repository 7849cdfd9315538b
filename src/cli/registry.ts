/**
 * `barge tools` and `barge fs`: the tool and filesystem registry (ET Engine's tools and
 * filesystems, src/api/compat/batches/README.md), over its routes under /v1. A tool or filesystem
 * is named by its name (one of yours, else one shared with you) or its id.
 */
import type { Command } from 'commander';
import { ApiError, type BargeClient, CliError } from './client.js';
import { clientCommand, execute } from './commands.js';
import { table } from './format.js';
import { readText } from './specs.js';

const out = (text: string): void => void process.stdout.write(`${text}\n`);
const say = (text: string): void => void process.stderr.write(`${text}\n`);
const seg = encodeURIComponent;

interface Tool {
  tool_id: string;
  tool_name: string;
  tool_description: string;
}
interface ToolDetail extends Tool {
  tool_owner: string;
  tool_kind: string | null;
  created_at: string;
}
interface Filesystem {
  filesystem_id: string;
  filesystem_name: string;
}

interface JsonOption {
  json?: boolean;
}

export function registerRegistryCommands(program: Command): void {
  registerTools(program);
  registerFilesystems(program);
}

function registerTools(program: Command): void {
  const tools = program.command('tools').description('tools: named programs run as ET Engine batches (POST /v1/tools/<id>)');

  clientCommand(tools, 'add')
    .description('register a tool, or give one of yours a new program: a bash script (default), a Lua script, or a command in an image')
    .argument('<name>', 'tool name: letters, digits, . _ -')
    .argument('<file>', 'the script (bash or Lua), or the command run in the image')
    .option('--lua', 'the file is a Lua script')
    .option('--image <image>', 'run the file as a command in this container image')
    .option('--description <text>', 'what the tool does', '')
    .action((name: string, file: string, options: { lua?: boolean; image?: string; description: string }, command: Command) =>
      execute(command, async (client) => {
        if (options.lua && options.image) throw new CliError('--lua and --image exclude each other');
        const text = await readText(file);
        const program = options.image ? { kind: 'image', image: options.image, command: text } : { kind: options.lua ? 'lua' : 'bash', script: text };
        try {
          const tool = await client.send<Tool>('POST', '/v1/tools', { tool_name: name, tool_description: options.description, program });
          out(tool.tool_id);
          say(`tool ${name} added (${program.kind})`);
        } catch (error) {
          if (!(error instanceof ApiError) || error.status !== 409) throw error;
          const tool = await findTool(client, name);
          await client.send('PUT', `/v1/tools/${seg(tool.tool_id)}/program`, program);
          out(tool.tool_id);
          say(`tool ${name} has a new program (${program.kind})`);
        }
        return 0;
      }),
    );

  clientCommand(tools, 'ls')
    .description('your tools and those shared with you')
    .option('--json', 'print them as JSON')
    .action((options: JsonOption, command: Command) =>
      execute(command, async (client) => {
        const list = await client.send<Tool[]>('GET', '/v1/tools');
        if (options.json) out(JSON.stringify(list, null, 2));
        else out(table(['ID', 'NAME', 'DESCRIPTION'], list.map((t) => [t.tool_id, t.tool_name, t.tool_description])));
        return 0;
      }),
    );

  clientCommand(tools, 'rm')
    .description('delete a tool of yours (its batches stay)')
    .argument('<tool>', 'tool name or id')
    .action((name: string, _options: unknown, command: Command) =>
      execute(command, async (client) => {
        const tool = await findTool(client, name);
        await client.send('DELETE', `/v1/tools/${seg(tool.tool_id)}`);
        say(`tool ${tool.tool_name} deleted`);
        return 0;
      }),
    );

  clientCommand(tools, 'share')
    .description('let a user run a tool of yours; without USER, list who may')
    .argument('<tool>', 'tool name or id')
    .argument('[user]', 'user name')
    .option('--remove', 'stop sharing it with USER')
    .action((name: string, user: string | undefined, options: { remove?: boolean }, command: Command) =>
      execute(command, async (client) => shareCommand(client, `/v1/tools/${seg((await findTool(client, name)).tool_id)}`, user, options.remove)),
    );
}

function registerFilesystems(program: Command): void {
  const fs = program.command('fs').description('filesystems: named folders mounted read-write into batches at /mnt/efs');

  clientCommand(fs, 'add')
    .description('create a filesystem (a folder in the server\'s data, or an existing outside folder: admins)')
    .argument('<name>', 'filesystem name: letters, digits, . _ -')
    .option('--path <folder>', 'an existing absolute folder on the server (admins only)')
    .action((name: string, options: { path?: string }, command: Command) =>
      execute(command, async (client) => {
        const created = await client.send<Filesystem>('POST', '/v1/filesystems', { filesystem_name: name, path: options.path });
        out(created.filesystem_id);
        say(`filesystem ${name} added`);
        return 0;
      }),
    );

  clientCommand(fs, 'ls')
    .description('your filesystems and those shared with you')
    .option('--json', 'print them as JSON')
    .action((options: JsonOption, command: Command) =>
      execute(command, async (client) => {
        const list = await client.send<Filesystem[]>('GET', '/v1/filesystems');
        if (options.json) out(JSON.stringify(list, null, 2));
        else out(table(['ID', 'NAME'], list.map((f) => [f.filesystem_id, f.filesystem_name])));
        return 0;
      }),
    );

  clientCommand(fs, 'rm')
    .description('delete a filesystem of yours, with its folder when it is in the server\'s data')
    .argument('<fs>', 'filesystem name or id')
    .action((name: string, _options: unknown, command: Command) =>
      execute(command, async (client) => {
        const found = await findFilesystem(client, name);
        await client.send('DELETE', `/v1/filesystems/${seg(found.filesystem_id)}`);
        say(`filesystem ${found.filesystem_name} deleted`);
        return 0;
      }),
    );

  clientCommand(fs, 'share')
    .description('let a user mount a filesystem of yours; without USER, list who may')
    .argument('<fs>', 'filesystem name or id')
    .argument('[user]', 'user name')
    .option('--remove', 'stop sharing it with USER')
    .action((name: string, user: string | undefined, options: { remove?: boolean }, command: Command) =>
      execute(command, async (client) => shareCommand(client, `/v1/filesystems/${seg((await findFilesystem(client, name)).filesystem_id)}`, user, options.remove)),
    );
}

async function shareCommand(client: BargeClient, base: string, user: string | undefined, remove: boolean | undefined): Promise<number> {
  if (user === undefined) {
    if (remove) throw new CliError('--remove needs a USER');
    const list = await client.send<{ shared_with: string[] }>('GET', `${base}/shares`);
    out(list.shared_with.join('\n'));
    return 0;
  }
  if (remove) await client.send('DELETE', `${base}/shares/${seg(user)}`);
  else await client.send('POST', `${base}/shares`, { user });
  say(`${remove ? 'no longer shared' : 'shared'} with ${user}`);
  return 0;
}

/** By id, or by name: the caller's own first (a name is unique per owner), else the only shared one. */
async function findTool(client: BargeClient, nameOrId: string): Promise<Tool> {
  const list = await client.send<Tool[]>('GET', '/v1/tools');
  const byId = list.find((t) => t.tool_id === nameOrId);
  if (byId) return byId;
  const named = list.filter((t) => t.tool_name === nameOrId);
  if (named.length === 1) return named[0];
  if (named.length === 0) throw new CliError(`no tool named ${nameOrId}: see \`barge tools ls\``);
  const details = await Promise.all(named.map((t) => client.send<ToolDetail>('GET', `/v1/tools/${seg(t.tool_id)}`)));
  const me = await client.send<{ name: string }>('GET', '/v1/me');
  const own = details.find((t) => t.tool_owner === me.name);
  if (own) return own;
  throw new CliError(`several tools named ${nameOrId} are shared with you: give its id (barge tools ls)`);
}

async function findFilesystem(client: BargeClient, nameOrId: string): Promise<Filesystem> {
  const list = await client.send<Filesystem[]>('GET', '/v1/filesystems');
  const found = list.filter((f) => f.filesystem_id === nameOrId || f.filesystem_name === nameOrId);
  if (found.length === 1) return found[0];
  if (found.length === 0) throw new CliError(`no filesystem named ${nameOrId}: see \`barge fs ls\``);
  throw new CliError(`several filesystems named ${nameOrId}: give its id (barge fs ls)`);
}
