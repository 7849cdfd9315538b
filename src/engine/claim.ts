/**
 * Choosing which runnable executions a worker gets. The store hands over each owner's best few
 * candidates (highest priority, then oldest); the rule that decides among them lives here:
 * highest priority first, then fair between owners (round-robin by each owner's rank, so one
 * owner's 100,000-item array cannot starve another owner's single task), then oldest first, and
 * only what fits in the worker's free cpus and memory.
 */
import type { ExecutionRow } from '../core/model.js';

export interface Capacity {
  cpus: number;
  memoryMb: number;
}

export function chooseFair(candidates: ExecutionRow[], free: Capacity, max: number): ExecutionRow[] {
  const rankByOwner = new Map<string, number>();
  const byPriorityThenAge = [...candidates].sort(
    (a, b) => b.priority - a.priority || (a.seq ?? 0) - (b.seq ?? 0),
  );
  const ranked = byPriorityThenAge.map((execution) => {
    const rank = rankByOwner.get(execution.owner) ?? 0;
    rankByOwner.set(execution.owner, rank + 1);
    return { execution, rank };
  });
  ranked.sort(
    (a, b) =>
      b.execution.priority - a.execution.priority ||
      a.rank - b.rank ||
      (a.execution.seq ?? 0) - (b.execution.seq ?? 0),
  );
  const chosen: ExecutionRow[] = [];
  let { cpus, memoryMb } = free;
  for (const { execution } of ranked) {
    if (chosen.length >= max) break;
    if (execution.cpus > cpus + 1e-9 || execution.memoryMb > memoryMb) continue;
    chosen.push(execution);
    cpus -= execution.cpus;
    memoryMb -= execution.memoryMb;
  }
  return chosen;
}
