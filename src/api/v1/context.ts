/**
 * What every /v1 route module receives, and the helpers they share: ownership checks (owners see
 * only their own jobs, others' are answered 404 so ids do not leak which jobs exist) and the
 * signal that ends long requests when the client leaves or the server closes.
 */
import type { FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import type { ExecutionRow, JobRow } from '../../core/model.js';
import { NotFoundError } from '../../core/errors.js';
import type { Engine } from '../../engine/engine.js';
import { canSee, type Principal } from '../auth/index.js';

export interface V1Options extends Record<string, unknown> {
  engine: Engine;
  version: string;
  open: boolean;
  registry: Registry;
  /** Aborted when the app closes: long polls answer and event streams end. */
  closing: AbortSignal;
}

export async function ownedJob(engine: Engine, principal: Principal, id: string): Promise<JobRow> {
  const job = await engine.store.jobGet(id);
  if (!job || !canSee(principal, job.owner)) throw new NotFoundError('job', id);
  return job;
}

export async function ownedExecution(engine: Engine, principal: Principal, id: string): Promise<ExecutionRow> {
  const execution = await engine.store.executionGet(id);
  if (!execution || !canSee(principal, execution.owner)) throw new NotFoundError('execution', id);
  return execution;
}

/** Aborts when the client disconnects before its answer or when the app closes. */
export function untilGone(reply: FastifyReply, closing: AbortSignal): AbortSignal {
  const controller = new AbortController();
  // 'close' on the response also fires once it is sent; aborting then is harmless.
  reply.raw.once('close', () => controller.abort());
  return AbortSignal.any([controller.signal, closing]);
}
