/**
 * `barge up`'s worker in a worker thread of its own. With the API, the engine's flows and the
 * worker on one event loop, 50 clients reading the API cut a running map from 35 to 2.5 items/s:
 * every claim, spawn, log batch and finish waited behind HTTP requests. In its own thread the
 * worker has its own event loop, store connection and engine (as a `barge worker` process has),
 * and the two sides trade only what each must hear (MessagePort):
 *
 * - to the thread: new work was submitted (`work:available`), an execution was cancelled or
 *   failed elsewhere (`execution:state`, so it stops at once), the node's info grew (the port);
 * - from the thread: job and execution states and log lines, for the API's followers (SSE, waits).
 */
import { Worker as Thread } from 'node:worker_threads';
import type { NodeRow } from '../core/model.js';
import type { BargeEventMap, BargeEventName, EventBus } from '../engine/events.js';
import type { WorkerHandle } from './assemble.js';
import type { ServerConfig } from './config.js';

/** Events the thread's engine emits that the API's side must hear. */
export const FROM_THREAD: readonly BargeEventName[] = ['job:state', 'execution:state', 'log:lines'];

export type ToThread =
  | { type: 'work' }
  | { type: 'event'; name: 'execution:state'; payload: BargeEventMap['execution:state'] }
  | { type: 'info'; info: NodeRow['info'] }
  | { type: 'stop' };

export type FromThread =
  | { type: 'ready'; capacity: { cpus: number; memoryMb: number }; queues: string[]; warnings: string[] }
  | { type: 'event'; name: BargeEventName; payload: BargeEventMap[BargeEventName] }
  | { type: 'failed'; message: string }
  | { type: 'stopped' };

export interface WorkerThreadData {
  config: ServerConfig;
  nodeId: string;
}

/** Running from TypeScript sources (tests, tsx), the thread needs the same loader. */
function threadEntry(): { url: URL; execArgv: string[] } {
  const ts = import.meta.url.endsWith('.ts');
  return { url: new URL(ts ? './worker-thread-entry.ts' : './worker-thread-entry.js', import.meta.url), execArgv: ts ? ['--import', 'tsx'] : [] };
}

export class ThreadedWorker implements WorkerHandle {
  private relaying = false;
  private readonly offs: Array<() => void> = [];
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly thread: Thread,
    readonly nodeId: string,
    readonly capacity: { cpus: number; memoryMb: number },
    readonly queues: string[],
    readonly warnings: string[],
    bus: EventBus,
  ) {
    thread.on('message', (message: FromThread) => {
      if (message.type !== 'event') return;
      // What the thread's engine did, told here; not sent back to it.
      this.relaying = true;
      try {
        bus.emit(message.name, message.payload as never);
      } finally {
        this.relaying = false;
      }
    });
    this.offs.push(
      bus.on('work:available', () => this.post({ type: 'work' })),
      bus.on('execution:state', (payload) => {
        if (!this.relaying && (payload.state === 'CANCELLED' || payload.state === 'FAILED')) {
          this.post({ type: 'event', name: 'execution:state', payload });
        }
      }),
    );
  }

  /** Starts the thread and waits until its worker runs (or the thread fails to start). */
  static async start(options: { config: ServerConfig; nodeId: string; bus: EventBus }): Promise<ThreadedWorker> {
    const { url, execArgv } = threadEntry();
    const data: WorkerThreadData = { config: options.config, nodeId: options.nodeId };
    const thread = new Thread(url, { workerData: data, execArgv });
    const ready = await new Promise<Extract<FromThread, { type: 'ready' }>>((resolve, reject) => {
      const onMessage = (message: FromThread): void => {
        if (message.type === 'ready') resolve(message);
        else if (message.type === 'failed') reject(new Error(`the worker thread did not start: ${message.message}`));
      };
      thread.on('message', onMessage);
      thread.once('error', reject);
      thread.once('exit', (code) => reject(new Error(`the worker thread exited (${code}) before it started`)));
    });
    thread.removeAllListeners('message');
    thread.removeAllListeners('exit');
    thread.on('error', (error) => process.stderr.write(`barge: the worker thread failed: ${error.message}\n`));
    return new ThreadedWorker(thread, options.nodeId, ready.capacity, ready.queues, ready.warnings, options.bus);
  }

  addInfo(info: NodeRow['info']): void {
    this.post({ type: 'info', info });
  }

  /** Drains the worker (as Worker.stop does), closes its store, and ends the thread. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const off of this.offs.splice(0)) off();
      const stopped = new Promise<void>((resolve) => {
        this.thread.on('message', (message: FromThread) => message.type === 'stopped' && resolve());
        this.thread.once('exit', () => resolve());
      });
      this.post({ type: 'stop' });
      await stopped;
      // Whatever handle a runtime left open, the thread's work is done: end it.
      await this.thread.terminate();
    })();
    return this.stopping;
  }

  private post(message: ToThread): void {
    try {
      this.thread.postMessage(message);
    } catch {
      // The thread is gone; its leases lapse and the reaper hands its work to another attempt.
    }
  }
}
