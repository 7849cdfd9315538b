/**
 * What a create or an update does to a job record (reference §6, and the reference collector's
 * store): creates are idempotent and never move a job backwards; an update of an unknown job makes
 * a placeholder (a lost create must not lose the run) that a late create completes; scalar fields
 * overwrite when given, `benchmark_results` replaces, `metadata` and `artifacts` merge shallowly;
 * an update adds an event only when (status, stage, message) changes. Pure functions: the engine's
 * OutsideJobs service runs them inside its transaction.
 */
import type { Json, OutsideJobRow, State } from '../../../core/model.js';
import type { OutsideChange, OutsideJob } from '../../../engine/outside-jobs.js';
import { bargeStateOf } from './states.js';
import type { CreatePayload, JsonObject, SrtRecord, UpdatePayload } from './wire.js';

/** The origin of the barge jobs this face records. */
export const SRT_ORIGIN = 'srtslurm';

/** The srtslurm record stored with an outside job (written only by this module). */
export function recordOf(row: OutsideJobRow): SrtRecord {
  return row.record as unknown as SrtRecord;
}

/** A create: a new job with its `submitted` event, or the existing one completed where it lacks identity. */
export function applyCreate(payload: CreatePayload, current: OutsideJob | undefined, now: string): OutsideChange {
  if (current) return changeOf(backfilled(recordOf(current.row), payload), current, now, []);
  const record: SrtRecord = {
    job_name: payload.job_name,
    status: 'submitted',
    stage: null,
    cluster: payload.cluster,
    recipe: payload.recipe,
    message: null,
    submitted_at: payload.submitted_at,
    updated_at: now,
    started_at: null,
    completed_at: null,
    exit_code: null,
    logs_url: null,
    benchmark_results: null,
    artifacts: null,
    metadata: payload.metadata,
    placeholder: false,
    last_event: ['submitted', null, null],
  };
  return changeOf(record, undefined, now, [eventOf(record, payload.submitted_at, now)]);
}

/**
 * A late create fills what a placeholder could not know: the name (unless a report named it), the
 * cluster and recipe when unknown, and the submit time when it is earlier than the placeholder's
 * (its start). Status and events stay; metadata already reported wins over the create's.
 */
function backfilled(record: SrtRecord, payload: CreatePayload): SrtRecord {
  const next = { ...record };
  if (record.placeholder) {
    if (record.job_name === placeholderName(payload.job_id)) next.job_name = payload.job_name;
    if (payload.submitted_at < record.submitted_at) next.submitted_at = payload.submitted_at;
  }
  next.cluster ??= payload.cluster;
  next.recipe ??= payload.recipe;
  if (payload.metadata) next.metadata = { ...payload.metadata, ...(record.metadata ?? {}) };
  return next;
}

export function applyUpdate(externalId: string, payload: UpdatePayload, current: OutsideJob | undefined, now: string): OutsideChange {
  const updatedAt = payload.updated_at || now;
  const before = current ? recordOf(current.row) : placeholder(externalId, payload, updatedAt);
  const record: SrtRecord = { ...before, status: payload.status, updated_at: updatedAt };
  for (const field of ['stage', 'message', 'started_at', 'completed_at', 'exit_code', 'logs_url', 'benchmark_results'] as const) {
    if (payload[field] !== null) (record as unknown as Record<string, unknown>)[field] = payload[field];
  }
  if (payload.metadata) {
    record.metadata = { ...(record.metadata ?? {}), ...payload.metadata };
    if (record.placeholder) named(record, externalId, payload.metadata);
  }
  if (payload.artifacts) record.artifacts = { ...(record.artifacts ?? {}), ...payload.artifacts };
  const triple: SrtRecord['last_event'] = [record.status, record.stage, record.message];
  const changed = JSON.stringify(triple) !== JSON.stringify(before.last_event);
  record.last_event = triple;
  return changeOf(record, current, now, changed ? [eventOf(record, updatedAt, now)] : []);
}

/** An update's job whose create never arrived: named `job-<id>` unless the report's metadata names it. */
function placeholder(externalId: string, payload: UpdatePayload, updatedAt: string): SrtRecord {
  const record: SrtRecord = {
    job_name: placeholderName(externalId),
    status: payload.status,
    stage: null,
    cluster: null,
    recipe: null,
    message: null,
    submitted_at: payload.started_at ?? updatedAt,
    updated_at: updatedAt,
    started_at: null,
    completed_at: null,
    exit_code: null,
    logs_url: null,
    benchmark_results: null,
    artifacts: null,
    metadata: null,
    placeholder: true,
    last_event: null,
  };
  return record;
}

/** Newer reporters repeat `job_name` and `cluster` in their started report's metadata. */
function named(record: SrtRecord, externalId: string, metadata: JsonObject): void {
  if (record.job_name === placeholderName(externalId) && typeof metadata.job_name === 'string') record.job_name = metadata.job_name;
  if (record.cluster === null && typeof metadata.cluster === 'string') record.cluster = metadata.cluster;
}

function placeholderName(externalId: string): string {
  return `job-${externalId}`;
}

function eventOf(record: SrtRecord, createdAt: string, now: string): OutsideChange['events'][number] {
  return {
    at: isoOrNull(createdAt) ?? now,
    state: record.status,
    stage: record.stage,
    message: record.message,
    data: { created_at: createdAt },
  };
}

/** The barge side of a record: the mapped state, its times (when the outside ones parse) and the error. */
function changeOf(record: SrtRecord, current: OutsideJob | undefined, now: string, events: OutsideChange['events']): OutsideChange {
  const state: State = bargeStateOf(record.status);
  const begun = state !== 'SUBMITTED';
  const ended = state === 'SUCCEEDED' || state === 'FAILED';
  const endedAt = ended ? (isoOrNull(record.completed_at) ?? current?.job.completedAt ?? current?.job.failedAt ?? now) : null;
  return {
    status: record.status,
    cluster: record.cluster,
    submittedAt: record.submitted_at,
    record: record as unknown as { [key: string]: Json },
    job: {
      name: record.job_name,
      state,
      metadata: record.metadata ?? {},
      progress: state === 'SUCCEEDED' ? 100 : 0,
      startedAt: begun ? (isoOrNull(record.started_at) ?? current?.job.startedAt ?? now) : null,
      completedAt: state === 'SUCCEEDED' ? endedAt : null,
      failedAt: state === 'FAILED' ? endedAt : null,
      error: state === 'FAILED' ? (record.message ?? (record.status === 'timeout' ? 'timeout' : null)) : null,
    },
    events,
  };
}

/** An outside timestamp as barge's ISO form, or null when it does not parse (it is still kept verbatim). */
function isoOrNull(value: string | null): string | null {
  if (value === null) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}
