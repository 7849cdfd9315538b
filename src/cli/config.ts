/**
 * Configuration for the server-side commands, from flags, then `BARGE_*` environment variables,
 * then an optional `barge.yaml`, then defaults — in that order of precedence.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import type { LevelWithSilent } from 'pino';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat } from './logging.js';

export interface ServerConfig {
  /** (Default: 127.0.0.1) */
  host: string;
  /** (Default: 8000) */
  port: number;
  /** Data folder: SQLite file, artifacts, work folders. (Default: ./.barge) */
  data: string;
  /** `sqlite:PATH` or `postgres://…`. (Default: sqlite:<data>/barge.db) */
  db: string;
  /** No tokens: every request is the admin. Loopback only. (Default: false) */
  open: boolean;
  /**
   * No tokens on Tork's API only (for tork-web): tokenless callers are `torkGuest`, an ordinary
   * user; a token, when sent, is honoured. /v1 keeps tokens. Loopback only. (Default: false)
   */
  torkOpen: boolean;
  /** Who tokenless Tork callers are under `--tork-open`; created when missing. (Default: guest) */
  torkGuest: string;
  /**
   * What a worker does with a task that names an `image`: `run` runs it in the container runtime
   * (workers without one leave such tasks queued, with the reason); `ignore` runs its `run` script
   * in the shell runtime, as Tork's shell runtime does. `container` is an older spelling of `run`.
   * (Default: run)
   */
  imagePolicy: 'run' | 'ignore';
  /** Container runtime: `auto` uses podman (or docker with a daemon) when it works here; `off` never. (Default: auto) */
  containers: 'auto' | 'off';
  /** Worker capacity. (Default: this machine's cpus and memory) */
  cpus?: number;
  memory?: number;
  /** Queues the worker takes work from. (Default: default) */
  queues: string[];
  /** Seconds running executions get to finish on shutdown. (Default: 10) */
  drainGrace: number;
  /** Seconds a Lua task without its own `timeout` may run; 0 for no limit. (Default: 600) */
  luaTimeout: number;
  /** Shell runtime isolation: auto (bwrap when installed), bwrap, none. (Default: auto) */
  isolation: 'auto' | 'bwrap' | 'none';
  /** The longest `each` list a job may have; a longer one is refused with a 400. (Default: 1,000,000) */
  maxArrayItems: number;
  /** `barge up` runs its worker on the API's own thread instead of a worker thread of its own. (Default: false) */
  inProcessWorker: boolean;
  /** Fail shell tasks rather than run them without a sandbox. (Default: false) */
  requireSandbox: boolean;
  /** The user a root worker runs sandboxed shell tasks as: name, uid or uid:gid. (Default: nobody, 65534) */
  taskUser?: string;
  /** Processes and threads per shell execution. (Default: 4096) */
  maxProcesses: number;
  /** Files an execution may leave in outputs/; more fails it. (Default: 10000) */
  maxOutputFiles: number;
  /** MB an execution may leave in outputs/, all files together; more fails it. (Default: 1024) */
  maxOutputMb: number;
  /** An outside JWT issuer to trust (its `iss`); needs `jwtJwks`. (Default: none) */
  jwtIssuer?: string;
  /** That issuer's JWKS: a file or an http(s) URL. */
  jwtJwks?: string;
  /** The JWT audience each face accepts, as face=audience pairs. (Default: each face's name: v1, tork, …) */
  jwtAudience: Record<string, string>;
  /** Requests per credential and window, e.g. 600/1m. (Default: no limit) */
  rateLimit?: { max: number; windowMs: number };
  /**
   * Let webhooks and status reports reach loopback, private, link-local and other non-public
   * addresses. Off, such deliveries are refused (server-side request forgery). (Default: false)
   */
  allowPrivateWebhooks: boolean;
  /** SiliconCompiler's API ignores credentials: every caller is the guest user. Loopback only. (Default: false) */
  scOpen: boolean;
  /** Where ET Engine filesystems made through the Batches face get their folders; shared by all servers of a fleet. (Default: <data>/filesystems) */
  filesystems: string;
  /** The SiliconCompiler face's work folder (sc-server's -nfsmount); shared by all servers of a fleet. (Default: <data>/siliconcompiler) */
  scWorkdir: string;
  /** The command a SiliconCompiler node runs, a template over {manifest} {builddir} {jobdir} {cwd} {step} {index} {hash}. (Default: SiliconCompiler's run_node) */
  scNodeCommand?: string;
  /** MB one SiliconCompiler upload may have; 0 for no limit. (Default: 1024) */
  scMaxUploadMb: number;
  /** Runtime nodes one SiliconCompiler job may have. (Default: 1000) */
  scMaxNodes: number;
  /** MB each SiliconCompiler node may use. (Default: 2048) */
  scNodeMemory: number;
  /** Seconds between the client's progress checks (`progress_interval`). (Default: 5) */
  scCheckInterval: number;
  /** Terms of service the SiliconCompiler client shows. (Default: none) */
  scTerms?: string;
  /**
   * No tokens on srtslurm's status API only (`/api/jobs`, for srtctl reporters on a login node):
   * tokenless callers are the ordinary user `srtslurm`; a token, when sent, is honoured. Loopback
   * only. (Default: false)
   */
  srtOpen: boolean;
  /** Status collectors every job reports its stages to (srtslurm's status API), besides its spec's own. (Default: none) */
  statusEndpoint: string[];
  /** The server log's level: fatal, error, warn, info, debug, trace or silent (src/cli/logging.ts). (Default: info) */
  logLevel: LevelWithSilent;
  /** The server log's format: pretty (one readable line) or json (pino's lines). (Default: pretty) */
  logFormat: LogFormat;
}

