/**
 * Value helpers, failure and budget machinery shared by the interpreter, the built-in functions
 * and formatting (kept apart so none of those imports another in a cycle).
 */
import { BUDGET_ITEMS, ExpressionError, MAX_DEPTH } from './parse.js';

export type PlainMap = Record<string, unknown>;

export function isMap(value: unknown): value is PlainMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isNil(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

/** Type names for messages, in expr-lang's words. */
export function typeName(value: unknown): string {
  if (isNil(value)) return 'nil';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'string';
  if (Array.isArray(value)) return 'array';
  if (isMap(value)) return 'map';
  return typeof value;
}

/** Counts what an evaluation produces, so `[sequence(0, 1e6), sequence(0, 1e6), …]` stops early. */
export class Budget {
  private remaining = BUDGET_ITEMS;

  charge(items: number): void {
    this.remaining -= items;
    if (this.remaining < 0) throw new ExpressionError(`expression produces more than ${BUDGET_ITEMS} items`);
  }
}

/** Raised inside the interpreter; the position is added once, at the node that failed. */
export class EvalFailure extends Error {}

export function fail(message: string): never {
  throw new EvalFailure(message);
}

export function deepEqual(a: unknown, b: unknown, depth: number): boolean {
  guardDepth(depth);
  if (isNil(a) || isNil(b)) return isNil(a) && isNil(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i], depth + 1));
  }
  if (isMap(a) || isMap(b)) {
    if (!isMap(a) || !isMap(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k], depth + 1));
  }
  return a === b;
}

export function guardDepth(depth: number): void {
  if (depth > MAX_DEPTH) fail(`value nested more than ${MAX_DEPTH} deep`);
}

/** A stack overflow on hostile data (deep fromJSON) is the expression's fault, not a crash. */
export function guardStack<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof EvalFailure) throw new ExpressionError(error.message);
    if (error instanceof RangeError) throw new ExpressionError(`expression too complex: ${error.message}`);
    throw error;
  }
}
