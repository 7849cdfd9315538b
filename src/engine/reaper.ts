/**
 * The reaper: one holder at a time across all processes (a leader lease in the store) takes back
 * executions whose lease expired (their worker died), enforces timeouts a worker missed, and marks
 * silent nodes DOWN. Every accepted job ends in a final state, whatever process is killed.
 */
import { Periodic } from './periodic.js';
import { inFlow } from './flow.js';
import { explainWaiting } from './waiting.js';
import type { Engine } from './engine.js';

export interface ReaperOptions {
  nodeId: string;
  /** How often it looks. (Default: 1 s) */
  intervalMs?: number;
  /** A node silent this long is DOWN. (Default: 60 s) */
  heartbeatWindowMs?: number;
  /** Slack past a timeout before the reaper fails an execution its worker should have stopped. (Default: 10 s) */
  timeoutGraceMs?: number;
}

/** What one sweep did. */
export interface SweepCounts {
  rescued: number;
  timedOut: number;
  down: number;
  /** Jobs settled by the safety net (Flow.repairStranded): each one is a bug worth reporting. */
  repaired: number;
}

export class Reaper {
  private readonly loop: Periodic;
  private sweeps = 0;
  private readonly intervalMs: number;
  private readonly heartbeatWindowMs: number;
  private readonly timeoutGraceMs: number;

  constructor(
    private readonly engine: Engine,
    private readonly options: ReaperOptions,
  ) {
    this.intervalMs = options.intervalMs ?? 1_000;
    this.heartbeatWindowMs = options.heartbeatWindowMs ?? 60_000;
    this.timeoutGraceMs = options.timeoutGraceMs ?? 10_000;
    this.loop = new Periodic(() => this.sweep(), this.intervalMs);
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }


  /** One pass. Public so tests can drive it without waiting for the timer. */
  async sweep(): Promise<SweepCounts> {
    const { store, clock } = this.engine;
    const now = clock.now();
    const leader = await store.leaderAcquire({
      name: 'reaper',
      holder: this.options.nodeId,
      now: now.toISOString(),
      until: new Date(now.getTime() + this.intervalMs * 5).toISOString(),
    });
    if (!leader) return { rescued: 0, timedOut: 0, down: 0, repaired: 0 };
    const rescued = await this.rescueExpired(now.toISOString());
    const timedOut = await this.enforceTimeouts(now.toISOString());
    const down = await store.nodeMarkDown({ silentSince: new Date(now.getTime() - this.heartbeatWindowMs).toISOString() });
    // After marking nodes DOWN, so they no longer count as able to run container work.
    let repaired: string[] = [];
    if (this.sweeps++ % 5 === 0) {
      await explainWaiting(this.engine).catch(() => undefined);
      await this.deleteExpired(now.toISOString());
      repaired = await this.repairStranded();
    }
    if (rescued.length > 0) this.engine.bus.emit('reaper:rescued', { executionIds: rescued });
    if (repaired.length > 0) this.engine.bus.emit('reaper:repaired', { jobIds: repaired });
    return { rescued: rescued.length, timedOut, down: down.length, repaired: repaired.length };
  }

  /** Jobs whose `autoDelete` time has come, deleted with their logs and artifacts. */
  private async deleteExpired(now: string): Promise<void> {
    for (const id of await this.engine.store.jobListExpired({ now, limit: 100 })) {
      await this.engine.deleteJob(id).catch(() => undefined);
    }
  }

  /** Jobs that no execution will ever settle, settled now; each is logged as a repair. */
  private async repairStranded(): Promise<string[]> {
    const repaired: string[] = [];
    for (const id of await this.engine.store.jobListStranded({ limit: 100 })) {
      if (await inFlow(this.engine.store, this.flowOptions(), (flow) => flow.repairStranded(id))) repaired.push(id);
    }
    if (repaired.length > 0) process.emitWarning(`reaper repaired ${repaired.length} stranded job(s): ${repaired.join(', ')}`);
    return repaired;
  }

  private async rescueExpired(now: string): Promise<string[]> {
    const expired = await this.engine.store.executionListLeaseExpired({ now, limit: 500 });
    const rescued: string[] = [];
    for (const execution of expired) {
      const lapsed = (row: { leaseExpiresAt: string | null }): boolean => row.leaseExpiresAt !== null && row.leaseExpiresAt < now;
      if (await this.engine.rescueIf(execution.id, 'lease expired', lapsed)) rescued.push(execution.id);
    }
    if (rescued.length > 0) await this.engine.store.notify('work').catch(() => undefined);
    return rescued;
  }

  private async enforceTimeouts(now: string): Promise<number> {
    const late = await this.engine.store.executionListPastTimeout({ now, graceMs: this.timeoutGraceMs, limit: 500 });
    for (const execution of late) {
      await inFlow(this.engine.store, this.flowOptions(), async (flow) => {
        const fresh = await flow.tx.executionGet(execution.id);
        if (!fresh || fresh.state !== 'RUNNING') return;
        const moved = await flow.moveExecution(fresh, 'FAILED', {
          completedAt: now,
          error: `timed out after ${fresh.timeoutMs} ms (enforced by the reaper)`,
          reason: 'timeout',
          leaseExpiresAt: null,
        });
        if (moved) flow.settled(fresh);
      });
    }
    return late.length;
  }

  private flowOptions() {
    return this.engine.flowSettings();
  }
}
