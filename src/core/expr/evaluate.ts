/**
 * The interpreter: walks a parsed ExprNode over a context of plain data.
 */

import { callFunction } from './functions.js';
import { formatAt } from './format.js';
import { ExpressionError, position, type ExprNode } from './parse.js';
import { Budget, EvalFailure, deepEqual, fail, isMap, isNil, typeName } from './values.js';

type Context = Record<string, unknown>;


interface Evaluation {
  source: string;
  ctx: Context;
  budget: Budget;
}

export function evaluateNode(node: ExprNode, ev: Evaluation): unknown {
  try {
    return evaluateUnchecked(node, ev);
  } catch (error) {
    if (error instanceof EvalFailure) throw new ExpressionError(`${error.message} (${position(ev.source, node.pos)})`);
    throw error;
  }
}

function evaluateUnchecked(node: ExprNode, ev: Evaluation): unknown {
  switch (node.type) {
    case 'literal':
      return node.value;
    case 'name':
      return Object.hasOwn(ev.ctx, node.name) ? (ev.ctx[node.name] ?? null) : null;
    case 'array': {
      ev.budget.charge(node.items.length);
      return node.items.map((item) => evaluateNode(item, ev));
    }
    case 'map':
      return Object.fromEntries(node.entries.map(([key, value]) => [key, evaluateNode(value, ev)]));
    case 'member':
      return fetchMember(evaluateNode(node.object, ev), evaluateNode(node.property, ev), node.optional);
    case 'call':
      return callFunction(node.callee, node.args.map((arg) => evaluateNode(arg, ev)), ev.budget);
    case 'unary':
      return unary(node.operator, evaluateNode(node.operand, ev));
    case 'binary':
      return binary(node, ev);
    case 'conditional': {
      const test = evaluateNode(node.test, ev);
      if (typeof test !== 'boolean') fail(`non-bool ${typeName(test)} used as condition`);
      return evaluateNode(test ? node.then : node.otherwise, ev);
    }
  }
}

function fetchMember(object: unknown, property: unknown, optional: boolean): unknown {
  if (isNil(object)) return optional ? null : fail(`cannot fetch ${formatAt(property, 0)} from <nil>`);
  if (isMap(object)) {
    const key = typeof property === 'string' ? property : formatAt(property, 0);
    return Object.hasOwn(object, key) ? (object[key] ?? null) : null;
  }
  if (Array.isArray(object) || typeof object === 'string') {
    const items = typeof object === 'string' ? Array.from(object) : object;
    if (typeof property !== 'number' || !Number.isInteger(property)) fail(`cannot fetch ${formatAt(property, 0)} from ${typeName(object)}`);
    const index = property < 0 ? items.length + property : property;
    if (index < 0 || index >= items.length) fail(`index out of range: ${property} (array length is ${items.length})`);
    return items[index] ?? null;
  }
  return fail(`cannot fetch ${formatAt(property, 0)} from ${typeName(object)}`);
}

function unary(operator: string, operand: unknown): unknown {
  if (operator === '!' || operator === 'not') {
    if (typeof operand !== 'boolean') fail(`invalid operation: ${operator} (non-bool ${typeName(operand)})`);
    return !operand;
  }
  if (typeof operand !== 'number') fail(`invalid operation: ${operator} (non-numeric ${typeName(operand)})`);
  return operator === '-' ? -operand : operand;
}

function binary(node: Extract<ExprNode, { type: 'binary' }>, ev: Evaluation): unknown {
  const { operator } = node;
  const left = evaluateNode(node.left, ev);
  if (operator === '??') return isNil(left) ? evaluateNode(node.right, ev) : left;
  if (operator === '&&' || operator === 'and' || operator === '||' || operator === 'or') {
    return logical(operator, left, () => evaluateNode(node.right, ev));
  }
  const right = evaluateNode(node.right, ev);
  switch (operator) {
    case '==':
      return deepEqual(left, right, 0);
    case '!=':
      return !deepEqual(left, right, 0);
    case '<':
    case '>':
    case '<=':
    case '>=':
      return compare(operator, left, right);
    case 'in':
      return membership(left, right);
    case 'contains':
    case 'startsWith':
    case 'endsWith':
      return stringTest(operator, left, right);
    case '+':
      return plus(left, right, ev.budget);
    default:
      return arithmetic(operator, left, right);
  }
}

function mismatched(operator: string, left: unknown, right: unknown): never {
  return fail(`invalid operation: ${operator} (mismatched types ${typeName(left)} and ${typeName(right)})`);
}

function logical(operator: string, left: unknown, right: () => unknown): boolean {
  if (typeof left !== 'boolean') fail(`invalid operation: ${operator} (non-bool ${typeName(left)})`);
  const and = operator === '&&' || operator === 'and';
  if (and ? !left : left) return left;
  const value = right();
  if (typeof value !== 'boolean') fail(`invalid operation: ${operator} (non-bool ${typeName(value)})`);
  return value;
}

function compare(operator: string, left: unknown, right: unknown): boolean {
  const comparable = (typeof left === 'number' && typeof right === 'number') || (typeof left === 'string' && typeof right === 'string');
  if (!comparable) mismatched(operator, left, right);
  const a = left as number | string;
  const b = right as number | string;
  if (operator === '<') return a < b;
  if (operator === '>') return a > b;
  if (operator === '<=') return a <= b;
  return a >= b;
}

function membership(item: unknown, collection: unknown): boolean {
  if (isNil(collection)) return false;
  if (Array.isArray(collection)) return collection.some((element) => deepEqual(item, element, 0));
  if (isMap(collection)) return typeof item === 'string' && Object.hasOwn(collection, item);
  return fail(`invalid operation: in (cannot look in ${typeName(collection)})`);
}

function stringTest(operator: string, left: unknown, right: unknown): boolean {
  if (typeof left !== 'string' || typeof right !== 'string') mismatched(operator, left, right);
  if (operator === 'contains') return left.includes(right);
  return operator === 'startsWith' ? left.startsWith(right) : left.endsWith(right);
}

function plus(left: unknown, right: unknown, budget: Budget): unknown {
  if (typeof left === 'number' && typeof right === 'number') return left + right;
  if (typeof left === 'string' && typeof right === 'string') {
    budget.charge(left.length + right.length);
    return left + right;
  }
  if (Array.isArray(left) && Array.isArray(right)) {
    budget.charge(left.length + right.length);
    return [...left, ...right];
  }
  return mismatched('+', left, right);
}

function arithmetic(operator: string, left: unknown, right: unknown): number {
  if (typeof left !== 'number' || typeof right !== 'number') mismatched(operator, left, right);
  if (operator === '-') return left - right;
  if (operator === '*') return left * right;
  if (operator === '/') return left / right;
  if (!Number.isInteger(left) || !Number.isInteger(right)) mismatched(operator, left, right);
  if (right === 0) fail('integer divide by zero');
  return left % right;
}