/** Every setting: its flag, environment variable and barge.yaml key, for --help and loading. */
export const SETTINGS: Array<{ key: keyof ServerConfig; flag: string; env: string; help: string }> = [
  { key: 'host', flag: '--host <host>', env: 'BARGE_HOST', help: 'address to listen on (default 127.0.0.1)' },
  { key: 'logLevel', flag: '--log-level <level>', env: 'BARGE_LOG_LEVEL', help: 'server log on stderr: fatal, error, warn, info (job state changes, worker events), debug (executions, requests), trace or silent (default info)' },
  { key: 'logFormat', flag: '--log-format <format>', env: 'BARGE_LOG_FORMAT', help: 'server log format: pretty or json (default pretty)' },
  { key: 'port', flag: '--port <port>', env: 'BARGE_PORT', help: 'port to listen on (default 8000)' },
  { key: 'data', flag: '--data <dir>', env: 'BARGE_DATA', help: 'data folder (default ./.barge)' },
  { key: 'db', flag: '--db <url>', env: 'BARGE_DB', help: 'sqlite:PATH or postgres://… (default sqlite:<data>/barge.db)' },
  { key: 'open', flag: '--open', env: 'BARGE_OPEN', help: 'no tokens needed (loopback addresses only)' },
  { key: 'torkOpen', flag: '--tork-open', env: 'BARGE_TORK_OPEN', help: "no tokens needed on Tork's API, e.g. for tork-web: tokenless callers are the guest user (loopback addresses only)" },
  { key: 'torkGuest', flag: '--tork-guest <user>', env: 'BARGE_TORK_GUEST', help: 'the ordinary user tokenless Tork callers are under --tork-open (default guest)' },
  { key: 'imagePolicy', flag: '--image-policy <policy>', env: 'BARGE_IMAGE_POLICY', help: 'tasks with an image: run (in the container runtime) or ignore (run their script in the shell) (default run)' },
  { key: 'containers', flag: '--containers <mode>', env: 'BARGE_CONTAINERS', help: 'container runtime: auto (podman, or docker with a daemon, when it works here) or off (default auto)' },
  { key: 'cpus', flag: '--cpus <n>', env: 'BARGE_CPUS', help: "worker cpus (default: this machine's)" },
  { key: 'memory', flag: '--memory <mb>', env: 'BARGE_MEMORY', help: "worker memory in MB (default: this machine's)" },
  { key: 'queues', flag: '--queues <list>', env: 'BARGE_QUEUES', help: 'comma-separated queues the worker serves (default default)' },
  { key: 'drainGrace', flag: '--drain-grace <seconds>', env: 'BARGE_DRAIN_GRACE', help: 'seconds running work gets on shutdown (default 10)' },
  { key: 'luaTimeout', flag: '--lua-timeout <seconds>', env: 'BARGE_LUA_TIMEOUT', help: 'time limit of a Lua task without its own timeout, 0 for none (default 600)' },
  { key: 'isolation', flag: '--isolation <mode>', env: 'BARGE_ISOLATION', help: 'shell sandbox: auto (bwrap when it works here, else none, with a warning), bwrap or none (default auto)' },
  { key: 'requireSandbox', flag: '--require-sandbox', env: 'BARGE_REQUIRE_SANDBOX', help: 'fail shell tasks rather than run them without a sandbox (default off)' },
  { key: 'taskUser', flag: '--task-user <user>', env: 'BARGE_TASK_USER', help: 'user a root worker runs sandboxed shell tasks as: name, uid or uid:gid (default nobody, 65534)' },
  { key: 'maxProcesses', flag: '--max-processes <n>', env: 'BARGE_MAX_PROCESSES', help: 'processes and threads per shell execution (default 4096)' },
  { key: 'maxOutputFiles', flag: '--max-output-files <n>', env: 'BARGE_MAX_OUTPUT_FILES', help: 'files an execution may leave in outputs/, or it fails (default 10000)' },
  { key: 'maxOutputMb', flag: '--max-output-mb <mb>', env: 'BARGE_MAX_OUTPUT_MB', help: 'MB an execution may leave in outputs/, or it fails (default 1024)' },
  { key: 'maxArrayItems', flag: '--max-array-items <n>', env: 'BARGE_MAX_ARRAY_ITEMS', help: 'the longest each list a job may have (default 1000000)' },
  { key: 'inProcessWorker', flag: '--in-process-worker', env: 'BARGE_IN_PROCESS_WORKER', help: "barge up: run the worker on the API's thread, not its own (default off)" },
  { key: 'jwtIssuer', flag: '--jwt-issuer <iss>', env: 'BARGE_JWT_ISSUER', help: 'trust JWTs from this outside issuer (with --jwt-jwks)' },
  { key: 'jwtJwks', flag: '--jwt-jwks <file|url>', env: 'BARGE_JWT_JWKS', help: "the outside issuer's JWKS, a file or an http(s) URL" },
  { key: 'jwtAudience', flag: '--jwt-audience <face=aud,…>', env: 'BARGE_JWT_AUDIENCE', help: "JWT audience per face, e.g. v1=barge,tork=tork (default: the face's name)" },
  { key: 'rateLimit', flag: '--rate-limit <n/window>', env: 'BARGE_RATE_LIMIT', help: 'requests per credential, e.g. 600/1m (default: no limit)' },
  { key: 'srtOpen', flag: '--srt-open', env: 'BARGE_SRT_OPEN', help: "no tokens needed on srtslurm's status API (/api/jobs): tokenless callers are the user srtslurm (loopback addresses only)" },
  { key: 'statusEndpoint', flag: '--status-endpoint <url...>', env: 'BARGE_STATUS_ENDPOINTS', help: 'srtslurm status collectors every job reports its stages to; repeat or separate with commas (default none)' },
  { key: 'allowPrivateWebhooks', flag: '--allow-private-webhooks', env: 'BARGE_ALLOW_PRIVATE_WEBHOOKS', help: 'let webhooks and status reports reach loopback and private addresses (default off)' },
  { key: 'scOpen', flag: '--sc-open', env: 'BARGE_SC_OPEN', help: "no credentials needed on SiliconCompiler's API: callers are the guest user (loopback addresses only)" },
  { key: 'filesystems', flag: '--filesystems <dir>', env: 'BARGE_FILESYSTEMS', help: 'folder of the ET Engine filesystems made through the Batches API, shared by all servers (default <data>/filesystems)' },
  { key: 'scWorkdir', flag: '--sc-workdir <dir>', env: 'BARGE_SC_WORKDIR', help: 'SiliconCompiler jobs folder, shared by all servers (default <data>/siliconcompiler)' },
  { key: 'scNodeCommand', flag: '--sc-node-command <template>', env: 'BARGE_SC_NODE_COMMAND', help: "a SiliconCompiler node's command: {manifest} {builddir} {jobdir} {cwd} {step} {index} {hash} (default SiliconCompiler's run_node)" },
  { key: 'scMaxUploadMb', flag: '--sc-max-upload-mb <mb>', env: 'BARGE_SC_MAX_UPLOAD_MB', help: 'largest SiliconCompiler upload in MB, 0 for none (default 1024)' },
  { key: 'scMaxNodes', flag: '--sc-max-nodes <n>', env: 'BARGE_SC_MAX_NODES', help: 'most nodes in one SiliconCompiler job (default 1000)' },
  { key: 'scNodeMemory', flag: '--sc-node-memory <mb>', env: 'BARGE_SC_NODE_MEMORY', help: 'memory of each SiliconCompiler node in MB (default 2048)' },
  { key: 'scCheckInterval', flag: '--sc-check-interval <seconds>', env: 'BARGE_SC_CHECK_INTERVAL', help: "seconds between the SiliconCompiler client's progress checks (default 5)" },
  { key: 'scTerms', flag: '--sc-terms <text>', env: 'BARGE_SC_TERMS', help: 'terms of service the SiliconCompiler client shows (default none)' },
];

