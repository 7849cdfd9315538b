/**
 * Says why work waits. A task that asks for more cpus or memory than any UP worker serving its
 * queue has waits RUNNABLE with a reason naming what it asks and the largest worker; claims pass
 * it over (they take only what fits), so an owner's later work runs meanwhile.
 *
 * A task with an `image` runs only on a worker with a container runtime (a
 * worker claims only the kinds it has a runtime for), so while no such worker serves its queue,
 * the execution stays RUNNABLE — as an AWS Batch job waits for a compute environment — and its
 * `reason` says so. The reason is cleared once such a worker is UP for that queue.
 *
 * A worker advertises its container runtime in its node info (`info.container`: 'podman',
 * 'docker', or 'shell (image ignored)' under `--image-policy=ignore`, which also runs them).
 *
 * Work in a queue no UP worker serves waits with a reason saying so, as image tasks do.
 *
 * Cost: one read of the node list, the per-queue counts, and at most `limit` container candidates
 * per owner (the claim's own index), then at most two guarded writes that touch only rows whose
 * reason changes. Run it from the reaper every few seconds, not on every claim.
 */
import { RUNNABLE_KINDS, type ExecutionRow, type NodeRow } from '../core/model.js';
import type { Store } from '../store/store.js';
import type { Clock } from './clock.js';

export const NO_CONTAINER_RUNTIME = 'no worker with a container runtime';
/** The start of the reason of work whose queue no UP worker serves. */
export const NO_WORKER_FOR_QUEUE = 'no worker serves queue';
/** The start of every too-big reason, so one can be recognised and cleared. */
export const TOO_BIG = 'needs more than any worker has';

export interface ExplainWaitingOptions {
  /** Executions looked at per owner and pass. (Default: 1000) */
  limit?: number;
}

/** Sets or clears the reason on RUNNABLE container executions; answers how many rows changed. */
export async function explainWaiting(
  engine: { store: Store; clock: Clock },
  options: ExplainWaitingOptions = {},
): Promise<{ explained: number; cleared: number }> {
  const nodes = await engine.store.nodeList({});
  const big = await explainTooBig(engine.store, nodes, options.limit ?? 1000);
  const container = await explainContainers(engine, nodes, options);
  const unserved = await explainUnserved(engine, nodes, options.limit ?? 1000);
  return {
    explained: big.explained + container.explained + unserved.explained,
    cleared: big.cleared + container.cleared + unserved.cleared,
  };
}

/**
 * RUNNABLE work in a queue that no UP worker serves says so (`no worker serves queue "gpu"`),
 * unless it already has a reason; the reason goes once a worker serves the queue (or when one
 * claims it). Only queues with runnable work are looked at, at most `perOwner` rows per owner.
 */
async function explainUnserved(
  engine: { store: Store; clock: Clock },
  nodes: NodeRow[],
  perOwner: number,
): Promise<{ explained: number; cleared: number }> {
  const { store, clock } = engine;
  const queues = (await store.queueStats()).filter((q) => q.runnable > 0).map((q) => q.queue);
  if (queues.length === 0) return { explained: 0, cleared: 0 };
  const served = queuesWithWorkers(nodes);
  const waiting = await store.executionClaimCandidates({ queues, now: clock.now().toISOString(), perOwner, kinds: [...RUNNABLE_KINDS] });
  const explain = waiting.filter((e) => !served.has(e.queue) && e.reason === null);
  const clear = waiting.filter((e) => served.has(e.queue) && (e.reason?.startsWith(NO_WORKER_FOR_QUEUE) ?? false));
  let explained = 0;
  for (const queue of new Set(explain.map((e) => e.queue))) {
    explained += (await setReason(store, explain.filter((e) => e.queue === queue), `${NO_WORKER_FOR_QUEUE} "${queue}"`)).length;
  }
  return { explained, cleared: (await setReason(store, clear, null)).length };
}

/** Queues some UP worker (not an API-only server) serves. */
function queuesWithWorkers(nodes: NodeRow[]): Set<string> {
  const served = new Set<string>();
  for (const node of nodes) {
    if (node.status !== 'UP' || node.role === 'server') continue;
    for (const queue of node.queues) served.add(queue);
  }
  return served;
}

