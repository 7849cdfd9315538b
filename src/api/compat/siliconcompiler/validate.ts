/**
 * The request checks of sc-server (reference §1.1, §3): each endpoint's JSON Schema
 * (`siliconcompiler/remote/server_schema/requests/*.json`), applied as fastjsonschema applies it —
 * keywords in its order (type, required, properties, additionalProperties, dependencies), the first
 * failure reported in its wording — and answered 400 `Error: Invalid parameters: <message>.`.
 */
import { ScError } from './errors.js';

interface Property {
  pattern?: RegExp;
  /** The pattern as the schema writes it, for the message. */
  source?: string;
}

interface RequestSchema {
  properties: Array<[name: string, rule: Property]>;
  required: string[];
}

const USERNAME: Property = { pattern: /^[^\s;]*$/, source: '^[^\\s;]*$' };
const KEY: Property = {};
const JOB_HASH: Property = { pattern: /^[0-9a-f]{32}$/, source: '^[0-9a-f]{32}$' };
const NODE: Property = { pattern: /^[^/\\]+$/, source: '^[^/\\\\]+$' };

/** Property order as each schema file lists it: fastjsonschema checks (and reports) in that order. */
export const SCHEMAS = {
  check_server: { properties: [['username', USERNAME], ['key', KEY]], required: [] },
  remote_run: { properties: [['username', USERNAME], ['key', KEY]], required: [] },
  check_progress: { properties: [['username', USERNAME], ['key', KEY], ['job_hash', JOB_HASH], ['job_id', {}]], required: ['job_hash', 'job_id'] },
  cancel_job: { properties: [['job_hash', JOB_HASH], ['username', USERNAME], ['key', KEY]], required: ['job_hash'] },
  delete_job: { properties: [['job_hash', JOB_HASH], ['username', USERNAME], ['key', KEY]], required: ['job_hash'] },
  get_results: { properties: [['job_hash', JOB_HASH], ['username', USERNAME], ['key', KEY], ['node', NODE]], required: [] },
} satisfies Record<string, RequestSchema>;

export type Endpoint = keyof typeof SCHEMAS;

export interface Params {
  username?: string;
  key?: string;
  job_hash?: string;
  job_id?: string;
  node?: string;
}

/** Python's falsiness: sc-server validates `request if request else {}`. */
export function isFalsy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

/** The first violation in fastjsonschema's words, or null. */
export function violation(body: unknown, schema: RequestSchema): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'data must be object';
  const data = body as Record<string, unknown>;
  const missing = schema.required.filter((name) => !Object.hasOwn(data, name));
  if (missing.length > 0) return `data must contain ${pythonList(schema.required)} properties`;
  for (const [name, rule] of schema.properties) {
    if (!Object.hasOwn(data, name)) continue;
    const value = data[name];
    if (typeof value !== 'string') return `data.${name} must be string`;
    // Python's `re.search` with `$` also matches before a final newline; fastjsonschema's anchored
    // patterns do not: a trailing newline fails (reference §1.1).
    if (rule.pattern && !(rule.pattern.test(value) && !value.endsWith('\n'))) return `data.${name} must match pattern ${rule.source}`;
  }
  const known = new Set(schema.properties.map(([name]) => name));
  if (Object.keys(data).some((name) => !known.has(name))) return 'data must contain only specified properties';
  for (const [present, needed] of [['username', 'key'], ['key', 'username']]) {
    if (Object.hasOwn(data, present) && !Object.hasOwn(data, needed)) return `data missing dependency ${needed} for ${present}`;
  }
  return null;
}

function pythonList(items: string[]): string {
  return `[${items.map((item) => `'${item}'`).join(', ')}]`;
}

/** The body checked against an endpoint's schema, or a 400 in sc-server's words. */
export function checkedParams(endpoint: Endpoint, body: unknown): Params {
  const data = isFalsy(body) ? {} : body;
  const problem = violation(data, SCHEMAS[endpoint]);
  if (problem) throw new ScError(400, `Error: Invalid parameters: ${problem}.`);
  return data as Params;
}

/**
 * A JSON body whatever its Content-Type: empty is `{}`, unparsable is the 400 a non-object gets
 * (reference §9 #2, where sc-server answers 500).
 */
export function parsedBody(text: unknown): unknown {
  if (typeof text !== 'string' || text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ScError(400, 'Error: Invalid parameters: data must be object.');
  }
}
