/**
 * What every /v1 route module receives, and the helpers they share: ownership checks (owners see
 * only their own jobs and those shared with them, others' are answered 404 so ids do not leak
 * which jobs exist) and the
 * signal that ends long requests when the client leaves or the server closes.
 */
import type { FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import type { ExecutionRow, JobRow } from '../../core/model.js';
import { NotFoundError } from '../../core/errors.js';
import type { Engine } from '../../engine/engine.js';
import { canSeeJob, type Principal } from '../auth/index.js';
import type { JwtVerifier } from '../auth/jwt.js';

export interface V1Options extends Record<string, unknown> {
  engine: Engine;
  version: string;
  open: boolean;
  registry: Registry;
  /** Aborted when the app closes: long polls answer and event streams end. */
  closing: AbortSignal;
  /** Verifies bearer JWTs and issues barge's own (absent: no JWTs). */
  jwt?: JwtVerifier;
}

/** A job the caller may see (admin, owner, or shared with them); anything else is "not found". */
export async function ownedJob(engine: Engine, principal: Principal, id: string): Promise<JobRow> {
  const job = await engine.store.jobGet(id);
  if (!job || !(await canSeeJob(engine.store, principal, job))) throw new NotFoundError('job', id);
  return job;
}

/** An execution of a job the caller may see; anything else is "not found". */
export async function ownedExecution(engine: Engine, principal: Principal, id: string): Promise<ExecutionRow> {
  const execution = await engine.store.executionGet(id);
  if (!execution || !(await canSeeJob(engine.store, principal, { id: execution.jobId, owner: execution.owner }))) {
    throw new NotFoundError('execution', id);
  }
  return execution;
}

/** Aborts when the client disconnects before its answer or when the app closes. */
export function untilGone(reply: FastifyReply, closing: AbortSignal): AbortSignal {
  const controller = new AbortController();
  // 'close' on the response also fires once it is sent; aborting then is harmless.
  reply.raw.once('close', () => controller.abort());
  return AbortSignal.any([controller.signal, closing]);
}
