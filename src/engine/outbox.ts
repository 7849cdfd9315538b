/**
 * The outbox dispatcher delivers webhook and status-report rows written in the transactions of the
 * changes they report. Both: up to `maxAttempts` tries, 5 s each, retried on network errors and
 * timeouts and 429/500/502/503/504 with a pause of 2 × attempt seconds (Tork's rules; status
 * reports are fire-and-forget, so a failure is only logged at debug level and counted). Rows that
 * share an ordering key (one job's reports to one collector) go one at a time, oldest first; once
 * one is settled the next is taken at once rather than on the next tick. A failing endpoint never
 * blocks a job: delivery runs outside every job transaction. Every request goes through
 * outbound.ts's rule (public addresses only, no redirects); a refused delivery is dead at once,
 * its reason in `lastError`.
 */
import { Periodic } from './periodic.js';
import type { OutboxRow } from '../core/model.js';
import { outboundPost } from './outbound.js';
import type { Store } from '../store/store.js';
import type { Clock } from './clock.js';
import type { EventBus } from './events.js';

/** Where delivery failures go: debug level, as srtctl's reporter logs them. */
export interface DeliveryLog {
  debug(fields: Record<string, unknown>, message: string): void;
}

const RETRYABLE = new Set([429, 500, 502, 503, 504]);

export interface DispatcherOptions {
  store: Store;
  clock: Clock;
  intervalMs?: number;
  timeoutMs?: number;
  /** Pause before try n+1 is `retryPauseMs × n`. (Default: 2 s) */
  retryPauseMs?: number;
  /** Deliver to loopback, private and link-local addresses too (`--allow-private-webhooks`). (Default: false) */
  allowPrivateTargets?: boolean;
  /** Each attempt's outcome is emitted here as `outbox:delivery` (metrics count them). */
  bus?: EventBus;
  /** Failed attempts are logged here. (Default: not logged) */
  log?: DeliveryLog;
}

/** Rounds one dispatch runs while settled ordered rows free their successors. */
const ORDERED_ROUNDS = 20;

export class OutboxDispatcher {
  private readonly loop: Periodic;

  constructor(private readonly options: DispatcherOptions) {
    this.loop = new Periodic(() => this.dispatch(), options.intervalMs ?? 500);
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }


  /** Delivers what is due now; returns how many rows it tried. */
  async dispatch(): Promise<number> {
    const { store, clock } = this.options;
    let tried = 0;
    for (let round = 0; round < ORDERED_ROUNDS; round += 1) {
      const due = await store.outboxTakeDue({ now: clock.now().toISOString(), limit: 50, leaseMs: 60_000 });
      await Promise.all(due.map((row) => this.deliver(row)));
      tried += due.length;
      if (!due.some((row) => row.orderingKey !== null)) break;
    }
    return tried;
  }

  private async deliver(row: OutboxRow): Promise<void> {
    const attempts = row.attempts + 1;
    const outcome = await this.post(row);
    const { store, clock } = this.options;
    const giveUp = !outcome.retryable || attempts >= row.maxAttempts;
    const pause = (this.options.retryPauseMs ?? 2_000) * attempts;
    const result = outcome.ok ? 'delivered' : giveUp ? 'failed' : 'retrying';
    if (!outcome.ok) {
      // The URL, never the headers: they may carry a collector's token.
      this.options.log?.debug({ kind: row.kind, method: row.method, url: row.url, attempt: attempts, error: outcome.error }, `${row.kind} delivery ${result}`);
    }
    this.options.bus?.emit('outbox:delivery', { kind: row.kind, outcome: result });
    await store.outboxUpdate({
      id: row.id as number,
      status: outcome.ok ? 'done' : giveUp ? 'dead' : 'pending',
      attempts,
      nextAt: new Date(clock.now().getTime() + pause).toISOString(),
      lastError: outcome.error,
    });
  }

  private async post(row: OutboxRow): Promise<{ ok: boolean; retryable: boolean; error: string | null }> {
    const result = await outboundPost(
      {
        method: row.method,
        url: row.url,
        headers: { 'content-type': 'application/json; charset=UTF-8', ...row.headers },
        body: JSON.stringify(row.body),
        timeoutMs: this.options.timeoutMs ?? 5_000,
      },
      { allowPrivate: this.options.allowPrivateTargets ?? false },
    );
    switch (result.kind) {
      case 'answered':
        if (result.status >= 200 && result.status < 300) return { ok: true, retryable: false, error: null };
        return { ok: false, retryable: RETRYABLE.has(result.status), error: `HTTP ${result.status}` };
      case 'refused':
        return { ok: false, retryable: false, error: `refused: ${result.reason}` };
      case 'failed':
        return { ok: false, retryable: true, error: result.reason };
    }
  }
}
