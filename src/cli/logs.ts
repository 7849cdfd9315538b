/**
 * Printing and following logs: one execution's, or every execution's of a job. A job's log is its
 * runnable executions' logs (composites have none); when there is more than one, each line is
 * prefixed with the execution it came from (`square.sh[3] | …`).
 */
import type { BargeClient } from './client.js';
import { executionLabel } from './format.js';
import { Patience } from './patience.js';
import { pause } from './progress.js';
import { isFinalState, LEAF_KINDS, type Execution, type Job, type LogLine } from './wire.js';

/** Where lines go: stdout lines to stdout, stderr and system lines to stderr; or JSON, one a line. */
export interface LogSink {
  write(execution: Execution, line: LogLine, label: string | undefined): void;
}

export function textSink(stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): LogSink {
  return {
    write(_execution, line, label) {
      const text = label ? `${label} | ${line.line}\n` : `${line.line}\n`;
      (line.stream === 'stdout' ? stdout : stderr).write(text);
    },
  };
}

/** `--json`: each line as one JSON object with the execution it belongs to. */
export function jsonSink(stdout: NodeJS.WritableStream = process.stdout): LogSink {
  return {
    write(execution, line) {
      stdout.write(`${JSON.stringify({ executionId: execution.id, name: execution.name, idx: execution.idx, ...line })}\n`);
    },
  };
}

const PAGE = 1000;

/** Prints an execution's log as it is now. */
export async function printExecutionLog(client: BargeClient, execution: Execution, sink: LogSink, label?: string): Promise<void> {
  let after = 0;
  for (;;) {
    const page = await client.executionLogs(execution.id, { after, limit: PAGE });
    for (const line of page.items) sink.write(execution, line, label);
    if (page.items.length < PAGE || page.done) return;
    after = page.next;
  }
}

/** Prints the logs of a job's runnable executions in the order they were created. */
export async function printJobLogs(client: BargeClient, jobId: string, sink: LogSink): Promise<void> {
  const executions = runnable(await client.allJobExecutions(jobId));
  const labelled = executions.length > 1;
  for (const execution of executions) {
    await printExecutionLog(client, execution, sink, labelled ? executionLabel(execution) : undefined);
  }
}

/**
 * Follows an execution's log until it ends; returns the final execution, or undefined when the
 * signal stopped it first. A dropped stream (a server restart) is reopened after the last line
 * seen, for as long as `patience` allows.
 */
export async function followExecutionLog(
  client: BargeClient,
  execution: Execution,
  sink: LogSink,
  options: { label?: string; signal?: AbortSignal; patience?: Patience } = {},
): Promise<Execution | undefined> {
  const patience = options.patience ?? new Patience(execution.jobId);
  let after = 0;
  for (;;) {
    try {
      for await (const event of client.followLogs(execution.id, after, options.signal)) {
        patience.reached();
        if (event.type === 'end') return event.execution;
        after = event.line.number;
        sink.write(execution, event.line, options.label);
      }
      // The stream ended without `end`: the server went away mid-stream.
      if (!(await patience.retryAfter(new TypeError('the log stream ended early'), options.signal))) return undefined;
    } catch (error) {
      if (!(await patience.retryAfter(error, options.signal))) return undefined;
    }
  }
}

/** How many executions' logs are followed at once; the rest wait for a slot. */
const MAX_FOLLOWERS = 8;

export interface FollowJobResult {
  /** The job at the end, or undefined when interrupted. */
  job?: Job;
  /** Each followed execution as it ended, in the order they ended. */
  ended: Execution[];
}

/**
 * Follows a job's logs until the job is final: picks up executions as they start (array items,
 * retries, later steps), follows up to 8 at a time, and returns once the job is final and every
 * log has been printed to its end.
 */
export async function followJobLogs(
  client: BargeClient,
  jobId: string,
  sink: LogSink,
  options: { signal?: AbortSignal; labels?: boolean; pollMs?: number; patience?: Patience } = {},
): Promise<FollowJobResult> {
  const patience = options.patience ?? new Patience(jobId);
  const followed = new Set<string>();
  const active = new Set<Promise<void>>();
  const ended: Execution[] = [];
  let failure: unknown;
  let labelled = options.labels;
  const follow = (execution: Execution): void => {
    followed.add(execution.id);
    const label = labelled ? executionLabel(execution) : undefined;
    const running = followExecutionLog(client, execution, sink, { label, signal: options.signal, patience })
      .then((last) => void (last && ended.push(last)))
      .catch((error: unknown) => void (failure ??= error))
      .finally(() => active.delete(running));
    active.add(running);
  };
  for (;;) {
    if (failure) throw failure;
    // The job's state first: once it is final, the executions listed after it are all there are.
    const job = await patience.persist(() => client.getJob(jobId, options.signal), options.signal);
    if (!job) return { ended };
    const executions = await patience.persist(() => client.allJobExecutions(jobId, options.signal), options.signal);
    if (!executions) return { ended };
    const leaves = runnable(executions);
    labelled ??= needsLabels(job, executions);
    const final = isFinalState(job.state);
    // Executions that have not started would hold a slot doing nothing; they are taken once
    // they start, or all at the end.
    for (const execution of leaves) {
      if (active.size >= MAX_FOLLOWERS) break;
      if (!followed.has(execution.id) && (final || hasStarted(execution))) follow(execution);
    }
    if (final && active.size === 0 && leaves.every((execution) => followed.has(execution.id))) {
      if (failure) throw failure;
      return { job, ended };
    }
    const slotFreed = active.size > 0 ? Promise.race(active) : Promise.resolve();
    const waited = await Promise.race([slotFreed.then(() => true), pause(options.pollMs ?? 1_000, options.signal)]);
    if (options.signal?.aborted || !waited) {
      await Promise.allSettled(active);
      return { ended };
    }
  }
}

/** A job of one plain task run once reads best without prefixes; anything more needs them. */
function needsLabels(job: Job, executions: Execution[]): boolean {
  return !(job.taskCount === 1 && executions.length === 1 && executions[0].parentId === null && LEAF_KINDS.includes(executions[0].kind));
}

function hasStarted(execution: Execution): boolean {
  return !['SUBMITTED', 'PENDING', 'RUNNABLE'].includes(execution.state);
}

/** Runnable executions (composites have no log), oldest first, array items in index order. */
export function runnable(executions: Execution[]): Execution[] {
  return executions
    .filter((execution) => LEAF_KINDS.includes(execution.kind))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.idx - b.idx || a.attempt - b.attempt);
}


