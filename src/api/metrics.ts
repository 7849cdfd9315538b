/**
 * Prometheus metrics, in a registry of the app's own (never prom-client's global one, so two apps
 * in one process, as in tests, do not collide). Counts by state and queue depth are read from the
 * store at scrape time, so they are right across a fleet of servers; claim latency comes from the
 * engine's bus and HTTP latency from Fastify's hooks, both for this process only.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { STATES } from '../core/states.js';
import type { Engine } from '../engine/engine.js';

export interface ApiMetrics {
  registry: Registry;
  /** Stops listening to the engine's bus. */
  close(): void;
}

export function createMetrics(engine: Engine): ApiMetrics {
  const registry = new Registry();
  const { store } = engine;

  new Gauge({
    name: 'barge_jobs',
    help: 'Jobs by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const counts = await store.jobCountByState({});
      for (const state of STATES) this.set({ state }, counts[state] ?? 0);
    },
  });

  new Gauge({
    name: 'barge_executions',
    help: 'Executions by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const counts = await store.executionCountByState({});
      for (const state of STATES) this.set({ state }, counts[state] ?? 0);
    },
  });

  const queueRunnable = new Gauge({
    name: 'barge_queue_runnable',
    help: 'Executions waiting for a worker (queue depth), by queue',
    labelNames: ['queue'],
    registers: [registry],
  });
  new Gauge({
    name: 'barge_queue_running',
    help: 'Executions claimed or running, by queue',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      const stats = await store.queueStats();
      // A queue that emptied since the last scrape must not keep its old value.
      this.reset();
      queueRunnable.reset();
      for (const { queue, runnable, running } of stats) {
        this.set({ queue }, running);
        queueRunnable.set({ queue }, runnable);
      }
    },
  });

  const claimSeconds = new Histogram({
    name: 'barge_claim_duration_seconds',
    help: 'Time a claim took in this process (choosing and leasing executions for a worker)',
    labelNames: ['outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const off = engine.bus.on('claim:latency', ({ ms, claimed }) => {
    claimSeconds.observe({ outcome: claimed > 0 ? 'claimed' : 'empty' }, ms / 1000);
  });

  const reports = new Counter({
    name: 'barge_status_reports_total',
    help: 'Status report deliveries by this process (srtslurm collectors): delivered, retrying (an attempt failed), failed (given up)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of ['delivered', 'retrying', 'failed']) reports.inc({ outcome }, 0);
  const offReports = engine.bus.on('outbox:delivery', ({ kind, outcome }) => {
    if (kind === 'report') reports.inc({ outcome });
  });

  return {
    registry,
    close: () => {
      off();
      offReports();
    },
  };
}

/** HTTP request duration by method, route pattern (not the raw URL: bounded labels) and status. */
export function observeHttp(app: FastifyInstance, registry: Registry): void {
  const httpSeconds = new Histogram({
    name: 'barge_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
    httpSeconds.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
}
