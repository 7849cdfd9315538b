/**
 * srtslurm's status and stage words (`srtctl.contract.enums`, with `timeout` and `preflight`), and
 * the one table from its statuses to barge's states. The status itself is kept verbatim beside the
 * barge state: `workers`, `frontend` and `benchmark` are all RUNNING to barge.
 */
import type { State } from '../../../core/model.js';

export const JOB_STATUSES = ['submitted', 'starting', 'workers', 'frontend', 'benchmark', 'completed', 'failed', 'timeout'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const JOB_STAGES = ['starting', 'head_infrastructure', 'preflight', 'workers', 'frontend', 'benchmark', 'cleanup'] as const;
export type JobStage = (typeof JOB_STAGES)[number];

const BARGE_STATE: Record<JobStatus, State> = {
  submitted: 'SUBMITTED',
  starting: 'STARTING',
  workers: 'RUNNING',
  frontend: 'RUNNING',
  benchmark: 'RUNNING',
  completed: 'SUCCEEDED',
  failed: 'FAILED',
  timeout: 'FAILED',
};

export function bargeStateOf(status: JobStatus): State {
  return BARGE_STATE[status];
}

export function isJobStatus(value: string): value is JobStatus {
  return (JOB_STATUSES as readonly string[]).includes(value);
}

export function isJobStage(value: string): value is JobStage {
  return (JOB_STAGES as readonly string[]).includes(value);
}
