/**
 * Batches an execution's log lines into few writes: a flush every `intervalMs` or `maxLines`
 * lines, one write in flight at a time (callers never wait on the database per line). Past
 * `capBytes` lines are counted, not kept, and the count is written as a final system line so a
 * truncated log says so.
 */
import type { LogLine, LogStream } from '../core/model.js';

export interface LogBatcherOptions {
  executionId: string;
  capBytes: number;
  write: (lines: LogLine[]) => Promise<void>;
  intervalMs?: number;
  maxLines?: number;
}

export class LogBatcher {
  private buffer: LogLine[] = [];
  private number = 0;
  private bytes = 0;
  private droppedLines = 0;
  private droppedBytes = 0;
  private inFlight: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: LogBatcherOptions) {
    this.timer = setInterval(() => this.flush(), options.intervalMs ?? 250);
  }

  add(stream: LogStream, line: string): void {
    const size = Buffer.byteLength(line) + 1;
    if (this.bytes + size > this.options.capBytes) {
      this.droppedLines += 1;
      this.droppedBytes += size;
      return;
    }
    this.bytes += size;
    this.push(stream, line);
    if (this.buffer.length >= (this.options.maxLines ?? 500)) this.flush();
  }

  private push(stream: LogStream, line: string): void {
    this.number += 1;
    this.buffer.push({ executionId: this.options.executionId, number: this.number, stream, at: new Date().toISOString(), line });
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    const lines = this.buffer;
    this.buffer = [];
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
