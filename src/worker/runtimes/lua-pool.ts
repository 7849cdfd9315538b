/**
 * Long-lived Lua worker threads, so a task does not pay for a new thread and a new wasmoon module
 * (~100 ms of CPU) each time. A thread runs one task at a time, each in a fresh Lua state (see
 * lua-worker.ts). A thread that was stopped mid-task (timeout, cancel), ran out of memory or died is
 * retired, never reused. A thread's V8 heap cap is fixed when it starts, so a task only reuses a
 * thread started with the cap it would get itself.
 */
import { Worker } from 'node:worker_threads';
import { LUA_DRIVER } from './lua-driver.js';
import { LUA_WORKER_SOURCE, type LuaTask, type LuaThreadData, type LuaThreadRequest, type LuaWorkerMessage } from './lua-worker.js';

export interface LuaThreadEvents {
  message(message: LuaWorkerMessage): void;
  /** Whatever the thread itself printed (wasmoon warnings). */
  output(chunk: Buffer): void;
  error(error: Error & { code?: string }): void;
  exit(code: number): void;
}

export class LuaThread {
  private readonly worker: Worker;
  private events: LuaThreadEvents | undefined;
  private alive = true;

  constructor(
    readonly heapMb: number,
    wasmoonPath: string,
  ) {
    const workerData: LuaThreadData = { wasmoonPath, driver: LUA_DRIVER };
    this.worker = new Worker(LUA_WORKER_SOURCE, {
      eval: true,
      workerData,
      env: {},
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
    });
    this.worker.on('message', (message: LuaWorkerMessage) => this.events?.message(message));
    this.worker.stdout.on('data', (chunk: Buffer) => this.events?.output(chunk));
    this.worker.stderr.on('data', (chunk: Buffer) => this.events?.output(chunk));
    this.worker.on('error', (error: Error & { code?: string }) => {
      this.alive = false;
      this.events?.error(error);
    });
    this.worker.on('exit', (code) => {
      this.alive = false;
      this.events?.exit(code);
    });
  }

  get usable(): boolean {
    return this.alive;
  }

  run(task: LuaTask, events: LuaThreadEvents): void {
    this.events = events;
    this.worker.ref();
    const request: LuaThreadRequest = { type: 'run', task };
    this.worker.postMessage(request);
  }

  /** Between tasks: an idle thread does not keep the process alive. */
  idle(): void {
    this.events = undefined;
    this.worker.unref();
  }

  async stop(): Promise<void> {
    this.alive = false;
    this.events = undefined;
    await this.worker.terminate();
  }
}

export class LuaThreadPool {
  private idleThreads: LuaThread[] = [];
  private readonly threads = new Set<LuaThread>();
  private closed = false;

  /** Keeps at most `size` idle threads (the worker's slots); busier moments start extra ones. */
  constructor(
    private readonly size: number,
    private readonly wasmoonPath: string,
  ) {}

  acquire(heapMb: number): LuaThread {
    if (this.closed) throw new Error('the lua runtime is closed');
    const index = this.idleThreads.findIndex((thread) => thread.heapMb === heapMb && thread.usable);
    if (index >= 0) return this.idleThreads.splice(index, 1)[0] as LuaThread;
    const thread = new LuaThread(heapMb, this.wasmoonPath);
    this.threads.add(thread);
    return thread;
  }

  /** Takes back a thread whose task ended normally. */
  release(thread: LuaThread): void {
    if (this.closed || !thread.usable) {
      void this.retire(thread);
      return;
    }
    thread.idle();
    this.idleThreads.push(thread);
    // Over the limit (tasks with other heap caps came by): the longest idle goes.
    while (this.idleThreads.length > this.size) void this.retire(this.idleThreads.shift() as LuaThread);
  }

  async retire(thread: LuaThread): Promise<void> {
    this.threads.delete(thread);
    this.idleThreads = this.idleThreads.filter((idle) => idle !== thread);
    await thread.stop();
  }

  /** Stops every thread, busy ones included; later acquires fail. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.threads].map((thread) => this.retire(thread)));
  }

  /** Threads started and not yet stopped (idle or busy). */
  get threadCount(): number {
    return this.threads.size;
  }
}
