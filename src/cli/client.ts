/**
 * A small typed client for barge's `/v1` API (docs/api-v1.md) over the global `fetch`, and where
 * it finds its server and token.
 *
 * The token is sent in the Authorization header and nowhere else: no error, message or debug line
 * of this module ever contains it.
 */
import { credentialsPath, readCredentials, savedServers, savedToken } from './credentials.js';
import { readSse } from './sse.js';
import type { ErrorBody, ErrorDetail, Execution, Job, JobEvent, LogLine, LogPage, Node, Page, Queue } from './wire.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8000';

/** Requests that should answer at once get this long before the CLI gives up on them. */
const REQUEST_TIMEOUT_MS = 60_000;

export interface Connection {
  server: string;
  token?: string;
  /** Where the token came from, so a refused token can be traced without showing it. */
  tokenSource?: 'flag' | 'BARGE_TOKEN' | 'credentials file';
  /** Without a token: the servers the credentials file has one for (to say so). */
  savedServers?: string[];
}

export interface ConnectionOverrides {
  server?: string;
  token?: string;
}

/**
 * Server and token: `--server`/`--token`, then `BARGE_SERVER`/`BARGE_TOKEN`, then the credentials
 * file that `barge up` writes, then `http://127.0.0.1:8000` with no token.
 *
 * The file keeps a token per server URL; only a server's own token is sent to it: pointing the
 * CLI at another server with `--server` or `BARGE_SERVER` must not hand that server a token it
 * never issued.
 */
export function resolveConnection(overrides: ConnectionOverrides = {}, env: NodeJS.ProcessEnv = process.env): Connection {
  const chosenServer = nonEmpty(overrides.server) ?? nonEmpty(env.BARGE_SERVER);
  const server = normalizeServer(chosenServer ?? readCredentials(env)?.server ?? DEFAULT_SERVER);
  const flagToken = nonEmpty(overrides.token);
  if (flagToken) return { server, token: flagToken, tokenSource: 'flag' };
  const envToken = nonEmpty(env.BARGE_TOKEN);
  if (envToken) return { server, token: envToken, tokenSource: 'BARGE_TOKEN' };
  const saved = savedToken(server, env);
  if (saved) return { server, token: saved, tokenSource: 'credentials file' };
  return { server, savedServers: savedServers(env) };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** `127.0.0.1:8000` and `http://127.0.0.1:8000/` both mean `http://127.0.0.1:8000`. */
export function normalizeServer(server: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `http://${server}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CliError(`"${server}" is not a server URL (expected something like ${DEFAULT_SERVER})`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** A problem the CLI reports in one line (plus details) and exits 1 for. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The API answered with an error status. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    details: ErrorDetail[] = [],
  ) {
    super(message, details);
    this.name = 'ApiError';
  }
}

/** Nothing answered at the server's address. */
export class UnreachableError extends CliError {
  constructor(server: string, reason: string) {
    super(`cannot reach barge at ${server} — is \`barge up\` running? (${reason})`);
    this.name = 'UnreachableError';
  }
}

type Query = Record<string, string | number | boolean | undefined>;

interface RequestOptions {
  query?: Query;
  body?: string;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
  /** null: no time limit (streams that last as long as a job). */
  timeoutMs?: number | null;
}

export type LogEvent = { type: 'line'; line: LogLine } | { type: 'end'; execution: Execution };

export interface JobQuery {
  state?: string;
  owner?: string;
  tag?: string;
  queue?: string;
  q?: string;
  limit?: number;
  cursor?: string;
}

