/**
 * Tork's redaction (tork.md §7), on by default as §11 #10 recommends. Applied to the views of
 * `GET /jobs/:id`, `GET /tasks/:id` and the log endpoints, and (beyond Tork, which shows them in
 * the clear) to the `wait` answer and scheduled jobs: barge never echoes a secret.
 *
 * The rule itself (sensitive keys, `secrets` maps, secret values in text) is core/redact.ts's, the
 * one every surface uses; this adds only the walk over Tork's wire objects.
 */
import { REDACTED, Redactor as SecretRedactor } from '../../../core/redact.js';
import type { WireObject, Wire } from './wire.js';

export { REDACTED } from '../../../core/redact.js';

export class Redactor extends SecretRedactor {
  /**
   * A task object of the wire (definition or execution), recursively: env, registry password,
   * mount opts, pre/post/sidecars, parallel and each children, sub-job definitions. `files` and
   * `run` stay as written, as in Tork.
   */
  task(task: WireObject): WireObject {
    const out: WireObject = { ...task };
    if (isObject(out.env)) out.env = this.map(out.env as Record<string, string>);
    if (isObject(out.registry) && (out.registry as WireObject).password !== undefined) {
      out.registry = { ...(out.registry as WireObject), password: REDACTED };
    }
    if (Array.isArray(out.mounts)) {
      out.mounts = out.mounts.map((m) => (isObject(m) && isObject(m.opts) ? { ...m, opts: this.map(m.opts as Record<string, string>) } : m));
    }
    for (const key of ['pre', 'post', 'sidecars'] as const) {
      if (Array.isArray(out[key])) out[key] = (out[key] as Wire[]).map((t) => (isObject(t) ? this.task(t) : t));
    }
    if (isObject(out.parallel) && Array.isArray(out.parallel.tasks)) {
      out.parallel = { ...out.parallel, tasks: out.parallel.tasks.map((t) => (isObject(t) ? this.task(t) : t)) };
    }
    if (isObject(out.each) && isObject(out.each.task)) out.each = { ...out.each, task: this.task(out.each.task) };
    if (isObject(out.subjob)) out.subjob = this.subjob(out.subjob);
    return out;
  }

  private subjob(subjob: WireObject): WireObject {
    const out: WireObject = { ...subjob };
    if (isObject(out.inputs)) out.inputs = this.map(out.inputs as Record<string, string>);
    if (isObject(out.secrets)) out.secrets = this.secrets(out.secrets as Record<string, string>);
    if (Array.isArray(out.tasks)) out.tasks = out.tasks.map((t) => (isObject(t) ? this.task(t) : t));
    if (Array.isArray(out.webhooks)) out.webhooks = out.webhooks.map((w) => (isObject(w) ? this.webhook(w) : w));
    return out;
  }

  webhook(webhook: WireObject): WireObject {
    return isObject(webhook.headers) ? { ...webhook, headers: this.map(webhook.headers as Record<string, string>) } : webhook;
  }
}

function isObject(value: Wire | undefined): value is WireObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
