/**
 * Template expressions: the subset of expr-lang (github.com/expr-lang/expr) that Tork job specs use
 * inside `{{ … }}`, evaluated without `eval`. A hand-written tokenizer and Pratt parser build an
 * AST; a small interpreter walks it over a context of plain data (inputs, secrets, tasks, job, the
 * each item). Results are formatted like Go's `%v`, because that is what Tork writes into names,
 * env values and results.
 *
 * Semantics chosen where expr-lang's compile-time checks have no equivalent here:
 * - An unknown top-level identifier evaluates to nil (`{{ tasks.missing }}` → `<nil>`); calling an
 *   unknown function is an error `unknown name <fn>`, at evaluation (Tork compiles expressions
 *   without an environment at submit time, so `{{ bad_function() }}` is accepted and fails later).
 * - A missing key of a map is nil; fetching from nil is an error unless written `a?.b`.
 * - `&&`, `||`, `!` need booleans; arithmetic needs numbers; `+` also joins strings and arrays.
 *   Numbers are JavaScript numbers: integral values print as integers, `/` may give fractions.
 *
 * Abuse guards: sources longer than MAX_SOURCE_LENGTH, nesting deeper than MAX_DEPTH, `sequence`
 * longer than MAX_SEQUENCE and more than BUDGET_ITEMS produced items per evaluation are refused.
 */

export const MAX_SOURCE_LENGTH = 10_000;
export const MAX_DEPTH = 100;
export const MAX_SEQUENCE = 1_000_000;
/** Array items and string characters one evaluation may produce in total. */
export const BUDGET_ITEMS = 10_000_000;

export class ExpressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpressionError';
  }
}

// ---- tokens ---------------------------------------------------------------------------------

type TokenKind = 'number' | 'string' | 'name' | 'operator' | 'eof';

interface Token {
  kind: TokenKind;
  /** The operator or name text, the decoded string, or the number's source. */
  text: string;
  value?: number;
  pos: number;
}

/** Longest first, so `??` wins over `?` and `<=` over `<`. */
const OPERATORS = ['?.', '??', '==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '+', '-', '*', '/', '%', '?', ':', '.', ',', '(', ')', '[', ']', '{', '}'];

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', '0': '\0', '\\': '\\', "'": "'", '"': '"', '`': '`' };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const char = source[i];
    if (/\s/.test(char)) {
      i += 1;
    } else if (/[0-9]/.test(char)) {
      const match = /^(0[xX][0-9a-fA-F_]+|[0-9][0-9_]*(\.[0-9][0-9_]*)?([eE][+-]?[0-9]+)?)/.exec(source.slice(i)) as RegExpExecArray;
      tokens.push({ kind: 'number', text: match[0], value: Number(match[0].replace(/_/g, '')), pos: i });
      i += match[0].length;
    } else if (/[A-Za-z_$]/.test(char)) {
      const name = (/^[A-Za-z_$][A-Za-z0-9_$]*/.exec(source.slice(i)) as RegExpExecArray)[0];
      tokens.push({ kind: 'name', text: name, pos: i });
      i += name.length;
    } else if (char === '"' || char === "'" || char === '`') {
      const { text, end } = readString(source, i);
      tokens.push({ kind: 'string', text, pos: i });
      i = end;
    } else {
      const operator = OPERATORS.find((op) => source.startsWith(op, i));
      if (!operator) throw syntaxError(source, i, `unexpected character ${JSON.stringify(char)}`);
      tokens.push({ kind: 'operator', text: operator, pos: i });
      i += operator.length;
    }
  }
  tokens.push({ kind: 'eof', text: '', pos: source.length });
  return tokens;
}

/** A quoted string starting at `start`; backquoted strings are raw. */
function readString(source: string, start: number): { text: string; end: number } {
  const quote = source[start];
  let text = '';
  let i = start + 1;
  while (i < source.length && source[i] !== quote) {
    if (source[i] === '\\' && quote !== '`') {
      const { decoded, length } = readEscape(source, i);
      text += decoded;
      i += length;
    } else {
      text += source[i];
      i += 1;
    }
  }
  if (i >= source.length) throw syntaxError(source, start, 'unterminated string');
  return { text, end: i + 1 };
}

