/**
 * The engine's typed event map: the UI, SSE streams, metrics, the in-process worker and tests
 * subscribe here instead of reaching into services. Events are emitted after their transaction
 * commits, and a failing listener can never break the engine (safeEmit).
 */
import { EventEmitter } from 'node:events';
import type { LogLine, OutboxKind, State } from '../core/model.js';

export interface BargeEventMap {
  'job:state': { jobId: string; state: State };
  'execution:state': { executionId: string; jobId: string; state: State; nodeId: string | null };
  /** New runnable work exists; workers waiting for work should claim. */
  'work:available': { count: number };
  'log:lines': { executionId: string; lines: LogLine[] };
  'reaper:rescued': { executionIds: string[] };
  /** Jobs the reaper settled because no execution would have (Flow.repairStranded). */
  'reaper:repaired': { jobIds: string[] };
  'claim:latency': { ms: number; claimed: number };
  /** One delivery attempt of an outbox row: done, to be retried, or given up for good. */
  'outbox:delivery': { kind: OutboxKind; outcome: 'delivered' | 'retrying' | 'failed' };
}

export type BargeEventName = keyof BargeEventMap;

export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  on<K extends BargeEventName>(name: K, listener: (payload: BargeEventMap[K]) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }

  emit<K extends BargeEventName>(name: K, payload: BargeEventMap[K]): void {
    for (const listener of this.emitter.listeners(name)) {
      try {
        (listener as (p: BargeEventMap[K]) => void)(payload);
      } catch {
        // A listener's failure is its own; the engine goes on.
      }
    }
  }
}

/** Events gathered during a transaction, emitted once it commits. */
export class PendingEvents {
  private readonly items: Array<() => void> = [];

  add<K extends BargeEventName>(bus: EventBus, name: K, payload: BargeEventMap[K]): void {
    this.items.push(() => bus.emit(name, payload));
  }

  flush(): void {
    for (const emit of this.items.splice(0)) emit();
  }
}
