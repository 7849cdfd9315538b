/**
 * Quotas per user (core/model.ts `Quotas`), enforced where work enters and where it starts:
 *
 * - at submit, `checkSubmit` refuses (TooManyError, naming the quota) a job whose first
 *   executions would pass `queuedExecutions`, or any job once `computeSecondsPerPeriod` is spent;
 * - at claim, `holdBack` keeps an owner's candidates out of the claim while `runningExecutions`
 *   are already running or the period's compute is spent: that work waits RUNNABLE with a
 *   reason naming the quota, and runs once a slot frees or the next period starts;
 * - `checkResultBytes` and `recordResultBytes` meter result downloads per period.
 *
 * Cost on the claim path: nothing for owners without a running or compute quota (their quotas are
 * cached for `cacheMs`); otherwise one grouped count of running executions for those owners (the
 * claim index) and, with a compute quota, one cached sum per owner. Counts are read inside the
 * claim transaction; on PostgreSQL, workers claiming at the same instant may together pass a
 * running quota by at most the number of concurrent claims, and the next claims wait again.
 *
 * Periods are fixed windows of `periodSeconds` from the Unix epoch (default one UTC day).
 */
import { TooManyError } from '../core/errors.js';
import type { ExecutionRow, Quotas } from '../core/model.js';
import type { Queries } from '../store/store.js';
import type { Clock } from './clock.js';
import type { Flow } from './flow.js';

const DEFAULT_PERIOD_SECONDS = 86_400;
const QUEUED_STATES = ['SUBMITTED', 'PENDING', 'RUNNABLE'] as const;
const RUNNING_STATES = ['STARTING', 'RUNNING'] as const;

export interface Usage {
  periodStart: string;
  periodEnd: string;
  runningExecutions: number;
  queuedExecutions: number;
  computeSeconds: number;
  resultBytes: number;
}

interface Cached<T> {
  value: T;
  until: number;
}

export class QuotaGate {
  private readonly quotas = new Map<string, Cached<Quotas>>();
  private readonly compute = new Map<string, Cached<number>>();

  constructor(
    private readonly store: Queries,
    private readonly clock: Clock,
    /** How long a user's quotas and compute usage are reused before being read again. (Default: 5 s) */
    private readonly cacheMs = 5_000,
  ) {}

  /** Forget cached quotas (after an admin changes them, so this process applies them at once). */
  forget(owner?: string): void {
    if (owner === undefined) this.quotas.clear();
    else this.quotas.delete(owner);
  }

  async quotasOf(owner: string): Promise<Quotas> {
    const now = Date.now();
    const cached = this.quotas.get(owner);
    if (cached && cached.until > now) return cached.value;
    const quotas = (await this.store.userGetByName(owner))?.quotas ?? {};
    this.quotas.set(owner, { value: quotas, until: now + this.cacheMs });
    return quotas;
  }

  period(quotas: Quotas): { start: string; end: string; endMs: number } {
    const lengthMs = (quotas.periodSeconds ?? DEFAULT_PERIOD_SECONDS) * 1000;
    const startMs = Math.floor(this.clock.now().getTime() / lengthMs) * lengthMs;
    return { start: new Date(startMs).toISOString(), end: new Date(startMs + lengthMs).toISOString(), endMs: startMs + lengthMs };
  }

  /** Refuses a submit up front when the owner's compute is spent or their queue is already full. */
  async checkSubmit(owner: string): Promise<void> {
    const quotas = await this.quotasOf(owner);
    if (quotas.computeSecondsPerPeriod !== undefined) {
      const used = await this.computeSeconds(this.store, owner, quotas, true);
      if (used >= quotas.computeSecondsPerPeriod) {
        throw new TooManyError(
          `quota computeSecondsPerPeriod exceeded: ${owner} used ${Math.round(used)} of ${quotas.computeSecondsPerPeriod} compute seconds this period`,
          this.secondsToPeriodEnd(quotas),
        );
      }
    }
    await this.checkQueued(this.store, owner, false);
  }

  /**
   * Refuses, inside the transaction that created a job, when its owner now has more executions
   * queued than allowed; the throw rolls the job back. Draining first writes what the flow holds
   * back, so the count sees the new executions.
   */
  async checkQueuedIn(flow: Flow, owner: string): Promise<void> {
    if ((await this.quotasOf(owner)).queuedExecutions === undefined) return;
    await flow.drain();
    await this.checkQueued(flow.tx, owner);
  }

  /**
   * Refuses (inside the submit's transaction, after the job's first executions are written, so
   * the refusal rolls them back) when the owner now has more executions queued than allowed.
   * Before writing (`written` false) it checks for room for at least one more.
   */
  async checkQueued(x: Queries, owner: string, written = true): Promise<void> {
    const quotas = await this.quotasOf(owner);
    if (quotas.queuedExecutions === undefined) return;
    const queued = await this.queuedCount(x, owner);
    if (queued + (written ? 0 : 1) > quotas.queuedExecutions) {
      throw new TooManyError(
        `quota queuedExecutions exceeded: ${owner} may have ${quotas.queuedExecutions} executions queued` +
          (written ? `; this job would make it ${queued}` : ` and has ${queued}`),
      );
    }
  }

  /** Executions waiting to run, counting array items not made yet (windowed eaches). */
  private async queuedCount(x: Queries, owner: string): Promise<number> {
    const [rows, unmade] = await Promise.all([
      x.executionCountByOwner({ owners: [owner], states: QUEUED_STATES }),
      x.executionCountUnmadeOf({ owner }),
    ]);
    return (rows[owner] ?? 0) + unmade;
  }