function readEscape(source: string, at: number): { decoded: string; length: number } {
  const kind = source[at + 1];
  if (Object.hasOwn(ESCAPES, kind)) return { decoded: ESCAPES[kind], length: 2 };
  const hex = kind === 'x' ? 2 : kind === 'u' ? 4 : kind === 'U' ? 8 : 0;
  const digits = source.slice(at + 2, at + 2 + hex);
  if (hex > 0 && new RegExp(`^[0-9a-fA-F]{${hex}}$`).test(digits)) {
    const code = parseInt(digits, 16);
    if (code <= 0x10ffff) return { decoded: String.fromCodePoint(code), length: 2 + hex };
  }
  throw syntaxError(source, at, `invalid escape sequence ${JSON.stringify(source.slice(at, at + 2))}`);
}

// ---- syntax tree ------------------------------------------------------------------------------

export type ExprNode =
  | { type: 'literal'; value: unknown; pos: number }
  | { type: 'name'; name: string; pos: number }
  | { type: 'array'; items: ExprNode[]; pos: number }
  | { type: 'map'; entries: Array<[string, ExprNode]>; pos: number }
  | { type: 'member'; object: ExprNode; property: ExprNode; optional: boolean; pos: number }
  | { type: 'call'; callee: string; args: ExprNode[]; pos: number }
  | { type: 'unary'; operator: string; operand: ExprNode; pos: number }
  | { type: 'binary'; operator: string; left: ExprNode; right: ExprNode; pos: number }
  | { type: 'conditional'; test: ExprNode; then: ExprNode; otherwise: ExprNode; pos: number };

export interface ParsedExpression {
  readonly source: string;
  readonly root: ExprNode;
}

/** expr-lang's precedences; all binary operators here are left-associative. */
const BINARY_PRECEDENCE: Record<string, number> = {
  '||': 10, or: 10,
  '&&': 15, and: 15,
  '==': 20, '!=': 20, '<': 20, '>': 20, '<=': 20, '>=': 20, in: 20, contains: 20, startsWith: 20, endsWith: 20,
  '+': 30, '-': 30,
  '*': 60, '/': 60, '%': 60,
  '??': 500,
};
const UNARY_PRECEDENCE: Record<string, number> = { '!': 50, not: 50, '-': 90, '+': 90 };
/** Words that are operators between operands; elsewhere (`contains(a, b)`) they are names. */
const WORD_OPERATORS = new Set(['or', 'and', 'in', 'not', 'contains', 'startsWith', 'endsWith']);
const LITERAL_NAMES: Record<string, unknown> = { true: true, false: false, nil: null, null: null };

class Parser {
  private index = 0;
  private depth = 0;
  private readonly heights = new WeakMap<ExprNode, number>();

  constructor(
    private readonly source: string,
    private readonly tokens: Token[],
  ) {}

  parse(): ExprNode {
    if (this.peek().kind === 'eof') throw syntaxError(this.source, 0, 'empty expression');
    const root = this.expression(0);
    const rest = this.peek();
    if (rest.kind !== 'eof') throw this.unexpected(rest);
    return root;
  }

  private expression(minPrecedence: number): ExprNode {
    this.enter();
    let left = this.primary();
    for (;;) {
      const operator = this.binaryOperatorAhead();
      if (!operator || BINARY_PRECEDENCE[operator.name] < minPrecedence) break;
      this.index += operator.tokens;
      const right = this.expression(BINARY_PRECEDENCE[operator.name] + 1);
      left = this.built({ type: 'binary', operator: operator.name, left, right, pos: operator.pos }, [left, right]);
      if (operator.negated) left = this.built({ type: 'unary', operator: 'not', operand: left, pos: operator.pos }, [left]);
    }
    if (minPrecedence === 0 && this.isOperator('?')) left = this.conditional(left);
    this.depth -= 1;
    return left;
  }

