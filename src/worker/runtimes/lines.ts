/**
 * Turns a byte stream into log lines: split on \n, keep a partial last line until more arrives or
 * the stream ends, and cut lines longer than the cap into pieces so one endless line cannot hold
 * the worker's memory hostage.
 */
import { StringDecoder } from 'node:string_decoder';

/** (Default: 64 KiB) */
export const DEFAULT_MAX_LINE_LENGTH = 64 * 1024;

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  constructor(
    private readonly emit: (line: string) => void,
    private readonly maxLineLength = DEFAULT_MAX_LINE_LENGTH,
  ) {}

  push(chunk: Buffer | string): void {
    const text = this.pending + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      this.emitCapped(text.slice(start, newline));
      start = newline + 1;
    }
    let rest = text.slice(start);
    while (rest.length > this.maxLineLength) {
      this.emit(rest.slice(0, this.maxLineLength));
      rest = rest.slice(this.maxLineLength);
    }
    this.pending = rest;
  }

  /** Emits the partial last line, if any; call once when the stream ends. */
  end(): void {
    this.pending += this.decoder.end();
    if (this.pending !== '') this.emitCapped(this.pending);
    this.pending = '';
  }

  private emitCapped(line: string): void {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    for (let start = 0; start < text.length; start += this.maxLineLength) {
      this.emit(text.slice(start, start + this.maxLineLength));
    }
    if (text === '') this.emit('');
  }
}

/** The last few lines seen, for error messages such as `exit code 2: <last 10 log lines>`. */
export class LastLines {
  private readonly lines: string[] = [];

  constructor(private readonly keep = 10) {}

  add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.keep) this.lines.shift();
  }

  text(): string {
    return this.lines.join('\n');
  }
}
