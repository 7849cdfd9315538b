/**
 * Webhook payloads for jobs submitted through the Tork API (tork.md §8.3, §8.4): job events carry
 * a JobSummary, task events a TaskSummary; a webhook's `if` sees `job` (and `task`) as Tork's Go
 * structs, with capitalised field names (`{{ job.State == 'COMPLETED' }}`) and every field present
 * with its zero value, as Go's structs have them. Delivery, retries and timeouts are the engine's
 * outbox dispatcher's.
 *
 * The renderer sees only the job row and the execution, inside the engine's transaction: the
 * job's position is estimated from its stored progress (see progress.ts), and a task's position
 * is found by its top-level task's name.
 */
import type { ExecutionRow, JobRow, Json, UserRow } from '../../../core/model.js';
import { registerWebhookRenderer, type WebhookRenderer } from '../../../engine/webhooks.js';
import { jobSummaryView, taskSummaryView, userView } from './job-views.js';
import type { Wire, WireObject } from './wire.js';

export const TORK_ORIGIN = 'tork';

/** JSON keys whose Go field names are not just the key capitalised. */
const GO_NAMES: Record<string, string> = {
  id: 'ID',
  jobId: 'JobID',
  parentId: 'ParentID',
  nodeId: 'NodeID',
  cmd: 'CMD',
  gpus: 'GPUs',
  subjob: 'SubJob',
};

/** Go's zero values of the struct fields a condition may compare. */
const JOB_ZERO: WireObject = {
  ID: '', ParentID: '', Name: '', Description: '', Tags: [], State: '', CreatedAt: '', StartedAt: '', CompletedAt: '',
  FailedAt: '', Position: 0, Inputs: {}, TaskCount: 0, Output: '', Result: '', Error: '', Progress: 0,
};
const TASK_ZERO: WireObject = {
  ID: '', JobID: '', ParentID: '', Position: 0, Name: '', Description: '', State: '', CreatedAt: '', ScheduledAt: '',
  StartedAt: '', CompletedAt: '', FailedAt: '', Error: '', Result: '', Var: '', Progress: 0, Tags: [],
};

function goFieldName(key: string): string {
  return GO_NAMES[key] ?? key.charAt(0).toUpperCase() + key.slice(1);
}

/** A wire object with Go's field names, nested objects too (their keys stay as they are: maps). */
function asGoStruct(view: WireObject, zero: WireObject): Record<string, Wire> {
  const out: Record<string, Wire> = { ...(zero as Record<string, Wire>) };
  for (const [key, value] of Object.entries(view)) {
    if (value !== undefined) out[goFieldName(key)] = value;
  }
  return out;
}

/** The 1-based position of a top-level execution's task, found by name; undefined if ambiguous. */
function positionOf(job: JobRow, execution: ExecutionRow): number | undefined {
  if (execution.parentId !== null) return undefined;
  const matches = job.spec.tasks.flatMap((task, i) => (task.name === execution.name ? [i + 1] : []));
  return matches.length === 1 ? matches[0] : undefined;
}

/** The owner as Tork's webhooks carry `createdBy`: the stored user, with its id and createdAt. */
function summary(job: JobRow, owner?: UserRow): WireObject {
  return jobSummaryView(job, { createdBy: userView(job.owner, owner), tasks: null });
}

/** The outbox stores plain JSON: the wire's omitted (undefined) members are dropped. */
function toJson(view: WireObject): Json {
  return JSON.parse(JSON.stringify(view)) as Json;
}

export const torkWebhookRenderer: WebhookRenderer = {
  body(event, job, execution, owner) {
    if (event.startsWith('task.') && execution) return toJson(taskSummaryView(execution, positionOf(job, execution)));
    return toJson(summary(job, owner));
  },
  condition(job, execution) {
    return {
      job: asGoStruct(summary(job), JOB_ZERO),
      task: execution ? asGoStruct(taskSummaryView(execution, positionOf(job, execution)), TASK_ZERO) : null,
    };
  },
};

let registered = false;

/** Idempotent: every Tork plugin instance (tests build many apps) shares the one renderer. */
export function registerTorkWebhooks(): void {
  if (registered) return;
  registerWebhookRenderer(TORK_ORIGIN, torkWebhookRenderer);
  registered = true;
}
