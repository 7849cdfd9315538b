/**
 * `POST /submit` (sliderule-runner.md §4.1, §10, §11): one barge job whose `each` runs the Lua
 * script once per argument, in barge's `lua` runtime with `arg[2]` = the argument (`nil` when
 * blank). Everything is checked before anything is written (§11 #9); the answer's `job_ids` are
 * the elements' ids in order, plus `job_id` (the array id) when the request used `args`.
 */
import type { JobSpec } from '../../../core/spec-types.js';
import type { Engine } from '../../../engine/engine.js';
import type { Principal } from '../../auth/index.js';
import { badRequest } from './errors.js';
import { arrayId, itemId, SLIDERULE_ORIGIN } from './ids.js';
import { arrayExecution } from './elements.js';
import { receiptText, runIdOf, runUrlOf, writeRunFiles, type RunInfo } from './run-folder.js';

export const MAX_ELEMENTS = 10_000;
const VCPUS = { min: 1, max: 8 };
/** 4096 from 2026-06-01 (§11 #7); v5.4.2's 8192 would refuse what later clients send. */
const MEMORY_MB = { min: 4096, max: 32_768 };
/** The job definition's timeout (§7). */
const ELEMENT_TIMEOUT = '1h';

export interface SubmitRequest {
  name: string;
  script: string;
  args: string[];
  arrayForm: boolean;
  vcpus?: number;
  memory?: number;
}

/** The request, checked in the runner's order (§4.1); the first problem is the answer. */
export function readSubmit(body: Record<string, unknown>): SubmitRequest {
  if (!('name' in body)) throw badRequest('missing name');
  if (!('script' in body)) throw badRequest('missing script');
  const arrayForm = !('args_list' in body) && 'args' in body;
  if (!('args_list' in body) && !arrayForm) throw badRequest('missing args_list');
  const { name, script: encoded, vcpus, memory } = body;
  if (typeof name !== 'string') throw badRequest(`invalid name supplied of type ${pythonType(name)}`);
  if (name.trim() === '') throw badRequest('empty name provided');
  const script = decodeScript(encoded);
  const args = readArgs(arrayForm ? body.args : body.args_list, arrayForm ? 'args' : 'args_list');
  return { name, script, args, arrayForm, vcpus: integerIn(vcpus, 'vCPUs', VCPUS), memory: integerIn(memory, 'memory', MEMORY_MB) };
}

function decodeScript(encoded: unknown): string {
  if (typeof encoded !== 'string') throw badRequest(`invalid script supplied of type ${pythonType(encoded)}: base64 text expected`);
  const compact = encoded.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) throw badRequest('script is not valid base64');
  const bytes = Buffer.from(compact, 'base64');
  const script = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (!isUtf8(bytes, script)) throw badRequest('script is not UTF-8 text');
  if (script.length === 0) throw badRequest('empty script provided');
  return script;
}

function isUtf8(bytes: Buffer, text: string): boolean {
  return Buffer.from(text, 'utf8').equals(bytes);
}

/** A list of strings (or, for `args`, one string: one element); at most MAX_ELEMENTS. */
function readArgs(value: unknown, field: string): string[] {
  const list = field === 'args' && typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) throw badRequest(`invalid array of arguments supplied of type ${pythonType(value)}`);
  if (list.length > MAX_ELEMENTS) throw badRequest(`${field} has ${list.length} elements, more than ${MAX_ELEMENTS}`);
  const wrong = list.findIndex((element) => typeof element !== 'string');
  if (wrong >= 0) throw badRequest(`${field}[${wrong}] is a ${pythonType(list[wrong])}, not a string`);
  return list as string[];
}

/** An integer in range, or absent; booleans are refused (§11 #8). */
function integerIn(value: unknown, what: string, range: { min: number; max: number }): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
    throw badRequest(`invalid ${what} provided: ${JSON.stringify(value)} (an integer from ${range.min} to ${range.max})`);
  }
  return value;
}

function pythonType(value: unknown): string {
  if (value === null) return "<class 'NoneType'>";
  if (Array.isArray(value)) return "<class 'list'>";
  const names: Record<string, string> = { string: 'str', number: 'int', boolean: 'bool', object: 'dict' };
  return `<class '${names[typeof value] ?? typeof value}'>`;
}

/** The argument an element's script sees: blank ones are the text `nil`, as the runner passes them. */
export function elementArgument(arg: string): string {
  return arg.trim().length > 0 ? arg : 'nil';
}

export function submitSpec(request: SubmitRequest): JobSpec {
  const limits = request.vcpus === undefined && request.memory === undefined ? undefined : { cpus: request.vcpus, memory: request.memory };
  return {
    name: request.name,
    inputs: { args: JSON.stringify(request.args.map(elementArgument)) },
    tasks: [
      {
        name: request.name,
        each: {
          list: '{{ fromJSON(inputs.args) }}',
          // Elements are separate jobs in the runner: one failing or cancelled leaves the rest running.
          failFast: false,
          task: { name: request.name, lua: request.script, args: ['{{ item.value }}'], timeout: ELEMENT_TIMEOUT, ...(limits ? { limits } : {}) },
        },
      },
    ],
  };
}

export interface SubmitAnswer {
  name: string;
  run_url: string;
  job_ids: string[];
  job_id?: string;
}

/** Writes the job (durable when this resolves), then its run folder's script and receipt. */
export async function submit(engine: Engine, principal: Principal, request: SubmitRequest, environment: string): Promise<SubmitAnswer> {
  const runId = runIdOf({ user: principal.name, name: request.name, script: request.script, now: engine.clock.now() });
  const info: Omit<RunInfo, 'runUrl'> = { runId, count: request.args.length, arrayForm: request.arrayForm };
  const job = await engine.submit(submitSpec(request), { owner: principal.name, origin: SLIDERULE_ORIGIN, metadata: { sliderule: { ...info, runUrl: '' } } });
  const parent = await arrayExecution(engine.store, job);
  const runUrl = runUrlOf(engine, job, parent?.id ?? 'none', runId);
  await engine.store.jobUpdate({ id: job.id, patch: {}, metadata: { sliderule: { ...info, runUrl } } });
  await writeRunFiles(engine, job, runId, [
    { name: 'script.lua', content: request.script },
    { name: 'receipt.json', content: receiptText({ name: request.name, username: principal.name, args: request.args, environment }) },
  ]);
  const answer: SubmitAnswer = { name: request.name, run_url: runUrl, job_ids: request.args.map((_, i) => itemId(job.id, i)) };
  if (request.arrayForm) answer.job_id = arrayId(job.id);
  return answer;
}
