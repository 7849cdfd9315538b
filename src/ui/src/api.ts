/**
 * The UI's only way to the server: /v1, with the session's token in the Authorization header.
 * A 401 means the token is no longer good: the session forgets it and the login page shows.
 */
import type {
  EventBody,
  ExecutionBody,
  JobBody,
  LogLineBody,
  NodeBody,
} from '../../api/v1/schemas.js';
import { forgetToken, savedToken } from './session.js';

export type { EventBody, ExecutionBody, JobBody, LogLineBody, NodeBody };

export interface Problem {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Problem[] = [],
  ) {
    super(message);
  }
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Me {
  name: string;
  role: string;
}

export interface QueueBody {
  name: string;
  runnable: number;
  running: number;
}

export interface JobCounts {
  total: number;
  counts: Record<string, number>;
}

export interface ItemStates {
  count: number;
  /** One letter per item, in item order (see STATE_LETTERS). */
  states: string;
}

export interface Throughput {
  minutes: number;
  /** Executions that ended per minute, oldest minute first, by queue and in total. */
  total: number[];
  queues: Record<string, number[]>;
}

export interface OutputBody {
  path: string;
  size: number;
  createdAt: string;
}

const listeners = new Set<() => void>();

/** Called when the server refuses the session's token. */
export function onSignedOut(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function authHeaders(token = savedToken()): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

export interface CallOptions {
  method?: string;
  body?: string;
  contentType?: string;
  token?: string;
  signal?: AbortSignal;
}

export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...authHeaders(options.token), accept: 'application/json' };
  if (options.contentType) headers['content-type'] = options.contentType;
  const response = await fetch(`/v1${path}`, {
    method: options.method ?? 'GET',
    headers,
    body: options.body,
    signal: options.signal,
    // Nothing about a barge page belongs in another site's logs.
    referrerPolicy: 'no-referrer',
  });
  if (response.ok) return response;
  throw await errorOf(response, options.token === undefined);
}

export async function getJson<T>(path: string, options: CallOptions = {}): Promise<T> {
  const response = await call(path, options);
  return (await response.json()) as T;
}

export async function send<T>(method: string, path: string, options: CallOptions = {}): Promise<T | null> {
  const response = await call(path, { ...options, method });
  return response.status === 204 ? null : ((await response.json()) as T);
}

async function errorOf(response: Response, sessionCall: boolean): Promise<ApiError> {
  let body: { error?: string; message?: string; details?: Problem[] } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  if (response.status === 401 && sessionCall) {
    forgetToken();
    for (const listener of listeners) listener();
  }
  return new ApiError(response.status, body.error ?? `HTTP_${response.status}`, body.message ?? response.statusText, body.details ?? []);
}

/** A query string from the set values only. */
export function query(params: Record<string, string | number | undefined | null | false>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== false && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
