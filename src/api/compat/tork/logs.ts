/**
 * Logs as Tork's TaskLogParts (tork.md §3.4, §4.5). barge stores numbered lines per execution;
 * each line is presented as one part (`contents` = the line and its newline, `number` = the
 * line's number, `id` = a stable 32-hex digest of execution id and number), so Tork's paging
 * counts lines. tork-web splits each part into lines and reverses them, which shows one line.
 *
 * Order is newest first: a task's log by number descending; a job's log by time descending
 * (Tork orders by task position, then part number, descending, which is the same for a sequence
 * of tasks; parallel children interleave by time here). Without `q` a page is read straight from
 * the store; with `q` the log is read (up to SEARCH_SCAN_LIMIT lines) and matched word by word.
 * As in Tork, a job log's `totalItems` counts every line of the job and ignores `q`.
 */
import { createHash } from 'node:crypto';
import type { ExecutionRow, LogLine } from '../../../core/model.js';
import type { Queries } from '../../../store/store.js';
import { matchesWords, page, type Paging } from './query.js';
import type { Redactor } from './redact.js';
import { goTime, type WireObject } from './wire.js';

/** The most lines a search reads from one task or job log. */
export const SEARCH_SCAN_LIMIT = 100_000;

export type LogPage = ReturnType<typeof page<WireObject>>;

function partId(line: LogLine): string {
  return createHash('sha256').update(`${line.executionId}:${line.number}`).digest('hex').slice(0, 32);
}

function partView(line: LogLine, redactor: Redactor): WireObject {
  return {
    id: partId(line),
    number: line.number,
    taskId: line.executionId,
    contents: `${redactor.text(line.line)}\n`,
    createdAt: goTime(line.at),
  };
}

/** A window [from, to) of a newest-first list of `total` items that the store keeps oldest first. */
function newestFirstWindow(total: number, paging: Paging): { ascOffset: number; count: number } {
  const end = Math.max(total - paging.offset, 0);
  const start = Math.max(end - paging.size, 0);
  return { ascOffset: start, count: end - start };
}

function searched(lines: LogLine[], q: string, paging: Paging): LogLine[] {
  return lines
    .filter((line) => matchesWords(line.line, q))
    .reverse()
    .slice(paging.offset, paging.offset + paging.size);
}

export async function taskLogPage(store: Queries, execution: ExecutionRow, paging: Paging, q: string, redactor: Redactor): Promise<LogPage> {
  if (q.trim() !== '') {
    const all = await store.logList({ executionId: execution.id, limit: SEARCH_SCAN_LIMIT });
    const matching = all.filter((line) => matchesWords(line.line, q));
    const items = searched(all, q, paging).map((line) => partView(line, redactor));
    return page(items, paging, matching.length);
  }
  // Line numbers run 1…total without gaps (the worker numbers them), so a page is a number range.
  const total = await store.logCount({ executionId: execution.id });
  const { ascOffset, count } = newestFirstWindow(total, paging);
  const lines = count > 0 ? await store.logList({ executionId: execution.id, afterNumber: ascOffset, limit: count }) : [];
  return page(lines.reverse().map((line) => partView(line, redactor)), paging, total);
}

export async function jobLogPage(store: Queries, jobId: string, paging: Paging, q: string, redactor: Redactor): Promise<LogPage> {
  const total = await store.logCount({ jobId });
  if (q.trim() !== '') {
    const all = await store.logListByJob({ jobId, limit: SEARCH_SCAN_LIMIT });
    return page(searched(all, q, paging).map((line) => partView(line, redactor)), paging, total);
  }
  const { ascOffset, count } = newestFirstWindow(total, paging);
  const lines = count > 0 ? await store.logListByJob({ jobId, offset: ascOffset, limit: count }) : [];
  return page(lines.reverse().map((line) => partView(line, redactor)), paging, total);
}
