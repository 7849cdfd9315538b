/**
 * Who is asking, from the `username` and `key` in the body (reference §7): the key must be a live
 * API key or token of that user (`checkUserKey`: looked up by hash, names compared in constant
 * time). Under `--sc-open` (loopback only) credentials are ignored and every caller is the guest,
 * an ordinary user; under `--open` every caller is the admin.
 */
import type { Quotas } from '../../../core/model.js';
import type { Engine } from '../../../engine/engine.js';
import { canSeeJob, checkUserKey, guestPrincipal, OPEN_PRINCIPAL, type Principal } from '../../auth/index.js';
import { ScError } from './errors.js';
import type { Params } from './validate.js';

export type ScAuth = 'key' | 'guest' | 'open';

export interface Caller {
  principal: Principal;
  /** Whether the caller proved who they are (only then does `check_server` send `user_info`). */
  authenticated: boolean;
}

export async function callerOf(engine: Engine, auth: ScAuth, guest: string, params: Params): Promise<Caller> {
  if (auth === 'open') return { principal: { ...OPEN_PRINCIPAL }, authenticated: false };
  if (auth === 'guest') {
    const principal = await guestPrincipal(engine.store, guest).catch(() => null);
    if (!principal) throw new ScError(403, 'Authentication error.');
    return { principal, authenticated: false };
  }
  if (params.username === undefined || params.key === undefined) throw new ScError(400, 'Error: some authentication parameters are missing.');
  const user = await checkUserKey(engine.store, params.username, params.key);
  // A worker credential may claim and report work, nothing else.
  if (!user || user.role === 'worker') throw new ScError(403, 'Authentication error.');
  return {
    principal: { userId: user.id, name: user.name, role: user.role, credentialId: `siliconcompiler:${user.id}` },
    authenticated: true,
  };
}

/** Submitting, cancelling and deleting write; a viewer may only look. */
export function requireWrite(caller: Caller): void {
  if (caller.principal.role === 'viewer') throw new ScError(403, 'Permission denied: the viewer role is read-only.');
}

export async function canSee(engine: Engine, caller: Caller, job: { id: string; owner: string }): Promise<boolean> {
  return canSeeJob(engine.store, caller.principal, job);
}

/**
 * `user_info` (reference §4.1): what is left of the caller's compute time (seconds) and result
 * bandwidth (KiB) this period; 0 where no quota is set, as sc-server reports a user without them.
 */
export async function userInfo(engine: Engine, owner: string): Promise<{ compute_time: number; bandwidth_kb: number }> {
  const quotas: Quotas = await engine.quotas.quotasOf(owner);
  if (quotas.computeSecondsPerPeriod === undefined && quotas.resultBytesPerPeriod === undefined) return { compute_time: 0, bandwidth_kb: 0 };
  const usage = await engine.quotas.usage(owner);
  const left = (limit: number | undefined, used: number): number => (limit === undefined ? 0 : Math.max(0, limit - used));
  return {
    compute_time: Math.floor(left(quotas.computeSecondsPerPeriod, usage.computeSeconds)),
    bandwidth_kb: Math.floor(left(quotas.resultBytesPerPeriod, usage.resultBytes) / 1024),
  };
}
