/**
 * `POST /tools/<tool_id>` (batches.md §4, §9 #3, #15): both hardware forms and both argument forms,
 * read into one batch, which becomes one barge job: an `each` over n_jobs = max(1,
 * len(variable_args)) items. Item i gets every `fixed_args` entry, then element i's entries, as
 * environment variables; cpu and memory become each item's limits; filesystems are mounted
 * read-write at /mnt/efs (one) or /mnt/efs/<name> (several).
 *
 * The item's variables reach the program through one templated variable per item (templates can
 * fill values, not names): a bash or image tool starts with `eval "$BARGE_BATCH_EXPORTS"` (shell
 * quoted `export K='v'` lines), a Lua tool with a one-line prelude that makes `os.getenv` answer
 * them (a Lua table in `$BARGE_BATCH_LUA`). The values are data inside the item, never template
 * or script text, so no argument can inject into either.
 */
import type { FilesystemRow, Json, ToolProgram, ToolRow } from '../../../core/model.js';
import type { JobSpec, MountSpec, TaskSpec } from '../../../core/spec-types.js';
import { FILESYSTEM_MOUNT } from '../../../engine/filesystems.js';
import { BatchesError, INVALID_JSON, invalidBody } from './errors.js';
import { ARGS_ENV, type BatchFacts } from './views.js';

export interface BatchRequest {
  fixed: Array<[string, string]>;
  variable: Array<Array<[string, string]>>;
  cpu: number;
  memory: number;
  /** Ids, in the order given. */
  filesystemIds: string[];
}

/** Parses the raw body text (whatever the Content-Type said). */
export function parseJsonBody(body: unknown): unknown {
  if (typeof body !== 'string' || body.trim() === '') return {};
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new BatchesError(400, INVALID_JSON);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function readBatchRequest(body: unknown): BatchRequest {
  if (!isObject(body)) throw invalidBody('the body must be a JSON object');
  for (const key of ['fixed_args', 'variable_args', 'hardware']) {
    if (!(key in body)) throw invalidBody(`${key} is missing`);
  }
  const { fixed_args: fixed, variable_args: variable, hardware } = body;
  if (!isObject(fixed)) throw invalidBody('fixed_args must be an object');
  if (!Array.isArray(variable)) throw invalidBody('variable_args must be a list');
  if (!isObject(hardware)) throw invalidBody('hardware must be an object');
  return {
    fixed: readArgs(fixed, 'fixed_args'),
    variable: variable.map((element, i) => {
      if (!isObject(element)) throw invalidBody(`variable_args[${i}] must be an object`);
      return readArgs(element, `variable_args[${i}]`);
    }),
    cpu: readPositive(hardware.cpu ?? 1, 'hardware.cpu'),
    memory: Math.ceil(readPositive(hardware.memory ?? 256, 'hardware.memory')),
    filesystemIds: readFilesystems(hardware),
  };
}

/** An environment variable name, and not one of barge's own. */
const ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED = /^(BARGE|TORK)_/;

function readArgs(args: Record<string, unknown>, path: string): Array<[string, string]> {
  return Object.entries(args).map(([name, raw]) => {
    if (!ARG_NAME.test(name)) throw invalidBody(`${path}: "${name}" is not an environment variable name`);
    if (RESERVED.test(name)) throw invalidBody(`${path}: "${name}" is reserved (BARGE_ and TORK_ are barge's)`);
    const value = argValue(typedValue(raw));
    if (value.includes('\0')) throw invalidBody(`${path}.${name} holds a NUL character`);
    return [name, value];
  });
}

/** `{"value": v, "type": …}` is the SDK's Argument form; anything else is the value itself. */
function typedValue(raw: unknown): unknown {
  if (isObject(raw) && 'value' in raw && Object.keys(raw).every((key) => key === 'value' || key === 'type')) return raw.value;
  return raw;
}

/** §9 #15: strings as they are, numbers in JSON text, booleans true/false, the rest JSON-encoded. */
export function argValue(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value as Json) ?? '';
}

function readPositive(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw invalidBody(`${path} must be a positive number`);
  return value;
}

/** Gen (b)'s `filesystem_list` of `{filesystem_id, filesystem_name}`, or gen (a)'s `filesystems` of ids. */
function readFilesystems(hardware: Record<string, unknown>): string[] {
  const list = hardware.filesystem_list ?? hardware.filesystems ?? [];
  const path = 'filesystem_list' in hardware ? 'hardware.filesystem_list' : 'hardware.filesystems';
  if (!Array.isArray(list)) throw invalidBody(`${path} must be a list`);
  const ids = list.map((item: unknown, i) => {
    const id = isObject(item) ? item.filesystem_id : item;
    if (typeof id !== 'string' || id === '') throw invalidBody(`${path}[${i}] must name a filesystem id`);
    return id;
  });
  return [...new Set(ids)];
}

// ---- the job spec --------------------------------------------------------------------------

