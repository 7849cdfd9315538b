/**
 * Reading and writing logs over chunks (core/log-chunks.ts), the same for both dialects: each
 * store supplies a few small queries (LogChunkQueries) and these functions page, skip and filter.
 */
import { decodeLogChunk, encodeLogChunks, type LogChunk } from '../../core/log-chunks.js';
import type { LogLine } from '../../core/model.js';
import { sanitizeLogText } from '../../core/text.js';

export type ChunkRow = Pick<LogChunk, 'executionId' | 'firstNumber' | 'firstAt' | 'body'>;
export type ChunkMeta = Pick<LogChunk, 'executionId' | 'firstNumber' | 'lineCount'>;

export interface LogChunkQueries {
  /** Chunks holding lines numbered above `afterNumber`, by first number, at most `limit`. */
  chunksAfter(executionId: string, afterNumber: number, limit: number): Promise<ChunkRow[]>;
  /** Every chunk of a job without its body, oldest first (first time, execution, first number). */
  jobChunkMeta(jobId: string): Promise<ChunkMeta[]>;
  /** Bodies of these chunks (any order). */
  chunksByKey(keys: ChunkMeta[]): Promise<ChunkRow[]>;
}

/** Chunks read per round trip while paging. */
const CHUNK_PAGE = 16;

/** The executions a batch of lines is for (to ask the store how far each is stored). */
export function executionIdsOf(lines: readonly LogLine[]): string[] {
  return [...new Set(lines.map((line) => line.executionId))];
}

/**
 * Lines to store, grouped into chunks per execution. Lines the store already holds (a batch
 * retried after a lost reply) are left out: `storedUpTo` has each execution's last stored number.
 */
export function chunksToAppend(lines: readonly LogLine[], storedUpTo: ReadonlyMap<string, number>): LogChunk[] {
  const byExecution = new Map<string, LogLine[]>();
  for (const line of lines) {
    if (line.number <= (storedUpTo.get(line.executionId) ?? 0)) continue;
    const list = byExecution.get(line.executionId) ?? [];
    list.push({ ...line, line: sanitizeLogText(line.line) });
    byExecution.set(line.executionId, list);
  }
  return [...byExecution.values()].flatMap((list) => encodeLogChunks(list.sort((a, b) => a.number - b.number)));
}

export async function listLines(q: LogChunkQueries, params: { executionId: string; afterNumber?: number; limit: number }): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  let after = params.afterNumber ?? 0;
  while (lines.length < params.limit) {
    const chunks = await q.chunksAfter(params.executionId, after, CHUNK_PAGE);
    for (const chunk of chunks) {
      for (const line of decodeLogChunk(chunk)) {
        if (line.number > after && lines.length < params.limit) lines.push(line);
      }
    }
    if (chunks.length < CHUNK_PAGE || lines.length === 0) break;
    after = lines[lines.length - 1].number;
  }
  return lines;
}

/**
 * A job's lines oldest first, chunk by chunk (lines of parallel executions interleave by chunk,
 * not by line). Without `q`, chunks before `offset` are skipped by their line counts, unread.
 */
export async function listJobLines(q: LogChunkQueries, params: { jobId: string; limit: number; offset?: number; q?: string }): Promise<LogLine[]> {
  const meta = await q.jobChunkMeta(params.jobId);
  let skip = params.offset ?? 0;
  let start = 0;
  if (!params.q) {
    while (start < meta.length && skip >= meta[start].lineCount) {
      skip -= meta[start].lineCount;
      start += 1;
    }
  }
  const needle = params.q?.toLowerCase();
  const lines: LogLine[] = [];
  for (let index = start; index < meta.length && lines.length < params.limit; index += CHUNK_PAGE) {
    const page = meta.slice(index, index + CHUNK_PAGE);
    const rows = await q.chunksByKey(page);
    const byKey = new Map(rows.map((row) => [`${row.executionId}:${row.firstNumber}`, row]));
    for (const key of page) {
      const row = byKey.get(`${key.executionId}:${key.firstNumber}`);
      if (!row) continue;
      for (const line of decodeLogChunk(row)) {
        if (needle !== undefined && !line.line.toLowerCase().includes(needle)) continue;
        if (skip > 0) {
          skip -= 1;
          continue;
        }
        if (lines.length < params.limit) lines.push(line);
      }
    }
  }
  return lines;
}
