/**
 * What a JobSummary needs beyond the job row, read from the store: the job's tasks (position),
 * the current task's executions while it runs (its share of the progress) and Tork's error when
 * it failed. One definition for `GET /jobs` items and for webhook payloads, which read it in the
 * engine's transaction.
 */
import type { ExecutionRow, JobRow, TaskRow } from '../../../core/model.js';
import type { Queries } from '../../../store/store.js';
import { torkJobError } from './outcomes.js';
import { jobPosition } from './progress.js';
import { torkJobState } from './states.js';

export interface JobFactsRead {
  tasks: TaskRow[];
  executions: ExecutionRow[];
  error?: string;
}

export async function readJobFacts(store: Queries, job: JobRow): Promise<JobFactsRead> {
  const tasks = await store.taskList(job.id);
  const running = ['RUNNING', 'SCHEDULED'].includes(torkJobState(job.state));
  const current = running ? [...tasks].sort((a, b) => a.position - b.position)[jobPosition(job, tasks) - 1] : undefined;
  const [executions, error] = await Promise.all([
    current ? store.executionList({ jobId: job.id, taskId: current.id, parentId: null, limit: 1_000 }) : [],
    torkJobError(store, job),
  ]);
  return { tasks, executions, error };
}