const ITEM_VAR = 'element';
const EXPORTS_ENV = 'BARGE_BATCH_EXPORTS';
const LUA_ENV = 'BARGE_BATCH_LUA';
/** Where the tool's own script is written in the work folder. */
const TOOL_FILE = '.et-tool';
export const FILESYSTEMS_PATH = '/mnt/efs';

interface Item {
  args: Array<{ name: string; value: string }>;
  sh: string;
  lua: string;
}

/** Item i's variables: the fixed ones, then element i's (the later wins in the environment). */
function items(request: BatchRequest): Item[] {
  const elements = request.variable.length === 0 ? [[]] : request.variable;
  return elements.map((element) => {
    const pairs = [...request.fixed, ...element];
    const env = new Map(pairs);
    return {
      args: pairs.map(([name, value]) => ({ name, value })),
      sh: [...env].map(([name, value]) => `export ${name}=${shellQuote(value)}`).join('\n'),
      lua: `return {${[...env].map(([name, value]) => `${name}=${luaQuote(value)}`).join(',')}}`,
    };
  });
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A Lua string literal: quotes, backslashes and control characters as decimal escapes. */
function luaQuote(value: string): string {
  let out = '';
  for (const c of value) {
    const code = c.charCodeAt(0);
    out += code < 0x20 || code === 0x7f || c === '"' || c === '\\' ? `\\${String(code).padStart(3, '0')}` : c;
  }
  return `"${out}"`;
}

/** Makes `os.getenv` answer the item's variables first; one line, so the script's line numbers hold. */
const LUA_PRELUDE =
  `do local a = load(os.getenv("${LUA_ENV}") or "return {}")() local g = os.getenv ` +
  `os.getenv = function(n) local v = a[n] if v ~= nil then return v end return g(n) end end `;

/** Sets the item's variables, then runs the program: a `#!` script directly, any other in bash. */
function shellPrelude(): string {
  return `eval "$${EXPORTS_ENV}"\nunset ${EXPORTS_ENV}\n`;
}

function programTask(program: ToolProgram): Partial<TaskSpec> {
  switch (program.kind) {
    case 'lua':
      return { lua: LUA_PRELUDE + program.script, env: { [LUA_ENV]: `{{ ${ITEM_VAR}.value.lua }}` } };
    case 'image':
      return { image: program.image, run: shellPrelude() + program.command };
    case 'bash': {
      const direct = program.script.startsWith('#!');
      const start = direct ? `chmod +x ./${TOOL_FILE}\nexec ./${TOOL_FILE}` : `. ./${TOOL_FILE}`;
      return { run: shellPrelude() + start + '\n', files: { [TOOL_FILE]: program.script } };
    }
  }
}

/** Mount targets: the original's /mnt/efs for one filesystem, /mnt/efs/<name> for each of several (§9 #14). */
export function filesystemMounts(filesystems: FilesystemRow[]): MountSpec[] {
  const names = new Set(filesystems.map((fs) => fs.name));
  if (names.size !== filesystems.length) throw invalidBody('two filesystems of the batch have the same name');
  return filesystems.map((fs) => ({
    type: FILESYSTEM_MOUNT,
    source: fs.id,
    target: filesystems.length === 1 ? FILESYSTEMS_PATH : `${FILESYSTEMS_PATH}/${fs.name}`,
  }));
}

export function batchSpec(tool: ToolRow, program: ToolProgram, request: BatchRequest, filesystems: FilesystemRow[]): { spec: JobSpec; facts: BatchFacts } {
  const list = items(request);
  const own = programTask(program);
  const task: TaskSpec = {
    name: `${tool.name} {{ ${ITEM_VAR}.index }}`,
    ...own,
    env: {
      ...own.env,
      ...(program.kind === 'lua' ? {} : { [EXPORTS_ENV]: `{{ ${ITEM_VAR}.value.sh }}` }),
      [ARGS_ENV]: `{{ toJSON(${ITEM_VAR}.value.args) }}`,
    },
    limits: { cpus: request.cpu, memory: request.memory },
    ...(filesystems.length > 0 ? { mounts: filesystemMounts(filesystems) } : {}),
  };
  const spec: JobSpec = {
    name: `${tool.name} batch`,
    description: `ET Engine batch of tool ${tool.name} (${tool.id})`,
    inputs: { batch_items: JSON.stringify(list) },
    // Batch jobs are independent (AWS Batch jobs): one failing does not cancel the others.
    tasks: [{ name: tool.name, each: { list: '{{ fromJSON(inputs.batch_items) }}', var: ITEM_VAR, failFast: false, task } }],
  };
  const facts: BatchFacts = {
    toolId: tool.id,
    toolName: tool.name,
    toolDescription: tool.description,
    nJobs: list.length,
    cpu: request.cpu,
    memory: request.memory,
    filesystems: filesystems.map((fs) => ({ id: fs.id, name: fs.name })),
  };
  return { spec, facts };
}
