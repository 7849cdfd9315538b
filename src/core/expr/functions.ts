/** The built-in functions an expression may call (`len`, `split`, `toJSON`, `sequence`, …). */

import { deepEqual, fail, isMap, typeName, type Budget, type PlainMap } from './values.js';
import { formatAt, sortedEntries, toJSON } from './format.js';
import { MAX_SEQUENCE } from './parse.js';
import { integerRange } from './range.js';

interface Builtin {
  /** Accepted argument counts. */
  arity: readonly number[];
  fn: (args: unknown[], budget: Budget) => unknown;
}

function stringArg(name: string, value: unknown, which = 'argument'): string {
  if (typeof value !== 'string') fail(`${name}: ${which} must be a string, not ${typeName(value)}`);
  return value;
}

function intArg(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(`${name}: arguments must be integers, not ${typeName(value)}`);
  return value;
}

function arrayArg(name: string, value: unknown): unknown[] {
  if (!Array.isArray(value)) fail(`${name}: argument must be an array, not ${typeName(value)}`);
  return value;
}

function mapArg(name: string, value: unknown): PlainMap {
  if (!isMap(value)) fail(`${name}: argument must be a map, not ${typeName(value)}`);
  return value;
}

function sequence(args: unknown[], budget: Budget): readonly number[] {
  const start = intArg('sequence', args[0]);
  const stop = intArg('sequence', args[1]);
  const count = Math.max(0, stop - start);
  if (count > MAX_SEQUENCE) fail(`sequence: ${count} items is more than the ${MAX_SEQUENCE} allowed`);
  budget.charge(count);
  return integerRange(start, count);
}

function randomInt(args: unknown[]): number {
  if (args.length === 0) return Math.floor(Math.random() * Number.MAX_SAFE_INTEGER);
  const bound = args[0];
  if (typeof bound !== 'number' || !Number.isInteger(bound) || bound <= 0) {
    fail(`randomInt: n must be a positive integer, not ${formatAt(bound, 0)}`);
  }
  return Math.floor(Math.random() * bound);
}

function length(args: unknown[]): number {
  const [value] = args;
  if (typeof value === 'string') return Array.from(value).length;
  if (Array.isArray(value)) return value.length;
  if (isMap(value)) return Object.keys(value).length;
  return fail(`invalid argument for len (type ${typeName(value)})`);
}

function split(args: unknown[], budget: Budget): string[] {
  const text = stringArg('split', args[0]);
  const separator = stringArg('split', args[1], 'separator');
  const parts = separator === '' ? Array.from(text) : text.split(separator);
  budget.charge(parts.length);
  return parts;
}

function join(args: unknown[], budget: Budget): string {
  const items = arrayArg('join', args[0]);
  const separator = args.length > 1 ? stringArg('join', args[1], 'separator') : '';
  const joined = items.map((item) => formatAt(item, 0)).join(separator);
  budget.charge(joined.length);
  return joined;
}

function toInt(args: unknown[]): number {
  const [value] = args;
  if (typeof value === 'number') return Math.trunc(value);
  if (typeof value === 'string' && /^[+-]?\d+$/.test(value.trim())) return Number(value.trim());
  return fail(`int: cannot convert ${formatAt(value, 0)} (${typeName(value)}) to int`);
}

function toFloat(args: unknown[]): number {
  const [value] = args;
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(value.trim())) return Number(value.trim());
  return fail(`float: cannot convert ${formatAt(value, 0)} (${typeName(value)}) to float`);
}

function trimCutset(text: string, cutset: string, start: boolean, end: boolean): string {
  const chars = new Set(Array.from(cutset));
  const runes = Array.from(text);
  let from = 0;
  let to = runes.length;
  while (start && from < to && chars.has(runes[from])) from += 1;
  while (end && to > from && chars.has(runes[to - 1])) to -= 1;
  return runes.slice(from, to).join('');
}

function contains(args: unknown[]): boolean {
  const [haystack, needle] = args;
  if (Array.isArray(haystack)) return haystack.some((item) => deepEqual(item, needle, 0));
  return stringArg('contains', haystack).includes(stringArg('contains', needle, 'substring'));
}

