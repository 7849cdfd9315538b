/**
 * Follows an execution's log as Server-Sent Events: `event: line` (a LogLine, with its number as
 * the event id so EventSource reconnects resume by itself through Last-Event-ID), then
 * `event: end` with the Execution once it is final, then the stream closes. A comment line every
 * 15 s keeps proxies from timing the connection out.
 *
 * Lines come from the engine's bus while they are contiguous with what was sent; anything else (a
 * gap, a slow client, a line written by another server of a PostgreSQL fleet, which this
 * process's bus never sees) is read from the store, which is also polled every second as a
 * backstop. The store is the truth: the bus only makes the common case immediate.
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import type { LogLine } from '../../core/model.js';
import { coerceError } from '../../core/errors.js';
import { isFinal } from '../../core/states.js';
import type { Engine } from '../../engine/engine.js';
import { executionBody, logLineBody } from './views.js';

export interface FollowOptions {
  engine: Engine;
  executionId: string;
  /** Send lines numbered above this. */
  after: number;
  reply: FastifyReply;
  log: FastifyBaseLogger;
  /** The app is closing: end the stream. */
  closing: AbortSignal;
  /** (Default: 15 s) */
  heartbeatMs?: number;
  /** (Default: 1 s) */
  pollMs?: number;
}

const PAGE = 1000;

export function followLogs(options: FollowOptions): void {
  new LogFollower(options).start();
}

class LogFollower {
  private readonly raw: ServerResponse;
  private readonly stopped = new AbortController();
  private readonly cleanups: Array<() => void> = [];
  private lastSent: number;
  private syncing = false;
  private syncRequested = false;

  constructor(private readonly options: FollowOptions) {
    this.raw = options.reply.raw;
    this.lastSent = options.after;
  }

  start(): void {
    const { engine, reply, closing } = this.options;
    reply.hijack();
    this.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx buffers responses unless told not to, which would hold lines back.
      'x-accel-buffering': 'no',
    });
    this.raw.write(': following\n\n');

    this.cleanups.push(
      engine.bus.on('log:lines', (event) => {
        if (event.executionId === this.options.executionId) this.onLiveLines(event.lines);
      }),
      engine.bus.on('execution:state', (event) => {
        if (event.executionId === this.options.executionId && isFinal(event.state)) this.requestSync();
      }),
    );
    const heartbeat = setInterval(() => this.write(': ping\n\n'), this.options.heartbeatMs ?? 15_000);
    const poll = setInterval(() => this.requestSync(), this.options.pollMs ?? 1_000);
    this.cleanups.push(() => clearInterval(heartbeat), () => clearInterval(poll));

    const onClosing = (): void => this.stop();
    closing.addEventListener('abort', onClosing);
    this.cleanups.push(() => closing.removeEventListener('abort', onClosing));
    this.raw.once('close', () => this.stop());
    if (closing.aborted) this.stop();
    else this.requestSync();
  }

  private get done(): boolean {
    return this.stopped.signal.aborted;
  }

  private onLiveLines(lines: LogLine[]): void {
    if (this.done) return;
    // While the store is being read, or the client is behind, the store catches up instead.
    if (this.syncing || this.raw.writableNeedDrain) {
      this.requestSync();
      return;
    }
    for (const line of lines) {
      if (line.number <= this.lastSent) continue;
      if (line.number !== this.lastSent + 1) {
        this.requestSync();
        return;
      }
      this.sendLine(line);
    }
  }

  /** Runs one store read at a time; a request during a read runs another right after it. */
  private requestSync(): void {
    if (this.done) return;
    if (this.syncing) {
      this.syncRequested = true;
      return;
    }
    this.syncing = true;
    this.sync()
      .catch((error: unknown) => {
        if (!this.done) this.options.log.warn({ err: coerceError(error) }, 'log stream failed');
        this.stop();
      })
      .finally(() => {
        this.syncing = false;
        if (this.syncRequested) {
          this.syncRequested = false;
          this.requestSync();
        }
      });
  }

  private async sync(): Promise<void> {
    const { engine, executionId } = this.options;
    // The state first: a worker stores every line before it reports the end, so once the
    // execution is final the lines read below are all there will ever be.
    const execution = await engine.store.executionGet(executionId);
    if (!execution) {
      this.stop();
      return;
    }
    for (;;) {
      const lines = await engine.store.logList({ executionId, afterNumber: this.lastSent, limit: PAGE });
      for (const line of lines) {
        if (this.done) return;
        if (line.number <= this.lastSent) continue;
        if (!this.sendLine(line)) await once(this.raw, 'drain', { signal: this.stopped.signal });
      }
      if (lines.length < PAGE) break;
    }
    if (isFinal(execution.state) && !this.done) {
      this.write(`event: end\ndata: ${JSON.stringify(executionBody(execution))}\n\n`);
      this.stop();
    }
  }

  /** False when the client is behind and the caller should wait for 'drain'. */
  private sendLine(line: LogLine): boolean {
    this.lastSent = line.number;
    return this.write(`id: ${line.number}\nevent: line\ndata: ${JSON.stringify(logLineBody(line))}\n\n`);
  }

  private write(chunk: string): boolean {
    if (this.done || this.raw.writableEnded || this.raw.destroyed) return true;
    return this.raw.write(chunk);
  }

  private stop(): void {
    if (this.done) return;
    this.stopped.abort();
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    if (!this.raw.writableEnded) this.raw.end();
  }
}
