/**
 * Webhook payloads for jobs submitted through the Tork API (tork.md §8.3, §8.4): job events carry
 * a JobSummary, task events a TaskSummary; a webhook's `if` sees `job` (and `task`) as Tork's Go
 * structs, with capitalised field names (`{{ job.State == 'COMPLETED' }}`) and every field present
 * with its zero value, as Go's structs have them. Delivery, retries and timeouts are the engine's
 * outbox dispatcher's.
 *
 * The renderer reads what a JobSummary needs (the owner's stored user, the job's tasks, Tork's
 * error of a failed job) in the engine's transaction, so a payload says what `GET /jobs` says.
 */
import type { ExecutionRow, JobRow, Json, UserRow } from '../../../core/model.js';
import { readJobFacts, type JobFactsRead } from './facts.js';
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

/** What the payloads read in the engine's transaction: the owner, and the job's summary facts. */
interface PayloadFacts extends JobFactsRead {
  owner?: UserRow;
}

function summary(job: JobRow, facts: PayloadFacts): WireObject {
  return jobSummaryView(job, { createdBy: userView(job.owner, facts.owner), ...facts });
}

/** A task's position is its top-level task's, children included (they share their parent's). */
function taskSummary(execution: ExecutionRow, facts: PayloadFacts): WireObject {
  const task = facts.tasks.find((t) => t.id === execution.taskId);
  return taskSummaryView(execution, task ? task.position + 1 : undefined);
}

/** The outbox stores plain JSON: the wire's omitted (undefined) members are dropped. */
function toJson(view: WireObject): Json {
  return JSON.parse(JSON.stringify(view)) as Json;
}

export const torkWebhookRenderer: WebhookRenderer = {
  async facts(tx, job) {
    const [owner, facts] = await Promise.all([tx.userGetByName(job.owner), readJobFacts(tx, job)]);
    return { owner, ...facts } satisfies PayloadFacts;
  },
  body(event, job, execution, facts) {
    const read = facts as PayloadFacts;
    if (event.startsWith('task.') && execution) return toJson(taskSummary(execution, read));
    return toJson(summary(job, read));
  },
  condition(job, execution, facts) {
    const read = facts as PayloadFacts;
    return {
      job: asGoStruct(summary(job, read), JOB_ZERO),
      task: execution ? asGoStruct(taskSummary(execution, read), TASK_ZERO) : null,
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