  /** The binary operator at the cursor, if any; `not in` spans two tokens. */
  private binaryOperatorAhead(): { name: string; tokens: number; negated: boolean; pos: number } | undefined {
    const token = this.peek();
    if (token.kind === 'name' && token.text === 'not' && this.peek(1).kind === 'name' && this.peek(1).text === 'in') {
      return { name: 'in', tokens: 2, negated: true, pos: token.pos };
    }
    const isBinary =
      (token.kind === 'operator' || (token.kind === 'name' && WORD_OPERATORS.has(token.text))) && Object.hasOwn(BINARY_PRECEDENCE, token.text);
    return isBinary ? { name: token.text, tokens: 1, negated: false, pos: token.pos } : undefined;
  }

  private conditional(test: ExprNode): ExprNode {
    const pos = this.next().pos;
    const then = this.expression(0);
    this.expect(':');
    const otherwise = this.expression(0);
    return this.built({ type: 'conditional', test, then, otherwise, pos }, [test, then, otherwise]);
  }

  private primary(): ExprNode {
    const token = this.peek();
    const isUnary = (token.kind === 'operator' || (token.kind === 'name' && token.text === 'not')) && Object.hasOwn(UNARY_PRECEDENCE, token.text);
    if (isUnary) {
      this.index += 1;
      const operand = this.expression(UNARY_PRECEDENCE[token.text]);
      return this.postfix(this.built({ type: 'unary', operator: token.text, operand, pos: token.pos }, [operand]));
    }
    return this.postfix(this.operand());
  }

  private operand(): ExprNode {
    const token = this.next();
    if (token.kind === 'number') return { type: 'literal', value: token.value, pos: token.pos };
    if (token.kind === 'string') return { type: 'literal', value: token.text, pos: token.pos };
    if (token.kind === 'name') return this.named(token);
    if (token.kind === 'operator') {
      if (token.text === '(') {
        const inner = this.expression(0);
        this.expect(')');
        return inner;
      }
      if (token.text === '[') {
        const items = this.list(']');
        return this.built({ type: 'array', items, pos: token.pos }, items);
      }
      if (token.text === '{') return this.mapLiteral(token.pos);
    }
    throw this.unexpected(token);
  }

  private named(token: Token): ExprNode {
    if (this.isOperator('(')) {
      this.index += 1;
      const args = this.list(')');
      return this.built({ type: 'call', callee: token.text, args, pos: token.pos }, args);
    }
    if (Object.hasOwn(LITERAL_NAMES, token.text)) return { type: 'literal', value: LITERAL_NAMES[token.text], pos: token.pos };
    if (WORD_OPERATORS.has(token.text)) throw this.unexpected(token);
    return { type: 'name', name: token.text, pos: token.pos };
  }

  /** Comma-separated expressions up to `close`; a trailing comma is allowed. */
  private list(close: string): ExprNode[] {
    const items: ExprNode[] = [];
    while (!this.isOperator(close)) {
      items.push(this.expression(0));
      if (!this.isOperator(close)) this.expect(',');
    }
    this.index += 1;
    return items;
  }

  private mapLiteral(pos: number): ExprNode {
    const entries: Array<[string, ExprNode]> = [];
    while (!this.isOperator('}')) {
      const key = this.next();
      if (key.kind !== 'name' && key.kind !== 'string' && key.kind !== 'number') throw this.unexpected(key);
      this.expect(':');
      entries.push([key.kind === 'number' ? String(key.value) : key.text, this.expression(0)]);
      if (!this.isOperator('}')) this.expect(',');
    }
    this.index += 1;
    return this.built({ type: 'map', entries, pos }, entries.map(([, value]) => value));
  }

  /** Member access, indexing and optional chaining: `a.b`, `a?.b`, `a[0]`, `a?.[k]`. */
  private postfix(node: ExprNode): ExprNode {
    let optional = false;
    for (;;) {
      const token = this.peek();
      if (token.kind !== 'operator' || !['.', '?.', '['].includes(token.text)) return node;
      this.index += 1;
      optional ||= token.text === '?.';
      let property: ExprNode;
      if (token.text === '[' || (token.text === '?.' && this.isOperator('['))) {
        if (token.text === '?.') this.index += 1;
        property = this.expression(0);
        this.expect(']');
      } else {
        const name = this.next();
        if (name.kind !== 'name') throw this.unexpected(name);
        property = { type: 'literal', value: name.text, pos: name.pos };
      }
      if (this.isOperator('(')) throw syntaxError(this.source, this.peek().pos, 'only functions such as len(x) can be called');
      node = this.built({ type: 'member', object: node, property, optional, pos: token.pos }, [node, property]);
    }
  }

