/**
 * barge's states in SiliconCompiler's words, in one place (reference §5). A node is one barge
 * task; its latest execution tells where it is.
 */
import type { ExecutionRow, JobRow, State, TaskRow } from '../../../core/model.js';
import { isFinal } from '../../../core/states.js';

/** The node status of a task (reference §5.2); `recorded` is what the uploaded manifest said. */
export function nodeStatus(task: TaskRow, execution: ExecutionRow | undefined, recorded: string | undefined): string {
  const state: State = execution?.state ?? task.state;
  switch (state) {
    case 'SUBMITTED':
    case 'PENDING':
      return recorded !== undefined && UPLOADED_AS_DONE.has(recorded) ? 'uploaded' : 'pending';
    case 'RUNNABLE':
      // Waiting for a node with room: what sc-server calls queued in a cluster scheduler.
      return 'queued';
    case 'STARTING':
    case 'RUNNING':
      return 'running';
    case 'SUCCEEDED':
      return 'success';
    case 'FAILED':
      return execution?.reason === 'timeout' ? 'timeout' : 'error';
    case 'SKIPPED':
      return 'skipped';
    case 'CANCELLED':
      // SiliconCompiler has no cancelled node: one stopped while running ended in error; one that
      // never started is still pending.
      return execution?.startedAt ? 'error' : 'pending';
  }
}

const UPLOADED_AS_DONE = new Set(['success', 'error', 'skipped', 'timeout']);

/**
 * The job status of `check_progress` (reference §5.1): `running` while barge's job is open,
 * `canceled` for a cancelled job, `completed` otherwise (sc-server never sends `failed`: a job with
 * failed nodes completes, and the client reads each node's status).
 */
export function jobStatus(job: JobRow): 'running' | 'canceled' | 'completed' {
  if (!isFinal(job.state)) return 'running';
  return job.state === 'CANCELLED' ? 'canceled' : 'completed';
}

/** `H:MM:SS` from whole seconds, as sc-server's `__format_elapsed`: 125 s → `0:02:05`. */
export function formatElapsed(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  return `${hours}:${String(minutes).padStart(2, '0')}:${String(rest).padStart(2, '0')}`;
}

/** A node's `elapsed_time`: end − start once finished, now − start while running, none before. */
export function elapsedOf(execution: ExecutionRow | undefined, now: Date): string | undefined {
  if (!execution?.startedAt) return undefined;
  const end = execution.completedAt ? Date.parse(execution.completedAt) : now.getTime();
  return formatElapsed((end - Date.parse(execution.startedAt)) / 1000);
}
