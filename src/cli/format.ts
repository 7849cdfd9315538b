/**
 * Plain-text rendering for people: tables, times, durations, counts and errors. Everything here is
 * a pure function of its arguments (the clock is passed in) so it can be tested without a server.
 */
import type { Counts, ErrorDetail, Execution, Job, JobEvent, Node, Queue } from './wire.js';

export type Row = Array<string | number | null | undefined>;

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(headers: string[], rows: Row[]): string {
  const cells = [headers, ...rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? '' : String(cell))))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  return cells
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `4s`, `3m05s`, `2h07m`, `3d04h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d${String(hours % 24).padStart(2, '0')}h`;
}

/** A short duration with one decimal under a minute (`1.3s`), for how long a job took. */
export function formatElapsed(ms: number): string {
  return ms < 60_000 ? `${(Math.max(0, ms) / 1000).toFixed(1)}s` : formatDuration(ms);
}

/** `just now`, `42s ago`, `3m ago`, `5h ago`, then the date. */
export function formatAgo(iso: string | null | undefined, now: number): string {
  if (!iso) return '-';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const seconds = Math.round((now - at) / 1000);
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return iso.slice(0, 10);
}

/** ISO time without milliseconds, and how long ago in brackets. */
export function formatTime(iso: string | null | undefined, now: number): string {
  if (!iso) return '-';
  return `${iso.replace(/\.\d+Z$/, 'Z')} (${formatAgo(iso, now)})`;
}

export function formatPercent(progress: number | null | undefined): string {
  if (progress === null || progress === undefined || !Number.isFinite(progress)) return '-';
  return `${Math.round(progress)}%`;
}

/** `SUCCEEDED 10, RUNNING 2`, in the order of the state vocabulary. */
export function formatCounts(counts: Counts | undefined): string {
  const order = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'SKIPPED'];
  const entries = Object.entries(counts ?? {}).filter(([, n]) => (n ?? 0) > 0);
  entries.sort(([a], [b]) => order.indexOf(a) - order.indexOf(b));
  return entries.length === 0 ? '-' : entries.map(([state, n]) => `${state} ${n}`).join(', ');
}

/**
 * `2 failed attempts were retried`: attempts that did not count as items' ends (a retry, a lost
 * worker's attempt, a restarted job's earlier run), or undefined when there were none.
 */
export function retriedAttempts(job: Pick<Job, 'counts' | 'attempts'>): string | undefined {
  if (!job.attempts) return undefined;
  const failed = (job.attempts.FAILED ?? 0) - (job.counts?.FAILED ?? 0);
  return failed > 0 ? `${failed} earlier failed ${failed === 1 ? 'attempt' : 'attempts'} retried` : undefined;
}

/** A value for one table cell or `key: value` line: strings as they are, the rest as JSON. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

export function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

export function jobsTable(jobs: Job[], now: number): string {
  return table(
    ['ID', 'NAME', 'STATE', 'PROGRESS', 'CREATED', 'OWNER'],
    jobs.map((job) => [job.id, truncate(job.name, 40), job.state, formatPercent(job.progress), formatAgo(job.createdAt, now), job.owner]),
  );
}

/** `barge get`: the job's fields, its execution counts and its tasks. */
export function jobDetails(job: Job, now: number): string {
  const fields: Array<[string, string]> = [
    ['id', job.id],
    ['name', job.name],
    ['state', `${job.state} (${formatPercent(job.progress)})`],
    ['owner', job.owner],
    ['queue', job.queue],
    ['tags', job.tags.length > 0 ? job.tags.join(', ') : '-'],
    ['created', formatTime(job.createdAt, now)],
    ['started', formatTime(job.startedAt, now)],
    ['completed', formatTime(job.completedAt ?? job.failedAt, now)],
    ['items', formatCounts(job.counts)],
  ];
  const retried = retriedAttempts(job);
  if (retried) fields.push(['attempts', `${formatCounts(job.attempts)} (${retried})`]);
  if (job.description) fields.splice(2, 0, ['description', job.description]);
  if (job.parentExecutionId) fields.push(['parent', job.parentExecutionId]);
  if (Object.keys(job.inputs ?? {}).length > 0) fields.push(['inputs', formatInputs(job.inputs)]);
  if (job.result !== null && job.result !== undefined) fields.push(['result', formatValue(job.result)]);
  if (job.error) fields.push(['error', job.error]);
  const lines = [keyValues(fields)];
  if (job.tasks && job.tasks.length > 0) {
    const byId = new Map(job.tasks.map((task) => [task.id, task.name]));
    const rows = [...job.tasks]
      .sort((a, b) => a.position - b.position)
      .map((task) => [task.position, task.name, task.state, task.needs.map((id) => byId.get(id) ?? id).join(', ') || '-']);
    lines.push('', table(['#', 'TASK', 'STATE', 'NEEDS'], rows));
  }
  return lines.join('\n');
}

function formatInputs(inputs: Record<string, string>): string {
  return Object.entries(inputs)
    .map(([key, value]) => `${key}=${truncate(value, 60)}`)
    .join(', ');
}

