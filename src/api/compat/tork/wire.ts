/**
 * Tork's bodies as Go writes them (tork.md §1): `encoding/json`'s encoder, so every body ends with
 * one `\n`; `<`, `>`, `&`, U+2028 and U+2029 inside strings are escaped; `?pretty` indents by two
 * spaces; fields tagged `omitempty` vanish when empty. Content-Type is exactly `application/json`
 * (sent as a Buffer, or Fastify would append a charset).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

/** A JSON value as Tork's views build it; `undefined` members are dropped like Go's omitempty. */
export type Wire = null | boolean | number | string | Wire[] | { [key: string]: Wire | undefined };
export type WireObject = { [key: string]: Wire | undefined };

/** Go's encoder escapes these for HTML safety; JSON.stringify does not. */
const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/**
 * Go spells two control characters differently: `\b` and `\f` become `\u0008` and `\u000c`. The
 * pattern walks escape sequences pairwise so an escaped backslash followed by `b` is left alone.
 */
const CONTROL_ESCAPE = /\\(.)/g;

export function goJson(value: Wire, pretty = false): string {
  const text = JSON.stringify(value, null, pretty ? 2 : undefined) ?? 'null';
  const escaped = text
    .replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c])
    .replace(CONTROL_ESCAPE, (whole, c: string) => (c === 'b' ? '\\u0008' : c === 'f' ? '\\u000c' : whole));
  return `${escaped}\n`;
}

export function wantsPretty(request: FastifyRequest): boolean {
  const query = request.query as Record<string, unknown> | undefined;
  return query !== undefined && query !== null && Object.hasOwn(query, 'pretty');
}

/** Sends a value the way Tork's handlers do with `c.JSON(status, value)`. */
export function sendJson(request: FastifyRequest, reply: FastifyReply, status: number, value: Wire): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'application/json')
    .send(Buffer.from(goJson(value, wantsPretty(request)), 'utf8'));
}

/** `{"status":"OK"}` followed by a newline: Tork's tests compare these bytes. */
export const OK: Wire = { status: 'OK' };

/**
 * Go's `time.Time` in JSON: RFC 3339 with as many fractional digits as needed, trailing zeros
 * dropped (`…08.41Z`, `…08Z`). barge keeps ISO strings with milliseconds.
 */
export function goTime(iso: string | null | undefined): string | undefined {
  if (!iso) return undefined;
  return iso.replace(/\.(\d*?)0*Z$/, (_whole, digits: string) => (digits ? `.${digits}Z` : 'Z'));
}

/** A value for an `omitempty` field: undefined when Go would leave it out. */
export function omitEmpty<T extends Wire | undefined>(value: T): T | undefined {
  if (value === undefined || value === null || value === '' || value === 0 || value === false) return undefined;
  if (Array.isArray(value)) return value.length > 0 ? value : undefined;
  if (typeof value === 'object') return Object.keys(value).some((k) => (value as WireObject)[k] !== undefined) ? value : undefined;
  return value;
}

/** A map field (`map[string]string`): omitted when empty. */
export function omitEmptyMap(map: Record<string, string> | undefined): Record<string, string> | undefined {
  return map && Object.keys(map).length > 0 ? { ...map } : undefined;
}
