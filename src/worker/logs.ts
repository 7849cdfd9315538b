/**
 * Batches an execution's log lines into few writes: a flush every `intervalMs`, or once a batch
 * would take `maxBatchBytes` in storage or holds a full chunk of lines; one write in flight at a
 * time (callers never wait on the database per line). Each batch is stored as one chunk, and
 * `capBytes` counts what the chunks take in storage, overhead included (core/log-chunks.ts).
 * Past the cap lines are counted, not kept, and the count is written as a final system line so
 * a truncated log says so (room for it is kept under the cap).
 */
import { CHUNK_OVERHEAD_BYTES, LINES_PER_CHUNK, storedLineBytes } from '../core/log-chunks.js';
import type { LogLine, LogStream } from '../core/model.js';

/** Kept under the cap for the truncation notice and its chunk. */
const NOTICE_RESERVE_BYTES = 512;

export interface LogBatcherOptions {
  executionId: string;
  capBytes: number;
  write: (lines: LogLine[]) => Promise<void>;
  intervalMs?: number;
  /** (Default: 64 KiB) */
  maxBatchBytes?: number;
}

export class LogBatcher {
  private buffer: LogLine[] = [];
  private number = 0;
  /** Stored bytes of what was kept so far, flushed or not. */
  private bytes = 0;
  private bufferBytes = 0;
  private droppedLines = 0;
  private droppedBytes = 0;
  private inFlight: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: LogBatcherOptions) {
    this.timer = setInterval(() => this.flush(), options.intervalMs ?? 250);
  }

  add(stream: LogStream, line: string): void {
    const size = storedLineBytes(line) + (this.buffer.length === 0 ? CHUNK_OVERHEAD_BYTES : 0);
    if (this.droppedLines > 0 || this.bytes + size > this.options.capBytes - NOTICE_RESERVE_BYTES) {
      this.droppedLines += 1;
      this.droppedBytes += Buffer.byteLength(line) + 1;
      return;
    }
    this.bytes += size;
    this.bufferBytes += size;
    this.push(stream, line);
    if (this.bufferBytes >= (this.options.maxBatchBytes ?? 65_536) || this.buffer.length >= LINES_PER_CHUNK) this.flush();
  }

  private push(stream: LogStream, line: string): void {
    this.number += 1;
    this.buffer.push({ executionId: this.options.executionId, number: this.number, stream, at: new Date().toISOString(), line });
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    const lines = this.buffer;
    this.buffer = [];
    this.bufferBytes = 0;
    // Writes stay in order: each waits for the one before it. Retrying is the writer's business
    // (the worker keeps a batch while the store is unavailable); a batch it gives up on is lost.
    this.inFlight = this.inFlight.then(() => this.options.write(lines).catch(() => undefined));
  }

  /** Writes what is left, with the truncation notice if lines were dropped. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    if (this.droppedLines > 0) {
      this.push(
        'system',
        `log truncated: ${this.droppedLines} lines (${this.droppedBytes} bytes) past the ${this.options.capBytes}-byte cap were not kept`,
      );
    }
    this.flush();
    await this.inFlight;
  }
}