  /**
   * Records a node's height. Left-deep chains (`1+1+1…`, `a.b.c…`) are built by loops, not
   * recursion, so only this keeps the interpreter's recursion within MAX_DEPTH.
   */
  private built<T extends ExprNode>(node: T, children: ExprNode[]): T {
    const height = 1 + Math.max(0, ...children.map((child) => this.heights.get(child) ?? 1));
    if (height > MAX_DEPTH) throw syntaxError(this.source, node.pos, `expression nested more than ${MAX_DEPTH} deep`);
    this.heights.set(node, height);
    return node;
  }

  private enter(): void {
    this.depth += 1;
    if (this.depth > MAX_DEPTH) throw syntaxError(this.source, this.peek().pos, `expression nested more than ${MAX_DEPTH} deep`);
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)];
  }

  private next(): Token {
    const token = this.peek();
    if (this.index < this.tokens.length - 1) this.index += 1;
    return token;
  }

  private isOperator(text: string): boolean {
    const token = this.peek();
    return token.kind === 'operator' && token.text === text;
  }

  private expect(text: string): void {
    const token = this.next();
    if (token.kind !== 'operator' || token.text !== text) {
      throw syntaxError(this.source, token.pos, `expected ${JSON.stringify(text)} but found ${describe(token)}`);
    }
  }

  private unexpected(token: Token): ExpressionError {
    return syntaxError(this.source, token.pos, `unexpected ${describe(token)}`);
  }
}

function describe(token: Token): string {
  if (token.kind === 'eof') return 'end of expression';
  if (token.kind === 'string') return `string ${JSON.stringify(token.text)}`;
  return JSON.stringify(token.text);
}