type Raw = Partial<Record<keyof ServerConfig, unknown>>;

export function loadConfig(flags: Raw, env: NodeJS.ProcessEnv = process.env, file?: string): ServerConfig {
  const fromFile = readConfigFile(file);
  const pick = (key: keyof ServerConfig): unknown => {
    if (flags[key] !== undefined) return flags[key];
    const setting = SETTINGS.find((s) => s.key === key);
    if (setting && env[setting.env] !== undefined && env[setting.env] !== '') return env[setting.env];
    return fromFile[key];
  };
  const data = resolve(String(pick('data') ?? '.barge'));
  const config: ServerConfig = {
    host: String(pick('host') ?? '127.0.0.1'),
    port: toInt(pick('port') ?? 8000, 'port'),
    data,
    db: String(pick('db') ?? `sqlite:${resolve(data, 'barge.db')}`),
    open: toBool(pick('open') ?? false),
    torkOpen: toBool(pick('torkOpen') ?? false),
    torkGuest: String(pick('torkGuest') ?? 'guest'),
    imagePolicy: toImagePolicy(pick('imagePolicy') ?? 'run'),
    containers: toContainers(pick('containers') ?? 'auto'),
    cpus: optionalNumber(pick('cpus'), 'cpus'),
    memory: optionalNumber(pick('memory'), 'memory'),
    queues: toList(pick('queues') ?? 'default'),
    drainGrace: toNumber(pick('drainGrace') ?? 10, 'drain-grace'),
    luaTimeout: toNumber(pick('luaTimeout') ?? 600, 'lua-timeout'),
    isolation: toIsolation(pick('isolation') ?? 'auto'),
    maxArrayItems: toInt(pick('maxArrayItems') ?? 1_000_000, 'max-array-items'),
    inProcessWorker: toBool(pick('inProcessWorker') ?? false),
    requireSandbox: toBool(pick('requireSandbox') ?? false),
    taskUser: optionalString(pick('taskUser')),
    maxProcesses: positiveInt(pick('maxProcesses') ?? 4096, 'max-processes'),
    maxOutputFiles: positiveInt(pick('maxOutputFiles') ?? 10_000, 'max-output-files'),
    maxOutputMb: positive(pick('maxOutputMb') ?? 1024, 'max-output-mb'),
    jwtIssuer: optionalString(pick('jwtIssuer')),
    jwtJwks: optionalString(pick('jwtJwks')),
    jwtAudience: toPairs(pick('jwtAudience') ?? '', 'jwt-audience'),
    rateLimit: toRateLimit(pick('rateLimit')),
    allowPrivateWebhooks: toBool(pick('allowPrivateWebhooks') ?? false),
    scOpen: toBool(pick('scOpen') ?? false),
    filesystems: resolve(String(pick('filesystems') ?? resolve(data, 'filesystems'))),
    scWorkdir: resolve(String(pick('scWorkdir') ?? resolve(data, 'siliconcompiler'))),
    scNodeCommand: optionalString(pick('scNodeCommand')),
    scMaxUploadMb: toNumber(pick('scMaxUploadMb') ?? 1024, 'sc-max-upload-mb'),
    scMaxNodes: positiveInt(pick('scMaxNodes') ?? 1000, 'sc-max-nodes'),
    scNodeMemory: positive(pick('scNodeMemory') ?? 2048, 'sc-node-memory'),
    scCheckInterval: positiveInt(pick('scCheckInterval') ?? 5, 'sc-check-interval'),
    scTerms: optionalString(pick('scTerms')),
    srtOpen: toBool(pick('srtOpen') ?? false),
    statusEndpoint: toList(pick('statusEndpoint') ?? ''),
    logLevel: oneOf(pick('logLevel') ?? 'info', LOG_LEVELS, 'log-level'),
    logFormat: oneOf(pick('logFormat') ?? 'pretty', LOG_FORMATS, 'log-format'),
  };
  if ((config.jwtIssuer === undefined) !== (config.jwtJwks === undefined)) {
    throw new Error('--jwt-issuer and --jwt-jwks go together: name the issuer and where its keys are');
  }
  if (config.port < 0 || config.port > 65535) throw new Error(`port must be 0..65535, got ${config.port}`);
  if (config.requireSandbox && config.isolation === 'none') {
    throw new Error('--require-sandbox and --isolation none contradict each other: no shell task could run');
  }
  return config;
}

