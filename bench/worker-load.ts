/**
 * bench/worker-load: how much of its throughput `barge up`'s worker keeps while 50 clients read
 * the API. A map of short `true` items runs once on an idle server and once under the load, on
 * the same server; the figure is the ratio loaded/unloaded items per second (issue 7 asks ≥ 0.8).
 * The same is measured with `--in-process-worker` (the worker on the API's event loop) for
 * comparison.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBarge, type BargeProcess } from '../test/helpers/barge-process.js';

export interface WorkerLoadResult {
  mode: 'worker thread' | 'in-process worker';
  items: number;
  clients: number;
  unloadedPerSecond: number;
  loadedPerSecond: number;
  ratio: number;
}

async function runMap(barge: BargeProcess, items: number): Promise<number> {
  const spec = {
    name: 'map',
    tasks: [{ name: 'items', each: { list: `{{ sequence(0, ${items}) }}`, concurrency: 4, task: { name: 'item', run: 'true' } } }],
  };
  const began = performance.now();
  const submitted = await fetch(`${barge.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec) });
  if (!submitted.ok) throw new Error(`submit: ${submitted.status} ${await submitted.text()}`);
  const { id } = (await submitted.json()) as { id: string };
  for (;;) {
    const job = (await (await fetch(`${barge.url}/v1/jobs/${id}`)).json()) as { state: string };
    if (job.state === 'SUCCEEDED') break;
    if (job.state === 'FAILED' || job.state === 'CANCELLED') throw new Error(`map ended ${job.state}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return (items / (performance.now() - began)) * 1000;
}

/** `clients` loops reading the job list as fast as the server answers, until stopped. */
function loadClients(barge: BargeProcess, clients: number): () => Promise<void> {
  let running = true;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      const response = await fetch(`${barge.url}/v1/jobs?limit=50`).catch(() => undefined);
      await response?.arrayBuffer();
    }
  });
  return async () => {
    running = false;
    await Promise.all(loops);
  };
}

export async function workerLoad(options: { items?: number; clients?: number; inProcess?: boolean } = {}): Promise<WorkerLoadResult> {
  const items = options.items ?? 200;
  const clients = options.clients ?? 50;
  const data = mkdtempSync(join(tmpdir(), 'barge-bench-load-'));
  const args = ['up', '--open', '--data', data, '--isolation', 'none', '--cpus', '4', ...(options.inProcess ? ['--in-process-worker'] : [])];
  const barge = await startBarge(args, { HOME: data });
  try {
    // A few jobs in the list, so each read does some work; and a warm-up.
    for (let i = 0; i < 3; i += 1) await runMap(barge, 20);
    const unloadedPerSecond = await runMap(barge, items);
    const stop = loadClients(barge, clients);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const loadedPerSecond = await runMap(barge, items);
    await stop();
    return {
      mode: options.inProcess ? 'in-process worker' : 'worker thread',
      items,
      clients,
      unloadedPerSecond,
      loadedPerSecond,
      ratio: loadedPerSecond / unloadedPerSecond,
    };
  } finally {
    await barge.stop();
    rmSync(data, { recursive: true, force: true });
  }
}
