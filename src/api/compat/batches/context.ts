/**
 * What every Batches route receives, and the lookups they share: a tool, filesystem or batch the
 * caller may use, else 403 `Access denied` (the same answer for one that does not exist, §9 #9).
 */
import type { FastifyRequest } from 'fastify';
import type { FilesystemRow, GrantKind, JobRow, ToolRow } from '../../../core/model.js';
import type { Engine } from '../../../engine/engine.js';
import { canSee, canSeeJob, principalOf, type Principal } from '../../auth/index.js';
import { accessDenied } from './errors.js';
import { batchFacts, type BatchFacts } from './views.js';

export interface BatchesContext {
  engine: Engine;
  /** Where filesystems made through this API get their folders. */
  filesystemsRoot: string;
}

export function caller(request: FastifyRequest): Principal {
  return principalOf(request);
}

/** 'use': the owner, an admin, or a user it is shared with; 'own': the owner or an admin. */
export type Need = 'use' | 'own';

async function allowed(context: BatchesContext, principal: Principal, kind: GrantKind, row: { id: string; owner: string }, need: Need): Promise<boolean> {
  if (canSee(principal, row.owner)) return true;
  return need === 'use' && context.engine.store.grantExists({ kind, resourceId: row.id, userName: principal.name });
}

export async function toolFor(context: BatchesContext, request: FastifyRequest, id: string, need: Need): Promise<ToolRow> {
  const tool = await context.engine.store.toolGet(id);
  if (!tool || !(await allowed(context, caller(request), 'tool', tool, need))) throw accessDenied();
  return tool;
}

export async function filesystemFor(context: BatchesContext, request: FastifyRequest, id: string, need: Need): Promise<FilesystemRow> {
  const filesystem = await context.engine.store.filesystemGet(id);
  if (!filesystem || !(await allowed(context, caller(request), 'filesystem', filesystem, need))) throw accessDenied();
  return filesystem;
}

/** A batch (a job made by this API) the caller may read (owner, admin, shared) or own. */
export async function batchFor(context: BatchesContext, request: FastifyRequest, id: string, need: Need): Promise<{ job: JobRow; facts: BatchFacts }> {
  const { store } = context.engine;
  const principal = caller(request);
  const job = await store.jobGet(id);
  const facts = job && batchFacts(job);
  if (!job || !facts) throw accessDenied();
  const ok = need === 'own' ? canSee(principal, job.owner) : await canSeeJob(store, principal, job);
  if (!ok) throw accessDenied();
  return { job, facts };
}
