/** Formatting of values like Go's `%v`, and expr-lang's toJSON. */

import { fail, guardDepth, guardStack, isMap, isNil, type PlainMap } from './values.js';

export function sortedEntries(map: PlainMap): Array<[string, unknown]> {
  return Object.keys(map)
    .sort()
    .map((key) => [key, map[key]]);
}

/**
 * Go's `%v`: strings as they are, `<nil>`, `[1 2 3]`, `map[a:1 b:2]` with sorted keys, integral
 * numbers as integers, other numbers in Go's shortest `%g` form (`0.5`, `1e-05`, `1.5e+07`).
 * One JS number stands for Go's int and float64, so an integral float prints as `2000000` where
 * Go would print `2e+06`.
 */
export function formatValue(value: unknown): string {
  return guardStack(() => formatAt(value, 0));
}

export function formatAt(value: unknown, depth: number): string {
  guardDepth(depth);
  if (isNil(value)) return '<nil>';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return formatNumber(value);
  if (Array.isArray(value)) return `[${value.map((item) => formatAt(item, depth + 1)).join(' ')}]`;
  if (isMap(value)) return `map[${sortedEntries(value).map(([k, v]) => `${k}:${formatAt(v, depth + 1)}`).join(' ')}]`;
  return String(value);
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return n.toFixed(0);
  // Go's %v of a float64 is %g with the shortest digits: exponent form below 1e-4 and from 1e6.
  const [mantissa, exponentText] = n.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return String(n);
}

/** expr-lang's toJSON: Go's json.MarshalIndent with two spaces, sorted keys and HTML escaping. */
export function toJSON(value: unknown): string {
  return jsonAt(value, '', 0);
}

function jsonAt(value: unknown, indent: string, depth: number): string {
  guardDepth(depth);
  const inner = `${indent}  `;
  if (isNil(value)) return 'null';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(`toJSON: unsupported value: ${formatNumber(value)}`);
    return JSON.stringify(value);
  }
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => inner + jsonAt(item, inner, depth + 1)).join(',\n')}\n${indent}]`;
  }
  if (isMap(value)) {
    const entries = sortedEntries(value);
    if (entries.length === 0) return '{}';
    const lines = entries.map(([k, v]) => `${inner}${jsonAt(k, inner, depth + 1)}: ${jsonAt(v, inner, depth + 1)}`);
    return `{\n${lines.join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
