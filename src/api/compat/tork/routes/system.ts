/**
 * `/health`, `/nodes`, `/queues`, `/metrics` (tork.md §3.8).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { NodeRow, State } from '../../../../core/model.js';
import type { TorkContext } from '../context.js';
import { badRequest, notFound, refuseOtherMethods } from '../errors.js';
import { isTaskQueue } from '../input.js';
import { metricsView, nodeView, queueView, type QueueFacts } from '../system-views.js';
import { sendJson } from '../wire.js';

/** Tork lists nodes heard from in the last five minutes. */
const NODE_WINDOW_MS = 5 * 60_000;
/** Tork's RUNNING in barge's words (a claimed execution already counts). */
const RUNNING_STATES: State[] = ['STARTING', 'RUNNING'];

type NameRequest = FastifyRequest<{ Params: { name: string } }>;

async function liveNodes(context: TorkContext): Promise<NodeRow[]> {
  const since = new Date(context.engine.clock.now().getTime() - NODE_WINDOW_MS).toISOString();
  const nodes = await context.engine.store.nodeList({ heartbeatAfter: since });
  return nodes.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

/** Health is public, as Tork's key auth leaves it (§9.2, §11 #16). */
export async function healthRoutes(app: FastifyInstance, context: TorkContext): Promise<void> {
  app.get('', { config: { auth: 'public' } }, async (request, reply) => {
    try {
      await context.engine.store.ping();
      return sendJson(request, reply, 200, { status: 'UP', version: context.version });
    } catch (error) {
      request.log.warn({ err: error }, 'store unreachable');
      return sendJson(request, reply, 503, { status: 'DOWN', version: context.version });
    }
  });
  refuseOtherMethods(app, '', ['GET']);
}

export async function nodeRoutes(app: FastifyInstance, context: TorkContext): Promise<void> {
  app.get('', async (request, reply) => {
    const now = context.engine.clock.now();
    return sendJson(request, reply, 200, (await liveNodes(context)).map((node) => nodeView(node, now)));
  });
  refuseOtherMethods(app, '', ['GET']);
}

/** Every queue barge knows: those with executions, and those live nodes serve. */
async function queues(context: TorkContext): Promise<QueueFacts[]> {
  const [stats, nodes] = await Promise.all([context.engine.store.queueStats(), liveNodes(context)]);
  const byName = new Map<string, QueueFacts>();
  const entry = (name: string): QueueFacts => {
    let facts = byName.get(name);
    if (!facts) byName.set(name, (facts = { name, size: 0, subscribers: 0, unacked: 0 }));
    return facts;
  };
  for (const { queue, runnable, running } of stats) Object.assign(entry(queue), { size: runnable, unacked: running });
  for (const node of nodes) {
    if (node.status !== 'UP') continue;
    for (const queue of node.queues) entry(queue).subscribers += 1;
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export async function queueRoutes(app: FastifyInstance, context: TorkContext): Promise<void> {
  app.get('', async (request, reply) => sendJson(request, reply, 200, (await queues(context)).map(queueView)));

  app.get('/:name', async (request: NameRequest, reply) => {
    const found = (await queues(context)).find((q) => q.name === request.params.name);
    if (!found) throw notFound(`queue ${request.params.name} not found`);
    return sendJson(request, reply, 200, queueView(found));
  });

  /**
   * Deleting a broker queue drops the messages waiting in it. barge's queues are labels on
   * executions, so the equivalent is to cancel the executions waiting in it: their jobs fail
   * (where Tork's would wait forever). Admins only when tokens are on.
   */
  app.delete('/:name', { config: { auth: 'admin' } }, async (request: NameRequest, reply) => {
    const { name } = request.params;
    if (!isTaskQueue(name)) throw badRequest(`queue ${name} is not a task queue`);
    if (!(await queues(context)).some((q) => q.name === name)) throw notFound(`queue ${name} not found`);
    await purgeQueue(context, name);
    return reply.code(200).send();
  });

  refuseOtherMethods(app, '', ['GET']);
  refuseOtherMethods(app, '/:name', ['GET', 'DELETE']);
}

/** Cancels every runnable execution of a queue, job by job among the unfinished jobs. */
async function purgeQueue(context: TorkContext, queue: string): Promise<void> {
  const { engine } = context;
  const jobs = await engine.store.jobList({ states: ['RUNNABLE', 'RUNNING'], limit: 100_000 });
  for (const job of jobs) {
    const waiting = await engine.store.executionList({ jobId: job.id, states: ['RUNNABLE'], limit: 100_000 });
    for (const execution of waiting.filter((e) => e.queue === queue)) {
      await engine.cancelExecution(execution.id).catch(() => undefined);
    }
  }
}

/** Prometheus asks for text (`text/plain`, `application/openmetrics-text`); tork-web and curl do not. */
function wantsPrometheusText(request: FastifyRequest): boolean {
  const accept = (request.headers.accept ?? '').toLowerCase();
  return accept.includes('text/plain') || accept.includes('application/openmetrics-text');
}

export async function metricsRoutes(app: FastifyInstance, context: TorkContext): Promise<void> {
  const { store } = context.engine;
  app.get('', async (request, reply) => {
    if (context.registry && wantsPrometheusText(request)) {
      return reply.type(context.registry.contentType).send(await context.registry.metrics());
    }
    const [jobs, executions, nodes] = await Promise.all([store.jobCountByState({}), store.executionCountByState({}), liveNodes(context)]);
    const online = nodes.filter((node) => node.status === 'UP');
    const count = (counts: Partial<Record<State, number>>): number => RUNNING_STATES.reduce((sum, s) => sum + (counts[s] ?? 0), 0);
    const cpu = online.length === 0 ? 0 : online.reduce((sum, node) => sum + node.cpuPercent, 0) / online.length;
    const view = metricsView({ jobsRunning: count(jobs), tasksRunning: count(executions), nodesOnline: online.length, cpuPercent: cpu });
    return sendJson(request, reply, 200, view);
  });
  refuseOtherMethods(app, '', ['GET']);
}
