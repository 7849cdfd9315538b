/**
 * The one redaction rule, for every surface (barge's /v1, the compat APIs, events, webhooks, the
 * CLI). It is Tork's (reference tork.md §7), which barge applies everywhere:
 *
 * - a value under a sensitive-looking key (SECRET, PASSWORD or ACCESS_KEY in any case) → `[REDACTED]`;
 * - every value of a `secrets` map → `[REDACTED]` (the names stay, so people see what a job uses);
 * - any occurrence of one of the job's secret values inside any other text → `[REDACTED]`.
 *
 * Where it is applied, and why there:
 * - Text a task produces — an execution's `error` (its last log lines) and its log lines — is
 *   redacted by the engine when it is stored (engine.ts `finish`, `appendLogs`). Produced once,
 *   read by many: /v1 views and streams, Tork's views, events, webhook bodies, the CLI. Redacting
 *   before the write means no surface, present or future, can forget to; the secret values were
 *   never meant to be kept in that text anyway.
 * - What the submitter wrote (the spec's env, inputs, headers, the `secrets` map) must stay intact
 *   in the store, since tasks run with it: it is redacted where views are built (`json` below for
 *   /v1, the Tork wire walker in api/compat/tork/redact.ts), from this same rule.
 */

export const REDACTED = '[REDACTED]';

const SENSITIVE_KEY = /SECRET|PASSWORD|ACCESS_KEY/i;

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

/**
 * The values a job's text must never show: its `secrets`, and what its spec sets literally under a
 * sensitive key or in a sub-job's `secrets` (an env `DB_PASSWORD: hunter2` is a secret too, even if
 * not declared as one). Templates (`{{ secrets.X }}`) are not values and are left out.
 */
export function secretValuesOf(job: { secrets: Record<string, string>; spec?: unknown }): string[] {
  const values = Object.values(job.secrets);
  const visit = (value: unknown, sensitive: boolean): void => {
    if (typeof value === 'string') {
      if (sensitive && !value.includes('{{')) values.push(value);
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item, false);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) visit(item, key === 'secrets' || isSensitiveKey(key) || (sensitive && typeof item === 'string'));
    }
  };
  visit(job.spec, false);
  return values;
}

type JsonLike = string | number | boolean | null | JsonLike[] | { [key: string]: JsonLike };

export class Redactor {
  private readonly values: string[];

  /** `secrets`: the secret values of the job being shown or written (a job's own, its sub-jobs'). */
  constructor(secrets: Iterable<string>) {
    // Longest first, so a secret that contains another is replaced whole.
    this.values = [...new Set([...secrets].filter((value) => value !== ''))].sort((a, b) => b.length - a.length);
  }

  /** A redactor for a job's secrets (see `secretValuesOf`). */
  static forJob(job: { secrets: Record<string, string>; spec?: unknown }): Redactor {
    return new Redactor(secretValuesOf(job));
  }

  /** True when there is nothing to cut out of text (no secrets). */
  get empty(): boolean {
    return this.values.length === 0;
  }

  /** Replaces every secret value inside a text (log lines, errors). */
  text(value: string): string {
    let out = value;
    for (const secret of this.values) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }

  /** A map such as env, inputs or headers: sensitive keys hidden, secret values cut out. */
  map(map: Record<string, string> | undefined): Record<string, string> | undefined {
    if (!map) return undefined;
    return Object.fromEntries(Object.entries(map).map(([key, value]) => [key, isSensitiveKey(key) ? REDACTED : this.text(value)]));
  }

  /** A `secrets` map: names stay, every value goes. */
  secrets(map: Record<string, string> | undefined): Record<string, string> | undefined {
    if (!map) return undefined;
    return Object.fromEntries(Object.keys(map).map((key) => [key, REDACTED]));
  }

  /**
   * Any JSON document (a spec, metadata), recursively: `secrets` maps by `secrets`, a string under
   * a sensitive key replaced whole (env entries, `registry.password`, header values), every other
   * string with the secret values cut out.
   */
  json<T extends JsonLike>(value: T): T {
    return this.walk(value) as T;
  }

  private walk(value: JsonLike): JsonLike {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((item) => this.walk(item));
    if (value === null || typeof value !== 'object') return value;
    const copy: Record<string, JsonLike> = {};
    for (const [key, item] of Object.entries(value)) {
      if (key === 'secrets' && item !== null && typeof item === 'object' && !Array.isArray(item)) {
        copy[key] = Object.fromEntries(Object.keys(item).map((name) => [name, REDACTED]));
      } else if (typeof item === 'string' && item !== '' && isSensitiveKey(key)) {
        copy[key] = REDACTED;
      } else {
        copy[key] = this.walk(item);
      }
    }
    return copy;
  }
}
