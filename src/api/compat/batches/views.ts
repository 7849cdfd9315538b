/**
 * The Batches wire shapes (batches.md §3, §4.3): what barge's rows look like to the ET Engine SDK.
 * The SDK builds `batch_tool`, `filesystem_list` items, tools and the status by keyword expansion,
 * so those carry exactly the documented keys, never more.
 */
import type { ExecutionRow, FilesystemRow, JobRow, Json, State, ToolRow } from '../../../core/model.js';

/** What a batch keeps in its job's metadata (`metadata.batch`): the tool and hardware it ran with. */
export interface BatchFacts {
  toolId: string;
  toolName: string;
  toolDescription: string;
  nJobs: number;
  cpu: number;
  memory: number;
  filesystems: Array<{ id: string; name: string }>;
}

export type Wire = Record<string, Json>;

export function toolView(tool: Pick<ToolRow, 'id' | 'name' | 'description'>): Wire {
  return { tool_id: tool.id, tool_name: tool.name, tool_description: tool.description };
}

/** `GET /tools/<id>` answers the tool as-is (§4.3): the SDK's three keys plus what it runs. */
export function toolDetailView(tool: ToolRow): Wire {
  return { ...toolView(tool), tool_owner: tool.owner, tool_kind: tool.program?.kind ?? null, created_at: tool.createdAt };
}

export function filesystemView(filesystem: Pick<FilesystemRow, 'id' | 'name'>): Wire {
  return { filesystem_id: filesystem.id, filesystem_name: filesystem.name };
}

export function batchFacts(job: JobRow): BatchFacts | null {
  const facts = job.metadata.batch;
  if (job.origin !== 'batches' || typeof facts !== 'object' || facts === null || Array.isArray(facts)) return null;
  return facts as unknown as BatchFacts;
}

/** Gen (a)'s hardware object, `{filesystems, memory, cpu}`. */
function hardwareA(facts: BatchFacts): Wire {
  return { filesystems: facts.filesystems.map((fs) => fs.id), memory: facts.memory, cpu: facts.cpu };
}

/** A Batch (§3.1), with gen (a)'s `tool_id` and `hardware` alongside (§9 #2; the SDK ignores them). */
export function batchView(job: JobRow, facts: BatchFacts): Wire {
  return {
    batch_id: job.id,
    batch_tool: toolView({ id: facts.toolId, name: facts.toolName, description: facts.toolDescription }),
    n_jobs: facts.nJobs,
    batch_hardware: {
      filesystem_list: facts.filesystems.map((fs) => filesystemView(fs)),
      cpu: facts.cpu,
      memory: facts.memory,
    },
    tool_id: facts.toolId,
    hardware: hardwareA(facts),
  };
}

export const STATUS_KEYS = ['submitted', 'pending', 'runnable', 'starting', 'running', 'succeeded', 'failed'] as const;
export type StatusKey = (typeof STATUS_KEYS)[number];

/**
 * barge's states in the seven AWS Batch words (§3.7). A job that cannot run any more without having
 * succeeded (cancelled, skipped) is failed, so `succeeded + failed` always reaches n_jobs (§9 #6).
 */
const KEY_OF_STATE: Record<State, StatusKey> = {
  SUBMITTED: 'submitted',
  PENDING: 'pending',
  RUNNABLE: 'runnable',
  STARTING: 'starting',
  RUNNING: 'running',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  CANCELLED: 'failed',
  SKIPPED: 'failed',
};

export function statusKey(state: State): StatusKey {
  return KEY_OF_STATE[state];
}

/** The args a job got, `[{name, value}]`, fixed first (kept in the item's env by submission.ts). */
export function jobArgs(execution: ExecutionRow): Array<{ name: string; value: string }> {
  const raw = execution.spec.env?.[ARGS_ENV];
  if (!raw) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed) ? (parsed as Array<{ name: string; value: string }>) : [];
  } catch {
    return [];
  }
}

/** Each job's args as JSON, in its environment: the job list reads them back. */
export const ARGS_ENV = 'BARGE_BATCH_ARGS';

/** Epoch milliseconds, or gen (a)'s `""` when not known yet (§3.5). */
function epochMs(time: string | null): number | '' {
  return time === null ? '' : Date.parse(time);
}

export function jobListItem(execution: ExecutionRow): Wire {
  return { job_id: execution.id, log_id: execution.id, args: jobArgs(execution) };
}

/** A job's detail (§3.5) with its real state, reason and times (§9 #4). */
export function jobDetailView(execution: ExecutionRow, facts: BatchFacts): Wire {
  return {
    ...jobListItem(execution),
    tool_id: facts.toolId,
    hardware: hardwareA(facts),
    status: statusKey(execution.state).toUpperCase(),
    reason: execution.reason ?? execution.error ?? '',
    create_time: epochMs(execution.createdAt),
    start_time: epochMs(execution.startedAt),
    stop_time: epochMs(execution.completedAt),
  };
}
