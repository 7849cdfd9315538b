/**
 * Webhook deliveries: a job's `webhooks` turned into outbox rows in the transaction of the change
 * they report. The payload's shape belongs to the API the job came through, so compat modules
 * register a renderer for their origin; barge's own shape is the default.
 */
import type { ExecutionRow, JobRow, Json, OutboxRow } from '../core/model.js';
import type { Queries } from '../store/store.js';
import { evaluateExpression, renderTemplate } from '../core/expr.js';
import { jobContext } from './expand.js';

export type WebhookEvent = 'job.StateChange' | 'job.Progress' | 'task.StateChange' | 'task.Progress';

export interface WebhookRenderer {
  /**
   * Reads what a payload needs beyond the rows (the owner's user, the job's tasks…), in the
   * transaction of the change, once per event that has webhooks to deliver. (Default: nothing)
   */
  facts?(tx: Queries, job: JobRow, execution: ExecutionRow | undefined): Promise<unknown>;
  /** The JSON body for this event. */
  body(event: WebhookEvent, job: JobRow, execution: ExecutionRow | undefined, facts: unknown): Json;
  /** What a webhook's `if` expression sees. */
  condition(job: JobRow, execution: ExecutionRow | undefined, facts: unknown): Record<string, unknown>;
}

const renderers = new Map<string, WebhookRenderer>();

export function registerWebhookRenderer(origin: string, renderer: WebhookRenderer): void {
  renderers.set(origin, renderer);
}

export const DELIVERY_ATTEMPTS = 5;

const bargeRenderer: WebhookRenderer = {
  body(event, job, execution) {
    return {
      event,
      job: { id: job.id, name: job.name, state: job.state, progress: job.progress, result: job.result, error: job.error },
      ...(execution
        ? { execution: { id: execution.id, name: execution.name, state: execution.state, result: execution.result, error: execution.error } }
        : {}),
    };
  },
  condition(job, execution) {
    return { job: { id: job.id, name: job.name, state: job.state, progress: job.progress }, task: execution ?? null };
  },
};

export async function webhookDeliveries(input: {
  job: JobRow;
  event: WebhookEvent;
  execution?: ExecutionRow;
  tx: Queries;
  now: string;
}): Promise<OutboxRow[]> {
  const { job, event, execution, tx, now } = input;
  const hooks = (job.spec.webhooks ?? []).filter((hook) => (hook.event || 'job.StateChange') === event);
  if (hooks.length === 0) return [];
  const renderer = renderers.get(job.origin) ?? bargeRenderer;
  const facts = renderer.facts ? await renderer.facts(tx, job, execution) : undefined;
  const rows: OutboxRow[] = [];
  for (const hook of hooks) {
    if (hook.if && !conditionHolds(hook.if, renderer.condition(job, execution, facts))) continue;
    const ctx = jobContext(job);
    rows.push({
      kind: 'webhook',
      method: 'POST',
      url: safeRender(hook.url, ctx),
      headers: Object.fromEntries(Object.entries(hook.headers ?? {}).map(([k, v]) => [k, safeRender(v, ctx)])),
      body: renderer.body(event, job, execution, facts),
      attempts: 0,
      maxAttempts: DELIVERY_ATTEMPTS,
      nextAt: now,
      createdAt: now,
      lastError: null,
      status: 'pending',
      orderingKey: null,
    });
  }
  return rows;
}

/** A webhook's `if` must evaluate to true; an expression that fails means no delivery. */
function conditionHolds(expression: string, scope: Record<string, unknown>): boolean {
  try {
    return evaluateExpression(expression, scope) === true;
  } catch {
    return false;
  }
}

function safeRender(template: string, ctx: Record<string, unknown>): string {
  try {
    return renderTemplate(template, ctx);
  } catch {
    return template;
  }
}