export class BargeClient {
  constructor(
    readonly connection: Connection,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  get server(): string {
    return this.connection.server;
  }

  submitJob(body: string, contentType: 'application/json' | 'application/yaml'): Promise<Job> {
    return this.json('POST', '/v1/jobs', { body, contentType });
  }

  listJobs(query: JobQuery = {}): Promise<Page<Job>> {
    return this.json('GET', '/v1/jobs', { query: { ...query } });
  }

  getJob(id: string, signal?: AbortSignal): Promise<Job> {
    return this.json('GET', `/v1/jobs/${segment(id)}`, { signal });
  }

  cancelJob(id: string): Promise<Job> {
    return this.json('POST', `/v1/jobs/${segment(id)}/cancel`);
  }

  restartJob(id: string): Promise<Job> {
    return this.json('POST', `/v1/jobs/${segment(id)}/restart`);
  }

  async deleteJob(id: string): Promise<void> {
    await this.request('DELETE', `/v1/jobs/${segment(id)}`);
  }

  jobEvents(id: string, query: { after?: number; limit?: number } = {}): Promise<{ items: JobEvent[] }> {
    return this.json('GET', `/v1/jobs/${segment(id)}/events`, { query });
  }

  jobExecutions(id: string, query: { state?: string; limit?: number; cursor?: string } = {}, signal?: AbortSignal): Promise<Page<Execution>> {
    return this.json('GET', `/v1/jobs/${segment(id)}/executions`, { query, signal });
  }

  /** Every execution of a job, following the cursor through all pages. */
  async allJobExecutions(id: string, signal?: AbortSignal): Promise<Execution[]> {
    const all: Execution[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.jobExecutions(id, { limit: 1000, cursor }, signal);
      all.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return all;
  }

  getExecution(id: string): Promise<Execution> {
    return this.json('GET', `/v1/executions/${segment(id)}`);
  }

  cancelExecution(id: string): Promise<Execution> {
    return this.json('POST', `/v1/executions/${segment(id)}/cancel`);
  }

  executionLogs(id: string, query: { after?: number; limit?: number } = {}): Promise<LogPage> {
    return this.json('GET', `/v1/executions/${segment(id)}/logs`, { query });
  }

  /**
   * Follows an execution's log over SSE from after line `after`: every line, then `end` with the
   * execution once it is final. Ends without `end` if the connection drops; the caller reconnects.
   */
  async *followLogs(id: string, after: number, signal?: AbortSignal): AsyncGenerator<LogEvent> {
    const response = await this.request('GET', `/v1/executions/${segment(id)}/logs`, {
      query: { follow: 1, after: after > 0 ? after : undefined },
      accept: 'text/event-stream',
      signal,
      timeoutMs: null,
    });
    if (!(response.headers.get('content-type') ?? '').includes('text/event-stream') || !response.body) {
      throw new CliError(`${this.server} did not stream the log of execution ${id} (no text/event-stream answer)`);
    }
    for await (const message of readSse(response.body)) {
      if (message.event === 'line') yield { type: 'line', line: JSON.parse(message.data) as LogLine };
      else if (message.event === 'end') {
        yield { type: 'end', execution: JSON.parse(message.data) as Execution };
        return;
      }
    }
  }

  /** The job's results as a tar.gz byte stream. */
  async downloadResults(id: string): Promise<ReadableStream<Uint8Array>> {
    const response = await this.request('GET', `/v1/jobs/${segment(id)}/results.tar.gz`, {
      accept: 'application/gzip',
      timeoutMs: null,
    });
    if (!response.body) throw new CliError(`the server sent no results for job ${id}`);
    return response.body;
  }

  nodes(): Promise<{ items: Node[]; waiting?: Array<{ reason: string; count: number }> }> {
    return this.json('GET', '/v1/nodes');
  }

  queues(): Promise<{ items: Queue[] }> {
    return this.json('GET', '/v1/queues');
  }

  /**
   * A JSON request to any /v1 route (the account commands use it); a 204 answers undefined.
   * `path` segments taken from user input must be encoded by the caller (`encodeURIComponent`).
   */
  async send<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const payload = body === undefined ? {} : { body: JSON.stringify(body), contentType: 'application/json' };
    const response = await this.request(method, path, { accept: 'application/json', query, ...payload });
    if (response.status === 204) return undefined as T;
    // Some faces answer a 200 with an empty body (ET Engine's deletes).
    const text = await response.text();
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  private async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.request(method, path, { accept: 'application/json', ...options });
    return (await response.json()) as T;
  }

  private async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    if (options.accept) headers.accept = options.accept;
    if (options.contentType) headers['content-type'] = options.contentType;
    if (this.connection.token) headers.authorization = `Bearer ${this.connection.token}`;
    const timeoutMs = options.timeoutMs === undefined ? REQUEST_TIMEOUT_MS : options.timeoutMs;
    const signals = [options.signal, timeoutMs === null ? undefined : AbortSignal.timeout(timeoutMs)].filter(
      (signal): signal is AbortSignal => signal !== undefined,
    );
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.server}${path}${queryString(options.query)}`, {
        method,
        headers,
        body: options.body,
        signal: signals.length > 0 ? AbortSignal.any(signals) : undefined,
      });
    } catch (error) {
      throw this.transportError(error, options.signal, timeoutMs);
    }
    if (!response.ok) throw await this.apiError(response);
    return response;
  }

  private transportError(error: unknown, callerSignal: AbortSignal | undefined, timeoutMs: number | null): unknown {
    // The caller's own abort (Ctrl-C) is not a failure to report: let it through unchanged.
    if (callerSignal?.aborted) return error;
    if (error instanceof Error && error.name === 'TimeoutError') {
      return new CliError(`barge at ${this.server} did not answer within ${Math.round((timeoutMs ?? 0) / 1000)} s`);
    }
    return new UnreachableError(this.server, describeCause(error));
  }

  private async apiError(response: Response): Promise<ApiError> {
    const text = await response.text().catch(() => '');
    let body: Partial<ErrorBody> = {};
    try {
      body = JSON.parse(text) as Partial<ErrorBody>;
    } catch {
      // Not barge's error shape: a face's plain-text error (with barge's detail header), or a proxy's page.
      const plain = text.length > 0 && text.length <= 200 && !text.includes('<') ? text : '';
      const detail = response.headers.get('x-barge-detail');
      if (plain) body = { message: detail ? `${plain}: ${detail}` : plain };
    }
    const code = typeof body.error === 'string' ? body.error : `HTTP_${response.status}`;
    let message = typeof body.message === 'string' && body.message ? body.message : `HTTP ${response.status} ${response.statusText}`.trim();
    if (response.status === 401) message += this.unauthorizedHint();
    const details = Array.isArray(body.details) ? body.details.filter(isDetail) : [];
    return new ApiError(response.status, code, message, details);
  }

  private unauthorizedHint(): string {
    const source = this.connection.tokenSource;
    if (!source) {
      const others = this.connection.savedServers ?? [];
      const saved = others.length > 0 ? `; ${credentialsPath()} has tokens for ${others.join(', ')} only` : '';
      return ` (no token for ${this.server}${saved}: set BARGE_TOKEN, pass --token, run \`barge login --server ${this.server}\`, or start \`barge up\`, which saves one)`;
    }
    return ` (the token from ${source === 'flag' ? '--token' : source} was refused by ${this.server})`;
  }
}

function isDetail(value: unknown): value is ErrorDetail {
  return typeof value === 'object' && value !== null && typeof (value as ErrorDetail).message === 'string';
}

function segment(id: string): string {
  return encodeURIComponent(id);
}

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** undici hides the reason in `cause` (an AggregateError when several addresses were tried). */
function describeCause(error: unknown): string {
  const codes = new Set<string>();
  let innermost = error instanceof Error ? error.message : String(error);
  const visit = (value: unknown, depth: number): void => {
    if (!value || typeof value !== 'object' || depth > 4) return;
    const code = (value as { code?: unknown }).code;
    if (typeof code === 'string') codes.add(code);
    if (value instanceof Error && value.message) innermost = value.message;
    if (value instanceof AggregateError) for (const inner of value.errors) visit(inner, depth + 1);
    visit((value as { cause?: unknown }).cause, depth + 1);
  };
  visit(error, 0);
  return codes.size > 0 ? [...codes].join(', ') : innermost;
}
