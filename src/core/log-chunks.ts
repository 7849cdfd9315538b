/**
 * How logs are stored: in chunks, one per batch of an execution's lines (not a row per line).
 * A chunk's body is a JSON array with one entry per line, `[numberStep, stream, msAfterFirst,
 * text]`: the step from the previous line's number (0 for the first, whose number is the chunk's
 * `firstNumber`), 'o'/'e'/'s' for stdout/stderr/system, and the line's time as milliseconds after
 * the chunk's `firstAt`. A tiny line costs its text plus about a dozen bytes, and a chunk its
 * row's columns and index entry (CHUNK_OVERHEAD_BYTES), which is what a log cap counts.
 */
import type { LogLine, LogStream } from './model.js';

/** A stored chunk's other columns (ids, numbers, time, size) and its primary-key entry, as bytes. */
export const CHUNK_OVERHEAD_BYTES = 128;
/** Lines per chunk at most, so reading a page of a log decodes a bounded amount. */
export const LINES_PER_CHUNK = 4_096;

export interface LogChunk {
  executionId: string;
  firstNumber: number;
  lastNumber: number;
  lineCount: number;
  firstAt: string;
  /** What the chunk costs in storage: its body plus CHUNK_OVERHEAD_BYTES. */
  bytes: number;
  body: string;
}

type Entry = [number, string, number, string];

const STREAM_CODES: Record<LogStream, string> = { stdout: 'o', stderr: 'e', system: 's' };
const STREAMS_BY_CODE: Record<string, LogStream> = { o: 'stdout', e: 'stderr', s: 'system' };

/** What one line adds to a chunk's stored size: the JSON of its entry and a separating comma. */
export function storedLineBytes(line: string): number {
  // `[step,"o",ms,` plus `]` and `,`: numbers of up to 6 and 7 digits cover a batch's steps and times.
  return Buffer.byteLength(JSON.stringify(line)) + 20;
}

/** The chunks for lines of one execution, in increasing number order. */
export function encodeLogChunks(lines: readonly LogLine[]): LogChunk[] {
  const chunks: LogChunk[] = [];
  for (let start = 0; start < lines.length; start += LINES_PER_CHUNK) {
    chunks.push(encodeChunk(lines.slice(start, start + LINES_PER_CHUNK)));
  }
  return chunks;
}

function encodeChunk(lines: readonly LogLine[]): LogChunk {
  const first = lines[0];
  const firstMs = Date.parse(first.at);
  let previous = first.number;
  const entries = lines.map((line): Entry => {
    const entry: Entry = [line.number - previous, STREAM_CODES[line.stream] ?? 's', Date.parse(line.at) - firstMs, line.line];
    previous = line.number;
    return entry;
  });
  const body = JSON.stringify(entries);
  return {
    executionId: first.executionId,
    firstNumber: first.number,
    lastNumber: previous,
    lineCount: lines.length,
    firstAt: first.at,
    bytes: Buffer.byteLength(body) + CHUNK_OVERHEAD_BYTES,
    body,
  };
}

export function decodeLogChunk(chunk: Pick<LogChunk, 'executionId' | 'firstNumber' | 'firstAt' | 'body'>): LogLine[] {
  const firstMs = Date.parse(chunk.firstAt);
  let number = chunk.firstNumber;
  return (JSON.parse(chunk.body) as Entry[]).map(([step, stream, ms, line]) => {
    number += step;
    return { executionId: chunk.executionId, number, stream: STREAMS_BY_CODE[stream] ?? 'system', at: new Date(firstMs + ms).toISOString(), line };
  });
}