/** `line:column`, 1-based, of an offset in the source. */
function position(source: string, offset: number): string {
  const before = source.slice(0, offset).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

function syntaxError(source: string, offset: number, message: string): ExpressionError {
  return new ExpressionError(`${message} (${position(source, offset)})`);
}

const PARSE_CACHE_SIZE = 500;
/** Templates are rendered for every execution of a 10,000-item `each`: parse each source once. */
const parseCache = new Map<string, ParsedExpression>();

/** Parses an expression (without `{{ }}`); throws ExpressionError naming the line and column. */
export function parseExpression(src: string): ParsedExpression {
  const cached = parseCache.get(src);
  if (cached) return cached;
  if (src.length > MAX_SOURCE_LENGTH) {
    throw new ExpressionError(`expression longer than ${MAX_SOURCE_LENGTH} characters`);
  }
  const parsed: ParsedExpression = { source: src, root: new Parser(src, tokenize(src)).parse() };
  if (parseCache.size >= PARSE_CACHE_SIZE) parseCache.delete(parseCache.keys().next().value as string);
  parseCache.set(src, parsed);
  return parsed;
}

// ---- evaluation -------------------------------------------------------------------------------

type Context = Record<string, unknown>;
type PlainMap = Record<string, unknown>;

function isMap(value: unknown): value is PlainMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNil(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

/** Type names for messages, in expr-lang's words. */
function typeName(value: unknown): string {
  if (isNil(value)) return 'nil';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'string';
  if (Array.isArray(value)) return 'array';
  if (isMap(value)) return 'map';
  return typeof value;
}

/** Counts what an evaluation produces, so `[sequence(0, 1e6), sequence(0, 1e6), …]` stops early. */
class Budget {
  private remaining = BUDGET_ITEMS;

  charge(items: number): void {
    this.remaining -= items;
    if (this.remaining < 0) throw new ExpressionError(`expression produces more than ${BUDGET_ITEMS} items`);
  }
}

interface Evaluation {
  source: string;
  ctx: Context;
  budget: Budget;
}

/** Raised inside the interpreter; the position is added once, at the node that failed. */
class EvalFailure extends Error {}

function fail(message: string): never {
  throw new EvalFailure(message);
}

function evaluateNode(node: ExprNode, ev: Evaluation): unknown {
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

function deepEqual(a: unknown, b: unknown, depth: number): boolean {
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

function guardDepth(depth: number): void {
  if (depth > MAX_DEPTH) fail(`value nested more than ${MAX_DEPTH} deep`);
}

// ---- functions --------------------------------------------------------------------------------

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

function sequence(args: unknown[], budget: Budget): number[] {
  const start = intArg('sequence', args[0]);
  const stop = intArg('sequence', args[1]);
  const count = Math.max(0, stop - start);
  if (count > MAX_SEQUENCE) fail(`sequence: ${count} items is more than the ${MAX_SEQUENCE} allowed`);
  budget.charge(count);
  return Array.from({ length: count }, (_, i) => start + i);
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

function callFunction(name: string, args: unknown[], budget: Budget): unknown {
  const builtin = Object.hasOwn(BUILTINS, name) ? BUILTINS[name] : undefined;
  if (!builtin) return fail(`unknown name ${name}`);
  if (!builtin.arity.includes(args.length)) {
    fail(`${name}: expects ${builtin.arity.join(' or ')} arguments, got ${args.length}`);
  }
  return builtin.fn(args, budget);
}

// ---- formatting -------------------------------------------------------------------------------

function sortedEntries(map: PlainMap): Array<[string, unknown]> {
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

function formatAt(value: unknown, depth: number): string {
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
function toJSON(value: unknown): string {
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

// ---- entry points -----------------------------------------------------------------------------

/** The body of a source that is one `{{ … }}` placeholder, else the source itself. */
function unwrap(src: string): string {
  const trimmed = src.trim();
  return trimmed.startsWith('{{') && trimmed.endsWith('}}') && trimmed.length >= 4 ? trimmed.slice(2, -2).trim() : src;
}

/**
 * Whether an expression compiles, as Tork checks `if`, `output`, webhook `if` and `each.list`: a
 * surrounding `{{ … }}` is stripped first (`1+1` and `{{1+1}}` are valid, `{1+1` is not). Returns
 * the error message, or null.
 */
export function checkExpression(src: string): string | null {
  try {
    parseExpression(unwrap(src));
    return null;
  } catch (error) {
    if (error instanceof ExpressionError) return error.message;
    throw error;
  }
}

/** Evaluates an expression (a surrounding `{{ … }}` is stripped) over a context of plain data. */
export function evaluateExpression(src: string, ctx: Record<string, unknown>): unknown {
  const parsed = parseExpression(unwrap(src));
  return guardStack(() => evaluateNode(parsed.root, { source: parsed.source, ctx, budget: new Budget() }));
}

/** A stack overflow on hostile data (deep fromJSON) is the expression's fault, not a crash. */
function guardStack<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof EvalFailure) throw new ExpressionError(error.message);
    if (error instanceof RangeError) throw new ExpressionError(`expression too complex: ${error.message}`);
    throw error;
  }
}

/** Tork's placeholder pattern: `{{`, the shortest run of characters on one line, `}}`. */
const PLACEHOLDER = /\{\{\s*([^\n]+?)\s*\}\}/g;

/**
 * Replaces every `{{ expr }}` in a string with its value formatted like Go's `%v`. A string
 * without placeholders comes back unchanged. Throws ExpressionError naming the placeholder.
 */
export function renderTemplate(template: string, ctx: Record<string, unknown>): string {
  if (!template.includes('{{')) return template;
  return template.replace(PLACEHOLDER, (whole: string, body: string) => {
    try {
      return guardStack(() => formatValue(evaluateExpression(body, ctx)));
    } catch (error) {
      if (error instanceof ExpressionError) throw new ExpressionError(`error evaluating ${whole}: ${error.message}`);
      throw error;
    }
  });
}

/** Whether every `{{ … }}` placeholder of a template compiles; the first error message, or null. */
export function checkTemplate(template: string): string | null {
  for (const match of template.matchAll(PLACEHOLDER)) {
    const problem = checkExpression(match[1]);
    if (problem) return `${match[0]}: ${problem}`;
  }
  return null;
}

/** Tork runs a task unless its evaluated `if`, printed and trimmed, is exactly `false`. */
export function isTruthyCondition(value: unknown): boolean {
  return formatValue(value).trim() !== 'false';
}
