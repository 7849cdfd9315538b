/**
 * What every Tork route module receives, and the lookups they share: who may see a job, the
 * `createdBy` user of a row, and the signal that ends a `wait` when the client leaves or the
 * server closes.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { ExecutionRow, JobRow, UserRow } from '../../../core/model.js';
import type { Engine } from '../../../engine/engine.js';
import type { Scheduler } from '../../../engine/scheduler.js';
import { canSeeJob, principalOf, type Principal } from '../../auth/index.js';
import { notFound } from './errors.js';
import { userView } from './job-views.js';
import type { WireObject } from './wire.js';

export interface TorkContext {
  engine: Engine;
  scheduler: Scheduler;
  version: string;
  /** Prometheus registry, for `GET /metrics` asked for text. */
  registry?: Registry;
  /** Aborted when the app closes: a pending `wait` answers 500 `server shutting down`. */
  closing: AbortSignal;
}

export function caller(request: FastifyRequest): Principal {
  return principalOf(request);
}

/**
 * A job the caller may see (admin, owner, or shared with them), else Tork's 404: others' jobs are
 * not found, so ids do not leak.
 */
export async function visibleJob(context: TorkContext, request: FastifyRequest, id: string): Promise<JobRow> {
  const { store } = context.engine;
  const job = await store.jobGet(id);
  if (!job || !(await canSeeJob(store, caller(request), job))) throw notFound('job not found');
  return job;
}

export async function visibleExecution(context: TorkContext, request: FastifyRequest, id: string): Promise<ExecutionRow> {
  const { store } = context.engine;
  const execution = await store.executionGet(id);
  if (!execution || !(await canSeeJob(store, caller(request), { id: execution.jobId, owner: execution.owner }))) {
    throw notFound('task not found');
  }
  return execution;
}

/** Looks users up once per request: a page of 20 jobs usually has one owner. */
export class CreatedBy {
  private readonly rows = new Map<string, Promise<UserRow | undefined>>();

  constructor(private readonly context: TorkContext) {}

  async of(name: string): Promise<WireObject> {
    let row = this.rows.get(name);
    if (!row) {
      row = this.context.engine.store.userGetByName(name).catch(() => undefined);
      this.rows.set(name, row);
    }
    return userView(name, await row);
  }
}

export type Ending = 'client' | 'server';

/** A signal that aborts when the client disconnects before its answer, or the server closes. */
export function untilGone(reply: FastifyReply, closing: AbortSignal): { signal: AbortSignal; why: () => Ending | null } {
  const client = new AbortController();
  const onClose = (): void => {
    if (!reply.sent) client.abort();
  };
  reply.raw.once('close', onClose);
  return {
    signal: AbortSignal.any([client.signal, closing]),
    why: () => (closing.aborted ? 'server' : client.signal.aborted ? 'client' : null),
  };
}