function fromJSON(args: unknown[]): unknown {
  const text = stringArg('fromJSON', args[0]);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    return fail(`fromJSON: ${(error as Error).message}`);
  }
}

function extreme(name: string, args: unknown[], pick: (a: number, b: number) => number): number {
  const values = args.length === 1 && Array.isArray(args[0]) ? args[0] : args;
  if (values.length === 0) fail(`${name}: needs at least one number`);
  return values.map((value) => (typeof value === 'number' ? value : fail(`${name}: arguments must be numbers`))).reduce((a, b) => pick(a, b));
}

const BUILTINS: Record<string, Builtin> = {
  sequence: { arity: [2], fn: sequence },
  randomInt: { arity: [0, 1], fn: randomInt },
  len: { arity: [1], fn: length },
  upper: { arity: [1], fn: (a) => stringArg('upper', a[0]).toUpperCase() },
  lower: { arity: [1], fn: (a) => stringArg('lower', a[0]).toLowerCase() },
  trim: { arity: [1, 2], fn: (a) => (a.length > 1 ? trimCutset(stringArg('trim', a[0]), stringArg('trim', a[1]), true, true) : stringArg('trim', a[0]).trim()) },
  trimPrefix: { arity: [2], fn: (a) => trimAffix(stringArg('trimPrefix', a[0]), stringArg('trimPrefix', a[1]), true) },
  trimSuffix: { arity: [2], fn: (a) => trimAffix(stringArg('trimSuffix', a[0]), stringArg('trimSuffix', a[1]), false) },
  split: { arity: [2], fn: split },
  join: { arity: [1, 2], fn: join },
  replace: { arity: [3], fn: replaceAll },
  toJSON: { arity: [1], fn: (a, budget) => chargeString(toJSON(a[0]), budget) },
  fromJSON: { arity: [1], fn: fromJSON },
  string: { arity: [1], fn: (a, budget) => chargeString(formatAt(a[0], 0), budget) },
  int: { arity: [1], fn: toInt },
  float: { arity: [1], fn: toFloat },
  abs: { arity: [1], fn: (a) => Math.abs(typeof a[0] === 'number' ? a[0] : fail('abs: argument must be a number')) },
  min: { arity: [1, 2, 3, 4, 5, 6, 7, 8], fn: (a) => extreme('min', a, Math.min) },
  max: { arity: [1, 2, 3, 4, 5, 6, 7, 8], fn: (a) => extreme('max', a, Math.max) },
  contains: { arity: [2], fn: contains },
  startsWith: { arity: [2], fn: (a) => stringArg('startsWith', a[0]).startsWith(stringArg('startsWith', a[1], 'prefix')) },
  endsWith: { arity: [2], fn: (a) => stringArg('endsWith', a[0]).endsWith(stringArg('endsWith', a[1], 'suffix')) },
  keys: { arity: [1], fn: (a) => Object.keys(mapArg('keys', a[0])).sort() },
  values: { arity: [1], fn: (a) => sortedEntries(mapArg('values', a[0])).map(([, v]) => v) },
  first: { arity: [1], fn: (a) => arrayArg('first', a[0])[0] ?? null },
  last: { arity: [1], fn: (a) => arrayArg('last', a[0]).at(-1) ?? null },
};

function trimAffix(text: string, affix: string, prefix: boolean): string {
  if (prefix) return text.startsWith(affix) ? text.slice(affix.length) : text;
  return affix !== '' && text.endsWith(affix) ? text.slice(0, text.length - affix.length) : text;
}

function replaceAll(args: unknown[], budget: Budget): string {
  const text = stringArg('replace', args[0]);
  const result = text.split(stringArg('replace', args[1])).join(stringArg('replace', args[2]));
  return chargeString(result, budget);
}

function chargeString(text: string, budget: Budget): string {
  budget.charge(text.length);
  return text;
}

export function callFunction(name: string, args: unknown[], budget: Budget): unknown {
  const builtin = Object.hasOwn(BUILTINS, name) ? BUILTINS[name] : undefined;
  if (!builtin) return fail(`unknown name ${name}`);
  if (!builtin.arity.includes(args.length)) {
    fail(`${name}: expects ${builtin.arity.join(' or ')} arguments, got ${args.length}`);
  }
  return builtin.fn(args, budget);
}
