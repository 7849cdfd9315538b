/**
 * srtslurm's wire shapes (reference §3, §4): the request models read as Pydantic v2 reads them
 * (strings stay strings, `exit_code` takes integers and integer-valued numbers or numeric strings,
 * absent or null optional fields are "not given", unknown keys ignored), Pydantic-style error
 * lists for the 422s, and the record and its views (JobSummary, JobDetail, JobEventRecord) with
 * every key present.
 */
import type { Json } from '../../../core/model.js';
import type { OutsideEventRow } from '../../../store/store.js';
import { JOB_STAGES, JOB_STATUSES, isJobStage, isJobStatus, type JobStage, type JobStatus } from './states.js';

/** An answer in srtslurm's error shape: `{"detail": "…"}`, or `{"detail": [errors…]}` for validation. */
export class SrtError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string | FieldError[],
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof detail === 'string' ? detail : 'validation failed');
    this.name = 'SrtError';
  }
}

/** One Pydantic v2 error object, as FastAPI lists them. */
export interface FieldError {
  type: string;
  loc: Array<string | number>;
  msg: string;
  input: unknown;
}

export type JsonObject = { [key: string]: Json };

export interface CreatePayload {
  job_id: string;
  job_name: string;
  submitted_at: string;
  cluster: string | null;
  recipe: string | null;
  metadata: JsonObject | null;
}

export interface UpdatePayload {
  status: JobStatus;
  /** null: not sent (spec v1 lets the server default it to now). */
  updated_at: string | null;
  stage: JobStage | null;
  message: string | null;
  started_at: string | null;
  completed_at: string | null;
  exit_code: number | null;
  logs_url: string | null;
  benchmark_results: JsonObject | null;
  metadata: JsonObject | null;
  artifacts: JsonObject | null;
}

/** What is stored per job, in srtslurm's words (JobDetail without `job_id` and `events`). */
export interface SrtRecord {
  job_name: string;
  status: JobStatus;
  stage: JobStage | null;
  cluster: string | null;
  recipe: string | null;
  message: string | null;
  submitted_at: string;
  updated_at: string;
  started_at: string | null;
  completed_at: string | null;
  exit_code: number | null;
  logs_url: string | null;
  benchmark_results: JsonObject | null;
  artifacts: JsonObject | null;
  metadata: JsonObject | null;
  /** Created by an update whose create never arrived: a late create may complete it. */
  placeholder: boolean;
  /** (status, stage, message) of the newest event: an update adds one only when this changes. */
  last_event: [string, string | null, string | null] | null;
}

/** The body as a JSON object, or srtslurm's 400. An empty body is an empty object (its 422 names the fields). */
export function parseBody(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SrtError(400, `Body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SrtError(400, 'Body must be a JSON object');
  return value as Record<string, unknown>;
}

class Reader {
  readonly errors: FieldError[] = [];
  constructor(private readonly body: Record<string, unknown>) {}

  required(field: string): string {
    const value = this.body[field];
    if (value === undefined) this.errors.push({ type: 'missing', loc: ['body', field], msg: 'Field required', input: this.body });
    else if (typeof value !== 'string') this.errors.push(stringError(field, value));
    return typeof value === 'string' ? value : '';
  }

  text(field: string): string | null {
    const value = this.body[field];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') {
      this.errors.push(stringError(field, value));
      return null;
    }
    return value;
  }

  object(field: string): JsonObject | null {
    const value = this.body[field];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.errors.push({ type: 'dict_type', loc: ['body', field], msg: 'Input should be a valid dictionary', input: value });
      return null;
    }
    return value as JsonObject;
  }

  /** Pydantic's lax int: integers, integer-valued floats, and strings that spell an integer. */
  integer(field: string): number | null {
    const value = this.body[field];
    if (value === undefined || value === null) return null;
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value)) return Number(value);
    const fraction = typeof value === 'number' && Number.isFinite(value);
    this.errors.push({
      type: fraction ? 'int_from_float' : typeof value === 'string' ? 'int_parsing' : 'int_type',
      loc: ['body', field],
      msg: fraction
        ? 'Input should be a valid integer, got a number with a fractional part'
        : typeof value === 'string'
          ? 'Input should be a valid integer, unable to parse string as an integer'
          : 'Input should be a valid integer',
      input: value,
    });
    return null;
  }

  done(): void {
    if (this.errors.length > 0) throw new SrtError(422, this.errors);
  }
}

function stringError(field: string, value: unknown): FieldError {
  return { type: 'string_type', loc: ['body', field], msg: 'Input should be a valid string', input: value };
}

export function readCreate(body: Record<string, unknown>): CreatePayload {
  const read = new Reader(body);
  const payload: CreatePayload = {
    job_id: read.required('job_id'),
    job_name: read.required('job_name'),
    submitted_at: read.required('submitted_at'),
    cluster: read.text('cluster'),
    recipe: read.text('recipe'),
    metadata: read.object('metadata'),
  };
  read.done();
  if (payload.job_id === '' || payload.job_id.includes('/')) {
    throw new SrtError(422, [{ type: 'value_error', loc: ['body', 'job_id'], msg: 'job_id must be non-empty and contain no "/"', input: payload.job_id }]);
  }
  return payload;
}

export function readUpdate(body: Record<string, unknown>): UpdatePayload {
  const read = new Reader(body);
  const status = read.required('status');
  const payload = {
    updated_at: read.text('updated_at'),
    stage: read.text('stage'),
    message: read.text('message'),
    started_at: read.text('started_at'),
    completed_at: read.text('completed_at'),
    exit_code: read.integer('exit_code'),
    logs_url: read.text('logs_url'),
    benchmark_results: read.object('benchmark_results'),
    metadata: read.object('metadata'),
    artifacts: read.object('artifacts'),
  };
  read.done();
  if (!isJobStatus(status)) throw new SrtError(422, `Unknown status '${status}'; expected one of: ${JOB_STATUSES.join(', ')}`);
  if (payload.stage !== null && !isJobStage(payload.stage)) {
    throw new SrtError(422, `Unknown stage '${payload.stage}'; expected one of: ${JOB_STAGES.join(', ')}`);
  }
  return { ...payload, status, stage: payload.stage };
}

export function summaryOf(jobId: string, record: SrtRecord): JsonObject {
  return {
    job_id: jobId,
    job_name: record.job_name,
    status: record.status,
    stage: record.stage,
    cluster: record.cluster,
    submitted_at: record.submitted_at,
    updated_at: record.updated_at,
    message: record.message,
    completed_at: record.completed_at,
    exit_code: record.exit_code,
  };
}

export function detailOf(jobId: string, record: SrtRecord, events: OutsideEventRow[]): JsonObject {
  return {
    job_id: jobId,
    job_name: record.job_name,
    status: record.status,
    stage: record.stage,
    cluster: record.cluster,
    recipe: record.recipe,
    message: record.message,
    submitted_at: record.submitted_at,
    started_at: record.started_at,
    completed_at: record.completed_at,
    updated_at: record.updated_at,
    exit_code: record.exit_code,
    logs_url: record.logs_url,
    benchmark_results: record.benchmark_results,
    artifacts: record.artifacts,
    metadata: record.metadata,
    events: events.map(eventRecordOf),
  };
}

/** JobEventRecord: `created_at` is the time the report gave (kept verbatim in the event's data). */
export function eventRecordOf(event: OutsideEventRow): JsonObject {
  const given = event.data?.created_at;
  return {
    id: event.id ?? 0,
    job_id: event.externalId,
    status: event.state,
    stage: event.stage,
    message: event.message,
    created_at: typeof given === 'string' ? given : event.at,
  };
}
