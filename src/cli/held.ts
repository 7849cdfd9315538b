/**
 * Why a job runs fewer items than it could: some of its items are RUNNABLE (ready, waiting for a
 * worker to take them). The server's reason for one of them when it has one (a quota, too big for
 * every worker, no container runtime), otherwise what the workers serving its queue have free.
 */
import type { BargeClient } from './client.js';
import type { Execution, Node } from './wire.js';

export async function heldReason(client: BargeClient, jobId: string, signal?: AbortSignal): Promise<string | undefined> {
  const page = await client.jobExecutions(jobId, { state: 'RUNNABLE', limit: 1 }, signal);
  const waiting = page.items[0];
  if (!waiting) return undefined;
  if (waiting.reason) return waiting.reason;
  const { items } = await client.nodes();
  return capacityReason(waiting, items);
}

/** `workers full: an item needs 0.12 cpus and 256 MB; free: 0 of 2 cpus, 3328 of 3840 MB` */
export function capacityReason(waiting: Pick<Execution, 'queue' | 'cpus' | 'memoryMb'>, nodes: Node[]): string {
  const serving = nodes.filter((node) => node.status === 'UP' && node.role !== 'server' && node.queues.includes(waiting.queue));
  if (serving.length === 0) return `no worker serves queue "${waiting.queue}"`;
  const sum = (pick: (node: Node) => number): number => serving.reduce((total, node) => total + pick(node), 0);
  const freeCpus = Math.max(0, sum((n) => n.cpus - n.usedCpus));
  const freeMb = Math.max(0, sum((n) => n.memoryMb - n.usedMemoryMb));
  return (
    `workers full: an item needs ${round(waiting.cpus)} cpus and ${waiting.memoryMb} MB; ` +
    `free: ${round(freeCpus)} of ${round(sum((n) => n.cpus))} cpus, ${Math.round(freeMb)} of ${Math.round(sum((n) => n.memoryMb))} MB`
  );
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
