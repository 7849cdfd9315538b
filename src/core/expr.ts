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
 */

import { evaluateNode } from './expr/evaluate.js';
import { Budget, guardStack } from './expr/values.js';
import { formatValue } from './expr/format.js';
import { ExpressionError, parseExpression } from './expr/parse.js';

export { formatValue } from './expr/format.js';
export { integerRangeOf, type IntegerRange } from './expr/range.js';
export {
  BUDGET_ITEMS,
  ExpressionError,
  MAX_DEPTH,
  MAX_SEQUENCE,
  MAX_SOURCE_LENGTH,
  parseExpression,
  type ExprNode,
  type ParsedExpression,
} from './expr/parse.js';

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