/**
 * What jobs report to (engine/reports.ts): the server's collectors, and where its API answers for
 * the reports' `logs_url` (not known for port 0 or a wildcard host).
 */
export function reportSettingsOf(config: ServerConfig): { endpoints: string[]; publicUrl?: string } {
  const wildcard = config.host === '0.0.0.0' || config.host === '::';
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return { endpoints: config.statusEndpoint, ...(config.port !== 0 && !wildcard ? { publicUrl: `http://${host}:${config.port}` } : {}) };
}

function readConfigFile(file?: string): Raw {
  const path = file ?? (existsSync('barge.yaml') ? 'barge.yaml' : undefined);
  if (!path) return {};
  const parsed: unknown = parse(readFileSync(path, 'utf8'));
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${path}: expected a mapping of settings`);
  const known = new Set(SETTINGS.map((s) => s.key as string));
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) throw new Error(`${path}: unknown setting "${key}" (known: ${[...known].join(', ')})`);
  }
  return parsed as Raw;
}

function toNumber(value: unknown, name: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0) throw new Error(`${name} must be a non-negative number, got "${String(value)}"`);
  return number;
}

function toInt(value: unknown, name: string): number {
  const number = toNumber(value, name);
  if (!Number.isInteger(number)) throw new Error(`${name} must be an integer, got "${String(value)}"`);
  return number;
}

function positive(value: unknown, name: string): number {
  const number = toNumber(value, name);
  if (number <= 0) throw new Error(`${name} must be greater than 0`);
  return number;
}

function positiveInt(value: unknown, name: string): number {
  const number = toInt(value, name);
  if (number <= 0) throw new Error(`${name} must be greater than 0`);
  return number;
}

function optionalNumber(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const number = toNumber(value, name);
  if (number <= 0) throw new Error(`${name} must be greater than 0`);
  return number;
}

function toBool(value: unknown): boolean {
  return value === true || value === 'true' || value === '1' || value === 'yes';
}

function toList(value: unknown): string[] {
  const items = Array.isArray(value) ? value.map(String) : String(value).split(',');
  return items.map((item) => item.trim()).filter(Boolean);
}

function optionalString(value: unknown): string | undefined {
  return value === undefined || value === null || String(value).trim() === '' ? undefined : String(value).trim();
}

/** `a=b,c=d` (or a mapping in barge.yaml) as an object. */
function toPairs(value: unknown, name: string): Record<string, string> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
  }
  const pairs: Record<string, string> = {};
  for (const item of toList(value)) {
    const [key, ...rest] = item.split('=');
    if (!key || rest.length === 0 || rest.join('=') === '') throw new Error(`${name} expects face=value pairs, got "${item}"`);
    pairs[key.trim()] = rest.join('=').trim();
  }
  return pairs;
}

const WINDOW_UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/** `600/1m`: at most 600 requests a minute. */
function toRateLimit(value: unknown): ServerConfig['rateLimit'] {
  if (value === undefined || value === null || value === '') return undefined;
  const match = /^(\d+)\/(\d*)([smh])$/.exec(String(value).trim());
  if (!match || Number(match[1]) < 1) throw new Error(`rate-limit must look like 600/1m (requests/window in s, m or h), got "${String(value)}"`);
  return { max: Number(match[1]), windowMs: Number(match[2] || '1') * WINDOW_UNITS_MS[match[3]] };
}

function toIsolation(value: unknown): ServerConfig['isolation'] {
  if (value === 'auto' || value === 'bwrap' || value === 'none') return value;
  throw new Error(`isolation must be auto, bwrap or none, got "${String(value)}"`);
}

function toImagePolicy(value: unknown): ServerConfig['imagePolicy'] {
  if (value === 'run' || value === 'container') return 'run';
  if (value === 'ignore') return value;
  throw new Error(`image-policy must be run or ignore, got "${String(value)}"`);
}

function toContainers(value: unknown): ServerConfig['containers'] {
  if (value === 'auto' || value === 'off') return value;
  throw new Error(`containers must be auto or off, got "${String(value)}"`);
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], name: string): T {
  const text = String(value).trim().toLowerCase();
  if ((allowed as readonly string[]).includes(text)) return text as T;
  throw new Error(`--${name} must be one of ${allowed.join(', ')}, not ${JSON.stringify(String(value))}`);
}
