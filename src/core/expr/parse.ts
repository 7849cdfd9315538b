/**
 * Expression syntax: a hand-written tokenizer and Pratt parser that turn the source of a template
 * expression into an AST (ExprNode), the limits shared by parsing and evaluation, ExpressionError,
 * and a cache of parsed sources.
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
export function position(source: string, offset: number): string {
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