async function explainContainers(
  engine: { store: Store; clock: Clock },
  nodes: NodeRow[],
  options: ExplainWaitingOptions,
): Promise<{ explained: number; cleared: number }> {
  const { store, clock } = engine;
  const waiting = await runnableContainerExecutions(store, clock.now().toISOString(), options.limit ?? 1000);
  if (waiting.length === 0) return { explained: 0, cleared: 0 };
  const served = queuesWithContainerRuntime(nodes);
  const explain = waiting.filter((e) => !served.has(e.queue) && e.reason !== NO_CONTAINER_RUNTIME);
  const clear = waiting.filter((e) => served.has(e.queue) && e.reason === NO_CONTAINER_RUNTIME);
  // RUNNABLE → RUNNABLE: only the reason changes, and only on rows still waiting (a claim may
  // have taken one meanwhile; the guard then skips it).
  const explained = await setReason(store, explain, NO_CONTAINER_RUNTIME);
  const cleared = await setReason(store, clear, null);
  return { explained: explained.length, cleared: cleared.length };
}

/** The largest cpus and memory an UP worker offers, per queue it serves. */
function largestWorkerByQueue(nodes: NodeRow[]): Map<string, { cpus: number; memoryMb: number }> {
  const largest = new Map<string, { cpus: number; memoryMb: number }>();
  for (const node of nodes) {
    if (node.status !== 'UP' || node.role === 'server') continue;
    for (const queue of node.queues) {
      const seen = largest.get(queue) ?? { cpus: 0, memoryMb: 0 };
      largest.set(queue, { cpus: Math.max(seen.cpus, node.cpus), memoryMb: Math.max(seen.memoryMb, node.memoryMb) });
    }
  }
  return largest;
}

/** Why an execution can never fit on any of today's workers for its queue, or null when it can. */
export function tooBigReason(execution: ExecutionRow, largest: { cpus: number; memoryMb: number } | undefined): string | null {
  if (!largest) return null;
  const wants: string[] = [];
  if (execution.cpus > largest.cpus + 1e-9) wants.push(`${execution.cpus} cpus (largest worker: ${largest.cpus})`);
  if (execution.memoryMb > largest.memoryMb) wants.push(`${execution.memoryMb} MB memory (largest worker: ${largest.memoryMb} MB)`);
  return wants.length === 0 ? null : `${TOO_BIG}: ${wants.join(', ')}`;
}

/**
 * RUNNABLE work larger than the largest UP worker of its queue gets a reason saying so; the
 * reason is cleared when such a worker comes. Queues no worker serves are left alone.
 */
async function explainTooBig(store: Store, nodes: NodeRow[], limit: number): Promise<{ explained: number; cleared: number }> {
  const largest = largestWorkerByQueue(nodes);
  if (largest.size === 0) return { explained: 0, cleared: 0 };
  const smallest = [...largest.values()].reduce((a, b) => ({ cpus: Math.min(a.cpus, b.cpus), memoryMb: Math.min(a.memoryMb, b.memoryMb) }));
  const candidates = await store.executionListRunnableExceeding({ ...smallest, orReasonPrefix: TOO_BIG, limit });
  let explained = 0;
  let cleared = 0;
  for (const execution of candidates) {
    if (execution.reason === NO_CONTAINER_RUNTIME) continue;
    const reason = tooBigReason(execution, largest.get(execution.queue));
    const wasTooBig = execution.reason?.startsWith(TOO_BIG) ?? false;
    if (reason !== null && reason !== execution.reason) explained += (await setReason(store, [execution], reason)).length;
    else if (reason === null && wasTooBig) cleared += (await setReason(store, [execution], null)).length;
  }
  return { explained, cleared };
}

/** Queues that some UP node with a container runtime (or one that ignores images) serves. */
export function queuesWithContainerRuntime(nodes: NodeRow[]): Set<string> {
  const served = new Set<string>();
  for (const node of nodes) {
    const container = node.info.container;
    if (node.status !== 'UP' || typeof container !== 'string' || container === '') continue;
    for (const queue of node.queues) served.add(queue);
  }
  return served;
}

async function runnableContainerExecutions(store: Store, now: string, perOwner: number): Promise<ExecutionRow[]> {
  const queues = (await store.queueStats()).filter((q) => q.runnable > 0).map((q) => q.queue);
  if (queues.length === 0) return [];
  // The claim's candidate query is exactly "RUNNABLE, of these kinds, in these queues, due now",
  // served by its index; outside a transaction its PostgreSQL row locks end with the statement.
  return store.executionClaimCandidates({ queues, now, perOwner, kinds: ['container'] });
}

function setReason(store: Store, executions: ExecutionRow[], reason: string | null): Promise<string[]> {
  if (executions.length === 0) return Promise.resolve([]);
  return store.executionSetStateMany({
    ids: executions.map((e) => e.id),
    from: ['RUNNABLE'],
    to: 'RUNNABLE',
    patch: { reason },
  });
}
