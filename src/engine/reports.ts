/**
 * Status reports: a job tells srtslurm-style collectors (a job spec's `reporting.status`, and the
 * server's `--status-endpoint`s) about itself, as srtctl's StatusReporter does: a POST of the job
 * record when it is submitted, then a PUT at each stage change (a top-level task starts running,
 * the job ends). Rows go to the outbox in the transaction of the change; the dispatcher delivers
 * them later, one at a time per job and collector so a retried update never lands after a newer
 * one, and a collector that fails or hangs never blocks or fails the job.
 *
 * Vocabulary (srtslurm's statuses and stages are enums a strict collector checks): a running task
 * is status `benchmark` ("the work is running") with the task's name as `stage` when it is one of
 * srtslurm's stages, else stage `benchmark`, the task named in `message`; the end is `completed`,
 * or `failed` (cancelled too), at stage `cleanup`, with the exit code when one is known.
 */
import type { ExecutionRow, JobRow, Json, OutboxRow } from '../core/model.js';

export const REPORT_ATTEMPTS = 4;

const STAGES = new Set(['starting', 'head_infrastructure', 'preflight', 'workers', 'frontend', 'benchmark', 'cleanup']);

export interface ReportSettings {
  /** Collectors every job reports to. */
  endpoints: readonly string[];
  /** Where barge's API is reachable, for `logs_url`. (Default: no logs_url) */
  publicUrl?: string;
}

/** The job's collectors and the server's, merged as srtctl merges them: trailing `/` stripped, duplicates dropped. */
export function reportEndpoints(job: JobRow, settings: ReportSettings): string[] {
  const status = job.spec.reporting?.status;
  const all = [...settings.endpoints, ...(status?.endpoint ? [status.endpoint] : []), ...(status?.endpoints ?? [])];
  return [...new Set(all.map((url) => url.replace(/\/+$/, '')).filter(Boolean))];
}

export type ReportEvent = { kind: 'created' } | { kind: 'running'; execution: ExecutionRow } | { kind: 'ended'; exitCode: number | null };

/** The outbox rows that report `event` of `job` to every collector (none when it has none). */
export function reportRows(job: JobRow, event: ReportEvent, settings: ReportSettings, now: string): OutboxRow[] {
  const endpoints = reportEndpoints(job, settings);
  if (endpoints.length === 0) return [];
  const tokenSecret = job.spec.reporting?.status?.token_secret;
  const token = tokenSecret === undefined ? undefined : job.secrets[tokenSecret];
  const create = event.kind === 'created';
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const body = create ? createBody(job) : updateBody(job, event, settings, now);
  return endpoints.map((endpoint) => ({
    kind: 'report',
    method: create ? 'POST' : 'PUT',
    url: create ? `${endpoint}/api/jobs` : `${endpoint}/api/jobs/${job.id}`,
    headers,
    body,
    attempts: 0,
    maxAttempts: REPORT_ATTEMPTS,
    nextAt: now,
    createdAt: now,
    lastError: null,
    status: 'pending',
    orderingKey: `report ${endpoint} ${job.id}`,
  }));
}

function createBody(job: JobRow): Json {
  return {
    job_id: job.id,
    job_name: job.name,
    submitted_at: job.createdAt,
    metadata: { source: 'barge', origin: job.origin, ...(job.tags.length > 0 ? { tags: job.tags } : {}) },
  };
}

/** srtctl omits what it does not know rather than sending null; so does this. */
function updateBody(job: JobRow, event: Exclude<ReportEvent, { kind: 'created' }>, settings: ReportSettings, now: string): Json {
  const known: { [key: string]: Json } = {};
  if (settings.publicUrl) known.logs_url = `${settings.publicUrl.replace(/\/+$/, '')}/v1/jobs/${job.id}/logs`;
  if (job.startedAt) known.started_at = job.startedAt;
  if (event.kind === 'running') {
    const name = event.execution.name;
    return { status: 'benchmark', stage: STAGES.has(name) ? name : 'benchmark', message: `Running task ${name}`, updated_at: now, ...known };
  }
  const succeeded = job.state === 'SUCCEEDED';
  const exitCode = succeeded ? 0 : event.exitCode;
  if (exitCode !== null) known.exit_code = exitCode;
  return {
    status: succeeded ? 'completed' : 'failed',
    stage: 'cleanup',
    message: succeeded ? 'Job completed successfully' : (job.error ?? `Job ${job.state.toLowerCase()}`),
    completed_at: job.completedAt ?? job.failedAt ?? now,
    updated_at: now,
    ...known,
  };
}