export function nodesTable(nodes: Node[], now: number): string {
  return table(
    ['ID', 'NAME', 'ROLE', 'STATUS', 'ISOLATION', 'CPUS', 'MEMORY', 'CPU%', 'QUEUES', 'HEARTBEAT', 'VERSION'],
    nodes.map((node) => [
      node.id.slice(0, 12),
      node.name,
      node.role ?? '-',
      node.status,
      isolationOf(node),
      `${node.usedCpus}/${node.cpus}`,
      `${node.usedMemoryMb}/${node.memoryMb} MB`,
      Math.round(node.cpuPercent),
      node.queues.join(',') || '-',
      formatAgo(node.lastHeartbeatAt, now),
      node.version,
    ]),
  );
}

/** `bwrap`, or `NONE` (loud: shell tasks run on the host) for a worker; `-` for an API server. */
function isolationOf(node: Node): string {
  const isolation = node.info?.isolation;
  if (typeof isolation !== 'string') return '-';
  if (isolation !== 'none') return isolation;
  return node.info?.requireSandbox ? 'none (shell refused)' : 'NONE';
}

export function queuesTable(queues: Queue[]): string {
  return table(
    ['QUEUE', 'RUNNABLE', 'RUNNING'],
    queues.map((queue) => [queue.name, queue.runnable, queue.running]),
  );
}

export function eventsTable(events: JobEvent[]): string {
  return table(
    ['TIME', 'KIND', 'STATE', 'EXECUTION', 'STAGE', 'MESSAGE'],
    events.map((event) => [
      event.at.replace(/\.\d+Z$/, 'Z'),
      event.kind,
      event.state ?? '-',
      event.executionId ? event.executionId.slice(0, 12) : '-',
      event.stage ?? '-',
      event.message ?? '',
    ]),
  );
}

/**
 * `barge executions` and the tail of `barge get`: one row per execution, ids shortened to 12
 * characters (any unique prefix is accepted back), and how long it ran or has been waiting.
 */
export function executionsTable(executions: Execution[], now: number): string {
  return table(
    ['ID', 'ITEM', 'STATE', 'ATTEMPT', 'NODE', 'TIME'],
    executions.map((execution) => [
      execution.id.slice(0, 12),
      executionLabel({ ...execution, attempt: 1 }),
      execution.reason ? `${execution.state} (${execution.reason})` : execution.state,
      execution.attempt,
      execution.nodeId ? execution.nodeId.slice(0, 12) : '-',
      executionTime(execution, now),
    ]),
  );
}

/** Finished: how long it ran. Running: for how long so far. Waiting: since when. */
export function executionTime(execution: Pick<Execution, 'createdAt' | 'startedAt' | 'completedAt'>, now: number): string {
  const { createdAt, startedAt, completedAt } = execution;
  if (completedAt) return startedAt ? `took ${formatDuration(Date.parse(completedAt) - Date.parse(startedAt))}` : 'never started';
  if (startedAt) return `running ${formatDuration(now - Date.parse(startedAt))}`;
  return `waiting ${formatDuration(now - Date.parse(createdAt))}`;
}

/** How an execution is named in log prefixes and headers: `square.sh[3]`, `build (attempt 2)`. */
export function executionLabel(execution: Pick<Execution, 'name' | 'idx' | 'parentId' | 'attempt'>): string {
  const index = execution.parentId ? `[${execution.idx}]` : '';
  const attempt = execution.attempt > 1 ? ` (attempt ${execution.attempt})` : '';
  return `${execution.name}${index}${attempt}`;
}

/**
 * An error as the CLI prints it: the message, then each detail with its field path. The API's
 * validation message already joins its details; then the details alone are printed, once each.
 */
export function formatError(message: string, details: ErrorDetail[] = []): string {
  if (details.length === 0) return `barge: ${message}`;
  const redundant = details.every((detail) => message.includes(detail.message));
  const problems = details.length === 1 ? '1 problem' : `${details.length} problems`;
  const lead = redundant ? `barge: the server refused the request (${problems}):` : `barge: ${message}`;
  return [lead, ...details.map((detail) => `  - ${detail.path ? `${detail.path}: ` : ''}${detail.message}`)].join('\n');
}

/** `barge get` on an execution id. */
export function executionDetails(execution: Execution, now: number): string {
  const fields: Array<[string, string]> = [
    ['id', execution.id],
    ['job', execution.jobId],
    ['name', executionLabel(execution)],
    ['kind', execution.kind],
    ['state', `${execution.state}${execution.reason ? ` (${execution.reason})` : ''}`],
    ['queue', execution.queue],
    ['resources', `${execution.cpus} cpus, ${execution.memoryMb} MB`],
    ['node', execution.nodeId ?? '-'],
    ['created', formatTime(execution.createdAt, now)],
    ['started', formatTime(execution.startedAt, now)],
    ['completed', formatTime(execution.completedAt, now)],
    ['time', executionTime(execution, now)],
  ];
  if (execution.attempt > 1) fields.splice(3, 0, ['attempt', String(execution.attempt)]);
  if (execution.exitCode !== null) fields.push(['exit code', String(execution.exitCode)]);
  if (execution.childCount > 0) fields.push(['children', `${execution.childDone}/${execution.childCount} done`]);
  if (execution.result !== null && execution.result !== undefined) fields.push(['result', formatValue(execution.result)]);
  if (execution.error) fields.push(['error', execution.error]);
  return keyValues(fields);
}

/** `key:   value` lines with the values lined up. */
function keyValues(fields: Array<[string, string]>): string {
  const width = Math.max(...fields.map(([key]) => key.length)) + 1;
  return fields.map(([key, value]) => `${`${key}:`.padEnd(width)} ${value}`).join('\n');
}
