/**
 * Nodes, queues, metrics and scheduled jobs in Tork's shapes (tork.md §3.8, §4.6, §4.7).
 *
 * - A Node is a barge node (API server or worker). Tork reports a stored UP node that has been
 *   silent for two heartbeat periods (2 × 30 s) as OFFLINE; barge does the same with its own
 *   60 s window. `taskCount` is what the worker reports running. A node that runs work has
 *   Tork's per-worker queue name (`x-<id>`); `port` is the HTTP port of a node that serves the
 *   API too (`barge up`), as a Tork worker reports the port of its own small API.
 * - A QueueInfo is a barge queue name: `size` the runnable executions waiting in it, `unacked`
 *   the claimed or running ones, `subscribers` the live nodes that serve it.
 */
import type { NodeRow, ScheduleRow } from '../../../core/model.js';
import { EXCLUSIVE_QUEUE_PREFIX } from './input.js';
import { definitionView } from './job-views.js';
import { Redactor } from './redact.js';
import { goTime, omitEmpty, omitEmptyMap, type WireObject } from './wire.js';

/** barge marks a node DOWN after a minute of silence; Tork says OFFLINE after two missed beats. */
const OFFLINE_AFTER_MS = 60_000;

export function nodeView(node: NodeRow, now: Date): WireObject {
  const silentMs = now.getTime() - Date.parse(node.lastHeartbeatAt);
  const status = node.status === 'UP' && silentMs > OFFLINE_AFTER_MS ? 'OFFLINE' : node.status;
  const taskCount = typeof node.info.taskCount === 'number' ? node.info.taskCount : 0;
  const port = typeof node.info.port === 'number' ? node.info.port : 0;
  return {
    id: node.id,
    name: node.name,
    startedAt: goTime(node.startedAt),
    cpuPercent: omitEmpty(node.cpuPercent),
    lastHeartbeatAt: goTime(node.lastHeartbeatAt),
    // A Tork worker's own queue; a coordinator (barge's API-only server) has none.
    queue: node.role === 'server' ? undefined : `${EXCLUSIVE_QUEUE_PREFIX}${node.id}`,
    status,
    hostname: node.hostname,
    port: omitEmpty(port),
    taskCount: omitEmpty(taskCount),
    version: node.version,
  };
}

export interface QueueFacts {
  name: string;
  size: number;
  subscribers: number;
  unacked: number;
}

export function queueView(queue: QueueFacts): WireObject {
  return { name: queue.name, size: queue.size, subscribers: queue.subscribers, unacked: queue.unacked };
}

export interface MetricsFacts {
  jobsRunning: number;
  tasksRunning: number;
  nodesOnline: number;
  cpuPercent: number;
}

export function metricsView(facts: MetricsFacts): WireObject {
  return {
    jobs: { running: facts.jobsRunning },
    tasks: { running: facts.tasksRunning },
    nodes: { online: facts.nodesOnline, cpuPercent: facts.cpuPercent },
  };
}

export function scheduledSummaryView(schedule: ScheduleRow, createdBy: WireObject): WireObject {
  return {
    id: schedule.id,
    createdBy,
    inputs: omitEmptyMap(schedule.spec.inputs),
    state: schedule.state,
    name: schedule.name,
    description: schedule.description ?? undefined,
    tags: omitEmpty(schedule.tags),
    createdAt: goTime(schedule.createdAt),
    cron: schedule.cron,
  };
}

/**
 * The full ScheduledJob. Tork shows its secrets in the clear; barge redacts them as it does
 * everywhere (a secret is never echoed).
 */
export function scheduledJobView(schedule: ScheduleRow, createdBy: WireObject): WireObject {
  const spec = schedule.spec;
  const redactor = new Redactor(Object.values(spec.secrets ?? {}));
  return {
    id: schedule.id,
    name: schedule.name,
    description: schedule.description ?? undefined,
    cron: schedule.cron,
    state: schedule.state,
    inputs: omitEmptyMap(redactor.map(spec.inputs)),
    tasks: spec.tasks.map((task) => redactor.task(definitionView(task))),
    createdBy,
    defaults: spec.defaults && (JSON.parse(JSON.stringify(spec.defaults)) as WireObject),
    autoDelete: spec.autoDelete && { after: spec.autoDelete.after },
    webhooks: omitEmpty(spec.webhooks?.map((w) => redactor.webhook({ url: w.url, headers: w.headers, event: w.event, if: w.if }))),
    permissions: omitEmpty(spec.permissions?.map((p) => ({ user: p.user, role: p.role }))),
    createdAt: goTime(schedule.createdAt),
    tags: omitEmpty(schedule.tags),
    secrets: omitEmptyMap(redactor.secrets(spec.secrets)),
    output: spec.output,
  };
}
