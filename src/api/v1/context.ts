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
import { isId } from '../../engine/ids.js';
import { canSeeJob, type Principal } from '../auth/index.js';
import { invalid } from '../errors.js';
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

/**
 * A job the caller may see (admin, owner, or shared with them), by id or unique id prefix;
 * anything else is "not found".
 */
export async function ownedJob(engine: Engine, principal: Principal, id: string): Promise<JobRow> {
  const visible = async (candidate: string) => {
    const job = await engine.store.jobGet(candidate);
    return job && (await canSeeJob(engine.store, principal, job)) ? job : undefined;
  };
  return resolveOwned({ engine, table: 'jobs', entity: 'job', id, visible });
}

/** An execution of a job the caller may see, by id or unique id prefix; anything else is "not found". */
export async function ownedExecution(engine: Engine, principal: Principal, id: string): Promise<ExecutionRow> {
  const visible = async (candidate: string) => {
    const execution = await engine.store.executionGet(candidate);
    const seen = execution && (await canSeeJob(engine.store, principal, { id: execution.jobId, owner: execution.owner }));
    return seen ? execution : undefined;
  };
  return resolveOwned({ engine, table: 'executions', entity: 'execution', id, visible });
}

/** How many ids an ambiguous prefix lists (the answer says when there are more). */
const PREFIX_CANDIDATES = 10;

/**
 * A whole id is read directly; a shorter one is a prefix looked up as an id range, resolved among
 * the rows the caller may see (others' ids are neither matched nor listed), and refused with the
 * candidates when more than one fits.
 */
async function resolveOwned<T>(params: {
  engine: Engine;
  table: 'jobs' | 'executions';
  entity: string;
  id: string;
  visible: (id: string) => Promise<T | undefined>;
}): Promise<T> {
  const { engine, table, entity, id, visible } = params;
  if (isId(id)) {
    const row = await visible(id);
    if (!row) throw new NotFoundError(entity, id);
    return row;
  }
  const candidates = await engine.store.idsByPrefix({ table, prefix: id, limit: PREFIX_CANDIDATES + 1 });
  const matches: Array<{ id: string; row: T }> = [];
  for (const candidate of candidates) {
    const row = await visible(candidate);
    if (row) matches.push({ id: candidate, row });
  }
  if (matches.length === 0) throw new NotFoundError(entity, id);
  if (matches.length === 1) return matches[0]!.row;
  const listed = matches.slice(0, PREFIX_CANDIDATES).map((match) => match.id);
  const more = candidates.length > PREFIX_CANDIDATES ? ', …' : '';
  throw invalid('id', `${entity} id prefix ${id} is ambiguous: it matches ${listed.join(', ')}${more}; give more characters`);
}

/** Aborts when the client disconnects before its answer or when the app closes. */
export function untilGone(reply: FastifyReply, closing: AbortSignal): AbortSignal {
  const controller = new AbortController();
  // 'close' on the response also fires once it is sent; aborting then is harmless.
  reply.raw.once('close', () => controller.abort());
  return AbortSignal.any([controller.signal, closing]);
}
