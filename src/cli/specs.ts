/**
 * Job specs the CLI writes or edits: a submitted file with `--input`s merged in, the one-task job
 * of `barge run`, and the fan-out job of `barge map`.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { isMap, parseDocument } from 'yaml';
import { CliError } from './client.js';

export type SpecFormat = 'json' | 'yaml';

export interface JobFile {
  text: string;
  format: SpecFormat;
  /** For messages: the path, or `stdin`. */
  name: string;
}

/** Reads a job file (or stdin for `-`), telling YAML from JSON by extension or, failing that, content. */
export async function readJobFile(path: string, stdin: () => Promise<string> = readStdin): Promise<JobFile> {
  const name = path === '-' ? 'stdin' : path;
  const text = path === '-' ? await stdin() : await readText(path);
  if (text.trim() === '') throw new CliError(`${name} is empty: expected a job spec in YAML or JSON`);
  const extension = extname(path).toLowerCase();
  const format: SpecFormat =
    extension === '.json' ? 'json' : extension === '.yaml' || extension === '.yml' ? 'yaml' : sniffFormat(text);
  return { text, format, name };
}

/** JSON is a mapping or list in braces; anything else is YAML (of which JSON is a subset anyway). */
function sniffFormat(text: string): SpecFormat {
  return /^\s*[{[]/.test(text) ? 'json' : 'yaml';
}

export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : String(error);
    throw new CliError(`cannot read ${path}: ${why}`);
  }
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `--input k=v` flags as a map; the value may itself hold `=`. */
export function parseInputs(pairs: string[]): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new CliError(`--input expects key=value, got "${pair}"`);
    inputs[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return inputs;
}

/**
 * The file's text with `inputs` merged in (flags win over the file). YAML is edited as a document,
 * so comments, anchors and layout survive and it is still sent as YAML.
 */
export function mergeInputs(file: JobFile, inputs: Record<string, string>): string {
  if (Object.keys(inputs).length === 0) return file.text;
  return file.format === 'json' ? mergeJsonInputs(file, inputs) : mergeYamlInputs(file, inputs);
}

function mergeJsonInputs(file: JobFile, inputs: Record<string, string>): string {
  let spec: unknown;
  try {
    spec = JSON.parse(file.text);
  } catch (error) {
    throw new CliError(`${file.name} is not valid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(spec)) throw new CliError(`${file.name}: a job spec is a JSON object`);
  const existing = spec.inputs ?? {};
  if (!isPlainObject(existing)) throw new CliError(`${file.name}: inputs must be an object to merge --input into`);
  return JSON.stringify({ ...spec, inputs: { ...existing, ...inputs } }, null, 2);
}

function mergeYamlInputs(file: JobFile, inputs: Record<string, string>): string {
  const document = parseDocument(file.text);
  if (document.errors.length > 0) throw new CliError(`${file.name} is not valid YAML: ${document.errors[0].message}`);
  if (!isMap(document.contents)) throw new CliError(`${file.name}: a job spec is a YAML mapping`);
  const existing = document.get('inputs');
  if (existing !== undefined && existing !== null && !isMap(existing)) {
    throw new CliError(`${file.name}: inputs must be a mapping to merge --input into`);
  }
  for (const [key, value] of Object.entries(inputs)) document.setIn(['inputs', key], value);
  return document.toString();
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface Limits {
  cpus?: number;
  memory?: number;
}

function limitsOf(options: Limits): { cpus?: number; memory?: number } | undefined {
  const limits = { cpus: options.cpus, memory: options.memory };
  return limits.cpus === undefined && limits.memory === undefined ? undefined : JSON.parse(JSON.stringify(limits));
}

/**
 * `barge run -- CMD ARGS…`: one shell task whose script is `"$@"`, the command and its arguments
 * being the task's `args`. Nothing is ever pasted into the script, so no quoting can go wrong.
 *
 * `args` are templates, though: an argument holding `{{` would be evaluated. Such an argument
 * travels in `inputs` instead, and its `args` entry is `{{ inputs.argN }}`, whose value is the
 * input verbatim.
 */
export function runSpec(argv: string[], options: Limits & { name?: string }): Record<string, unknown> {
  if (argv.length === 0) throw new CliError('nothing to run: give a command after --, e.g. barge run -- echo hello');
  const inputs: Record<string, string> = {};
  const args = argv.map((arg, index) => {
    if (!arg.includes('{{')) return arg;
    inputs[`arg${index}`] = arg;
    return `{{ inputs.arg${index} }}`;
  });
  const task: Record<string, unknown> = { name: 'run', run: '"$@"', args };
  const limits = limitsOf(options);
  if (limits) task.limits = limits;
  const spec: Record<string, unknown> = { name: options.name ?? commandName(argv), tasks: [task] };
  if (Object.keys(inputs).length > 0) spec.inputs = inputs;
  return spec;
}

function commandName(argv: string[]): string {
  const text = `run ${argv.join(' ')}`.replace(/\s+/g, ' ');
  return text.length <= 80 ? text : `${text.slice(0, 79)}…`;
}

/** The non-empty lines of an args file, without their line endings. */
export function argLines(text: string): string[] {
  return text.split('\n').map((line) => line.replace(/\r$/, '')).filter((line) => line.trim() !== '');
}

export interface MapOptions extends Limits {
  name?: string;
  concurrency?: number;
  lua?: boolean;
}

/**
 * `barge map SCRIPT --args-file F`: one task with `each` over the lines, the script run once per
 * line with the line as its only argument (`$1` in bash, `arg[2]` in Lua). Inputs are strings, so
 * the lines travel as one JSON array string in `inputs.lines` and `fromJSON` turns them back into
 * the list; `{{ item.value }}` is each line verbatim.
 */
export function mapSpec(scriptPath: string, script: string, lines: string[], options: MapOptions): Record<string, unknown> {
  const lua = options.lua === true || extname(scriptPath).toLowerCase() === '.lua';
  const taskName = safeName(basename(scriptPath));
  const item: Record<string, unknown> = { name: taskName, args: ['{{ item.value }}'], [lua ? 'lua' : 'run']: script };
  const limits = limitsOf(options);
  if (limits) item.limits = limits;
  const each: Record<string, unknown> = { list: '{{ fromJSON(inputs.lines) }}', task: item };
  if (options.concurrency !== undefined) each.concurrency = options.concurrency;
  return {
    name: options.name ?? `map ${basename(scriptPath)} (${lines.length} ${lines.length === 1 ? 'line' : 'lines'})`,
    inputs: { lines: JSON.stringify(lines) },
    tasks: [{ name: 'map', each }],
  };
}

/** Task names are templates too; a file name is used as a plain word. */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_') || 'script';
}