  /**
   * Compute of a job about to be deleted, kept in the usage table so deleting finished work does
   * not hand its compute seconds back within the period.
   */
  async keepCompute(owner: string, jobId: string): Promise<void> {
    const quotas = await this.quotasOf(owner);
    if (quotas.computeSecondsPerPeriod === undefined) return;
    const start = this.period(quotas).start;
    const ms = await this.store.executionComputeMs({ owner, since: start, jobId });
    if (ms > 0) await this.store.usageAdd({ owner, periodStart: start, computeMs: ms, resultBytes: 0 });
  }


  /**
   * Splits claim candidates into those that may start and those held back, each held one with
   * the reason it waits. `tx` is the claim's transaction, so counts see what it sees.
   */
  async holdBack(tx: Queries, candidates: ExecutionRow[]): Promise<{ allowed: ExecutionRow[]; held: Array<{ execution: ExecutionRow; reason: string }> }> {
    const held: Array<{ execution: ExecutionRow; reason: string }> = [];
    const limited: Array<{ owner: string; quotas: Quotas }> = [];
    for (const owner of new Set(candidates.map((c) => c.owner))) {
      const quotas = await this.quotasOf(owner);
      if (quotas.runningExecutions !== undefined || quotas.computeSecondsPerPeriod !== undefined) limited.push({ owner, quotas });
    }
    if (limited.length === 0) return { allowed: candidates, held };

    const slots = new Map<string, { free: number; reason: string }>();
    const withRunningQuota = limited.filter((l) => l.quotas.runningExecutions !== undefined).map((l) => l.owner);
    const running = withRunningQuota.length > 0 ? await tx.executionCountByOwner({ owners: withRunningQuota, states: RUNNING_STATES }) : {};
    for (const { owner, quotas } of limited) {
      if (quotas.computeSecondsPerPeriod !== undefined && (await this.computeSeconds(tx, owner, quotas, false)) >= quotas.computeSecondsPerPeriod) {
        slots.set(owner, { free: 0, reason: `quota computeSecondsPerPeriod: ${quotas.computeSecondsPerPeriod} compute seconds used this period; waits for the next` });
      } else if (quotas.runningExecutions !== undefined) {
        const free = quotas.runningExecutions - (running[owner] ?? 0);
        slots.set(owner, { free, reason: `quota runningExecutions: ${quotas.runningExecutions} already running; waits for one to end` });
      }
    }
    // Candidates come each owner's best first; keep as many as the owner has free slots.
    const allowed = candidates.filter((candidate) => {
      const slot = slots.get(candidate.owner);
      if (slot === undefined) return true;
      if (slot.free <= 0) {
        held.push({ execution: candidate, reason: slot.reason });
        return false;
      }
      slot.free -= 1;
      return true;
    });
    return { allowed, held };
  }

  /** Refuses a download once the period's result bytes are spent. */
  async checkResultBytes(owner: string): Promise<void> {
    const quotas = await this.quotasOf(owner);
    if (quotas.resultBytesPerPeriod === undefined) return;
    const used = (await this.store.usageGet({ owner, periodStart: this.period(quotas).start })).resultBytes;
    if (used >= quotas.resultBytesPerPeriod) {
      throw new TooManyError(
        `quota resultBytesPerPeriod exceeded: ${owner} downloaded ${used} of ${quotas.resultBytesPerPeriod} result bytes this period`,
        this.secondsToPeriodEnd(quotas),
      );
    }
  }

  async recordResultBytes(owner: string, bytes: number): Promise<void> {
    if (bytes <= 0) return;
    const quotas = await this.quotasOf(owner);
    await this.store.usageAdd({ owner, periodStart: this.period(quotas).start, computeMs: 0, resultBytes: bytes });
  }

  /** What an owner uses now, against the period of their quotas (for /v1/me). */
  async usage(owner: string): Promise<Usage> {
    const quotas = await this.quotasOf(owner);
    const period = this.period(quotas);
    const counts = await Promise.all([
      this.store.executionCountByOwner({ owners: [owner], states: RUNNING_STATES }),
      this.queuedCount(this.store, owner),
      this.computeSeconds(this.store, owner, quotas, true),
      this.store.usageGet({ owner, periodStart: period.start }),
    ]);
    return {
      periodStart: period.start,
      periodEnd: period.end,
      runningExecutions: counts[0][owner] ?? 0,
      queuedExecutions: counts[1],
      computeSeconds: counts[2],
      resultBytes: counts[3].resultBytes,
    };
  }

  /** Compute seconds of the current period: finished executions plus usage kept from deleted jobs. */
  private async computeSeconds(x: Queries, owner: string, quotas: Quotas, fresh: boolean): Promise<number> {
    const period = this.period(quotas);
    const key = `${owner}\u0000${period.start}`;
    const cached = this.compute.get(key);
    if (!fresh && cached && cached.until > Date.now()) return cached.value;
    const [finishedMs, kept] = await Promise.all([
      x.executionComputeMs({ owner, since: period.start }),
      x.usageGet({ owner, periodStart: period.start }),
    ]);
    const seconds = (finishedMs + kept.computeMs) / 1000;
    this.compute.set(key, { value: seconds, until: Date.now() + this.cacheMs });
    return seconds;
  }

  private secondsToPeriodEnd(quotas: Quotas): number {
    return Math.max(1, Math.ceil((this.period(quotas).endMs - this.clock.now().getTime()) / 1000));
  }
}
