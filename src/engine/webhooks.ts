/**
 * Webhook deliveries: a job's `webhooks` turned into outbox rows in the transaction of the change
 * they report. The payload's shape belongs to the API the job came through, so compat modules
 * register a renderer for their origin; barge's own shape is the default.
 */
import type { ExecutionRow, JobRow, Json, OutboxRow, UserRow } from '../core/model.js';
import { evaluateExpression, renderTemplate } from '../core/expr.js';
import { jobContext } from './expand.js';

export type WebhookEvent = 'job.StateChange' | 'job.Progress' | 'task.StateChange' | 'task.Progress';

export interface WebhookRenderer {
  /** The JSON body for this event; `owner` is the job owner's stored user, when there is one. */
  body(event: WebhookEvent, job: JobRow, execution?: ExecutionRow, owner?: UserRow): Json;
  /** What a webhook's `if` expression sees. */
  condition(job: JobRow, execution?: ExecutionRow): Record<string, unknown>;
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

export function webhookDeliveries(input: {
  job: JobRow;
  event: WebhookEvent;
  execution?: ExecutionRow;
  owner?: UserRow;
  now: string;
}): OutboxRow[] {
  const { job, event, execution, owner, now } = input;
  const hooks = job.spec.webhooks ?? [];
  if (hooks.length === 0) return [];
  const renderer = renderers.get(job.origin) ?? bargeRenderer;
  const rows: OutboxRow[] = [];
  for (const hook of hooks) {
    if ((hook.event || 'job.StateChange') !== event) continue;
    if (hook.if && !conditionHolds(hook.if, renderer.condition(job, execution))) continue;
    const ctx = jobContext(job);
    rows.push({
      kind: 'webhook',
      url: safeRender(hook.url, ctx),
      headers: Object.fromEntries(Object.entries(hook.headers ?? {}).map(([k, v]) => [k, safeRender(v, ctx)])),
      body: renderer.body(event, job, execution, owner),
      attempts: 0,
      maxAttempts: DELIVERY_ATTEMPTS,
      nextAt: now,
      createdAt: now,
      lastError: null,
      status: 'pending',
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
