/**
 * How barge's ends of tasks and jobs look through Tork (tork.md §8.2; Tork's handlers
 * `error.go`, `job.go` `failJob`, the worker's `doRunTask` and the shell runtime):
 *
 * - When a child of `parallel`/`each` fails, barge fails the composite with the child's name
 *   and error (reason `child failed`). Tork fails the job and cancels every active task, the
 *   composite among them: Tork shows it CANCELLED, with no error and no `failedAt`.
 * - A task stopped by its timeout carries Go's `context deadline exceeded`.
 * - A task feature the runtime refuses reads as Tork's shell runtime words it
 *   (`mounts are not supported on shell runtime`).
 * - Tork hands a task's error up unchanged: a sub-job task and a failed job carry the error of
 *   the task whose failure ended them, not barge's `<task name>: <error>` chain.
 */
import type { ExecutionRow, JobRow } from '../../../core/model.js';
import type { Queries } from '../../../store/store.js';
import { endStamp, torkTaskState, type EndStamp, type TorkTaskState } from './states.js';

export interface TaskOutcome {
  state: TorkTaskState;
  end: EndStamp;
  error?: string;
}

/** Go's `context.DeadlineExceeded`, the error of a task whose timeout ran out. */
export const DEADLINE_EXCEEDED = 'context deadline exceeded';

/** barge's refusal (`cmd is not supported by the shell runtime`) in Tork's words. */
function refusalInTorkWords(error: string): string {
  return error.replace(/ (is|are) not supported by the (\S+) runtime$/, ' $1 not supported on $2 runtime');
}

/**
 * An execution's state, end timestamp and error as Tork shows them. `subjobError` is the Tork
 * error of the sub-job a failed `subjob` task waited for, when the caller looked it up.
 */
export function taskOutcome(execution: ExecutionRow, subjobError?: string): TaskOutcome {
  if (execution.state === 'FAILED' && execution.reason === 'child failed') return { state: 'CANCELLED', end: null };
  const state = torkTaskState(execution.state);
  const end = endStamp(execution.state);
  if (execution.state !== 'FAILED') return { state, end };
  const reason = execution.reason ?? '';
  let error = execution.error ?? undefined;
  if (reason === 'timeout') error = DEADLINE_EXCEEDED;
  else if (reason.startsWith('unsupported: ') && error) error = refusalInTorkWords(error);
  else if (reason === 'subjob' && subjobError) error = subjobError;
  return { state, end, error };
}

/**
 * The execution whose failure ended a failed job: the last to fail of those that failed on their
 * own (not a composite failed by its child). Earlier attempts that a retry replaced finished
 * earlier, so the last one is the attempt that used up the retries.
 */
export function failureCause(executions: readonly ExecutionRow[]): ExecutionRow | undefined {
  let cause: ExecutionRow | undefined;
  for (const execution of executions) {
    if (execution.state !== 'FAILED' || execution.reason === 'child failed') continue;
    if (!cause || (execution.completedAt ?? '') > (cause.completedAt ?? '')) cause = execution;
  }
  return cause;
}

/** How deep sub-jobs are followed for an error: beyond this barge's own text is shown. */
const MAX_SUBJOB_DEPTH = 8;

/**
 * Tork's error of a failed job (undefined for any other state): its cause's error, followed into
 * a failed sub-job; barge's own text when no task failed (an `output` that did not evaluate).
 */
export async function torkJobError(store: Queries, job: JobRow, depth = 0): Promise<string | undefined> {
  if (job.state !== 'FAILED') return undefined;
  const cause = failureCause(await store.executionList({ jobId: job.id, states: ['FAILED'], limit: 10_000 }));
  return jobErrorFrom(job, cause, cause && (await subjobError(store, cause, depth)));
}

/** The same from a job's executions already at hand, with the Tork errors of its failed sub-jobs. */
export function torkJobErrorOf(job: JobRow, executions: readonly ExecutionRow[], subjobErrors: ReadonlyMap<string, string>): string | undefined {
  if (job.state !== 'FAILED') return undefined;
  const cause = failureCause(executions);
  return jobErrorFrom(job, cause, cause && subjobErrors.get(cause.id));
}

function jobErrorFrom(job: JobRow, cause: ExecutionRow | undefined, subjobError: string | undefined): string | undefined {
  if (!cause) return job.error ?? undefined;
  return taskOutcome(cause, subjobError).error ?? job.error ?? undefined;
}

/** The Tork error of the sub-job a failed `subjob` execution waited for. */
export async function subjobError(store: Queries, execution: ExecutionRow, depth = 0): Promise<string | undefined> {
  if (execution.kind !== 'subjob' || execution.state !== 'FAILED' || execution.reason !== 'subjob' || depth >= MAX_SUBJOB_DEPTH) return undefined;
  const [sub] = await store.jobListByParentExecution([execution.id]);
  return sub ? torkJobError(store, sub, depth + 1) : undefined;
}
