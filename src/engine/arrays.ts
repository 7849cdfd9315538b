/**
 * Big arrays. An each over a long list keeps the evaluated list once, in chunks of items, and
 * makes its items a window at a time: the first `window` at expansion, then one more each time
 * one settles. So a 1,000,000-item array costs its list (a few megabytes, or one row for a run of
 * integers such as `sequence(0, 1000000)`) plus a window of execution rows, never a million rows
 * written in one transaction; cancelling it touches only the window. The list, the parent's
 * `childCreated` cursor and the first window are written in the transaction that expands the
 * each (a submit's, for a first task), so after a crash the next settle carries on from the
 * cursor: nothing needs finishing in the background.
 */
import { integerRangeOf } from '../core/expr.js';
import type { ArrayItemsChunk, Queries } from '../store/store.js';

/** Items per stored chunk: reading the item to make next parses at most this many. */
export const ITEMS_PER_CHUNK = 1_000;
/** The chunk number of a list stored as a run of integers: item i is start + i × step. */
const RUN_CHUNK = -1;

interface IntegerRun {
  start: number;
  step: number;
}

/** What to store for a list: one row for a run of integers, otherwise chunks of items. */
export function storedChunks(list: readonly unknown[]): ArrayItemsChunk[] {
  const run = integerRun(list);
  if (run) return [{ chunk: RUN_CHUNK, items: JSON.stringify(run) }];
  const chunks: ArrayItemsChunk[] = [];
  for (let start = 0; start < list.length; start += ITEMS_PER_CHUNK) {
    chunks.push({ chunk: start / ITEMS_PER_CHUNK, items: JSON.stringify(list.slice(start, start + ITEMS_PER_CHUNK)) });
  }
  return chunks;
}

function integerRun(list: readonly unknown[]): IntegerRun | undefined {
  if (list.length < 2) return undefined;
  // A `sequence()` says its bounds: no need to read (and compute) a million items to find them.
  const range = integerRangeOf(list);
  if (range) return { start: range.start, step: range.step };
  const [start, second] = list;
  if (typeof start !== 'number' || typeof second !== 'number') return undefined;
  const step = second - start;
  for (let i = 0; i < list.length; i += 1) {
    const value = list[i];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value !== start + i * step) return undefined;
  }
  return { start, step };
}

/**
 * Reads items of stored lists, keeping the last few chunks read (a list never changes once
 * stored, so a cached chunk is never stale, in this process or any other).
 */
export class ArrayItems {
  /** Null under RUN_CHUNK: known not to be a run. */
  private readonly chunks = new Map<string, unknown[] | IntegerRun | null>();

  constructor(private readonly keep = 64) {}

  /** Items [first, first + count) of the list stored for this execution. */
  async read(tx: Queries, executionId: string, first: number, count: number): Promise<unknown[]> {
    const wanted: number[] = [];
    for (let chunk = Math.floor(first / ITEMS_PER_CHUNK); chunk * ITEMS_PER_CHUNK < first + count; chunk += 1) wanted.push(chunk);
    const runKey = `${executionId}:${RUN_CHUNK}`;
    const missing = [RUN_CHUNK, ...wanted].filter((chunk) => !this.chunks.has(`${executionId}:${chunk}`));
    if (!this.chunks.get(runKey) && missing.length > 0) {
      const rows = await tx.arrayItemsGet({ executionId, chunks: missing });
      for (const row of rows) this.remember(`${executionId}:${row.chunk}`, JSON.parse(row.items) as unknown[] | IntegerRun);
      if (!rows.some((row) => row.chunk === RUN_CHUNK)) this.remember(runKey, null);
    }
    const run = this.chunks.get(runKey);
    const items: unknown[] = [];
    for (let idx = first; idx < first + count; idx += 1) {
      if (run && !Array.isArray(run)) {
        items.push(run.start + idx * run.step);
        continue;
      }
      const chunk = this.chunks.get(`${executionId}:${Math.floor(idx / ITEMS_PER_CHUNK)}`);
      if (!Array.isArray(chunk)) throw new Error(`item ${idx} of the list of execution ${executionId} is not stored`);
      items.push(chunk[idx % ITEMS_PER_CHUNK]);
    }
    return items;
  }

  private remember(key: string, value: unknown[] | IntegerRun | null): void {
    this.chunks.delete(key);
    this.chunks.set(key, value);
    while (this.chunks.size > this.keep) this.chunks.delete(this.chunks.keys().next().value as string);
  }
}
