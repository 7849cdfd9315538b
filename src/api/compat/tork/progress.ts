/**
 * Tork's `position` and `progress` of a job (tork.md §4.1, §8.2), derived from barge's tasks:
 *
 * - position: 0 before the job starts; then the 1-based index of the current top-level task, the
 *   first (in task order) that has not succeeded or been skipped; `taskCount + 1` once every task
 *   is done. For a job with a `needs` graph (barge's own jobs) that is the first unfinished task.
 * - progress: 100 when COMPLETED; otherwise `((position − 1) + p / 100) / taskCount × 100`,
 *   rounded to two decimals, where p is the current task's own progress while it runs: the
 *   script's reported progress for a leaf, the share of settled children for parallel and each.
 *   A failed or cancelled job keeps the progress of the tasks that completed.
 */
import type { ExecutionRow, JobRow, TaskRow } from '../../../core/model.js';
import { torkJobState } from './states.js';

const DONE = new Set(['SUCCEEDED', 'SKIPPED']);

export function jobPosition(job: JobRow, tasks: readonly TaskRow[]): number {
  const state = torkJobState(job.state);
  if (state === 'PENDING') return 0;
  if (state === 'COMPLETED') return job.taskCount + 1;
  const ordered = [...tasks].sort((a, b) => a.position - b.position);
  const current = ordered.findIndex((task) => !DONE.has(task.state));
  return current === -1 ? job.taskCount + 1 : current + 1;
}

/** The running share (0..100) of the current task, from its latest top-level execution. */
function currentTaskShare(tasks: readonly TaskRow[], executions: readonly ExecutionRow[], position: number): number {
  const task = [...tasks].sort((a, b) => a.position - b.position)[position - 1];
  if (!task) return 0;
  const latest = executions
    .filter((e) => e.taskId === task.id && e.parentId === null)
    .reduce<ExecutionRow | undefined>((best, e) => (!best || e.attempt > best.attempt ? e : best), undefined);
  if (!latest || (latest.state !== 'RUNNING' && latest.state !== 'STARTING')) return 0;
  if (latest.childCount > 0) return (latest.childDone / latest.childCount) * 100;
  return latest.progress;
}

export function jobProgress(job: JobRow, tasks: readonly TaskRow[], executions: readonly ExecutionRow[] = []): number {
  const state = torkJobState(job.state);
  if (state === 'COMPLETED') return 100;
  if (state === 'PENDING' || job.taskCount === 0) return 0;
  const position = jobPosition(job, tasks);
  const running = state === 'RUNNING' || state === 'SCHEDULED';
  const share = running ? currentTaskShare(tasks, executions, position) : 0;
  return roundTwo((((position - 1) + share / 100) / job.taskCount) * 100);
}

function roundTwo(value: number): number {
  return Math.round(value * 100) / 100;
}
