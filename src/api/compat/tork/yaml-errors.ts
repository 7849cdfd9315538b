/**
 * Syntax errors of a YAML body in yaml.v3's words. yaml.v3 (a Go port of libyaml) stops at its
 * first problem and prints `yaml: line N: <problem>`; the `yaml` package finds the same mistakes
 * but names them its own way. This module maps the common classes onto libyaml's texts
 * (scannerc.go, parserc.go) and onto the line yaml.v3 prints, which follows decode.go's `fail`:
 *
 * - a *scanner* error prints its context mark's line + 1 (1-based), or the problem mark's when
 *   the context is on the first line, and no line at all when both are on the first line;
 * - a *parser* error prints the 0-based line of its context mark (the collection being parsed),
 *   or of the offending token when the context is on the first line: one less than the line
 *   a person would count.
 *
 * Classes without a mapping keep the `yaml` package's message with its line (README lists this).
 * An alias whose anchor is not defined before it is yaml.v3's `unknown anchor 'x' referenced`,
 * which the `yaml` package does not report at all.
 */
import { isAlias, isCollection, isMap, isSeq, LineCounter, Scalar, visit, type Document, type Node, type YAMLError } from 'yaml';

interface Located {
  problem: string;
  /** The line yaml.v3 prints; 0 prints none. */
  line: number;
}

/** decode.go's rule for scanner errors, from 0-based lines. */
function scannerLine(context: number, problem: number): number {
  if (context !== 0) return context + 1;
  return problem !== 0 ? problem + 1 : 0;
}

/** decode.go's rule for parser errors, from 0-based lines. */
function parserLine(context: number, problem: number): number {
  return context !== 0 ? context : problem;
}

export function yamlMessage({ problem, line }: Located): string {
  return line === 0 ? `yaml: ${problem}` : `yaml: line ${line}: ${problem}`;
}

class Source {
  readonly lineTexts: string[];

  constructor(
    readonly text: string,
    private readonly lines: LineCounter,
  ) {
    this.lineTexts = text.split('\n');
  }

  /** The 0-based line of an offset. */
  line0(offset: number): number {
    return this.lines.linePos(offset).line - 1;
  }

  /** The offset where a 0-based line starts. */
  lineStart(line0: number): number {
    return this.lines.lineStarts[line0] ?? 0;
  }
}

/** The first alias, in document order, whose anchor is not defined before it. */
export function unknownAlias(doc: Document): { name: string; offset: number } | null {
  const defined = new Set<string>();
  let found: { name: string; offset: number } | null = null;
  visit(doc, (_key, node) => {
    if (isAlias(node)) {
      if (!defined.has(node.source)) {
        found = { name: node.source, offset: node.range?.[0] ?? 0 };
        return visit.BREAK;
      }
      return undefined;
    }
    const anchor = (node as { anchor?: string } | null)?.anchor;
    if (anchor) defined.add(anchor);
    return undefined;
  });
  return found;
}

export function unknownAnchorMessage(name: string): string {
  return `yaml: unknown anchor '${name}' referenced`;
}

/** yaml.v3's message for the `yaml` package's first syntax error. */
export function syntaxMessage(error: YAMLError, doc: Document, text: string, lines: LineCounter): string {
  const source = new Source(text, lines);
  return yamlMessage(locate(error, doc, source));
}

function locate(error: YAMLError, doc: Document, source: Source): Located {
  const offset = error.pos[0];
  const here = source.line0(offset);
  const message = error.message;
  switch (error.code) {
    case 'TAB_AS_INDENT':
    case 'BAD_SCALAR_START':
      // A tab where indentation is read, `@` or a backquote where a token starts.
      return { problem: 'found character that cannot start any token', line: scannerLine(here, here) };
    case 'BLOCK_AS_IMPLICIT_KEY': {
      if (message.startsWith('A block sequence')) return misplacedEntry(error, source, here);
      // libyaml reads on to the `:` that a plain scalar may not hold, and complains there.
      const colon = source.line0(colonAfter(source.text, offset));
      return { problem: 'mapping values are not allowed in this context', line: scannerLine(colon, colon) };
    }
    case 'BAD_DQ_ESCAPE': {
      const start = source.line0(quotedScalarAt(doc, offset)?.range?.[0] ?? offset);
      const problem = /\\[xuU]/.test(message) ? 'did not find expected hexdecimal number' : 'found unknown escape character';
      return { problem, line: scannerLine(start, here) };
    }
    default:
      break;
  }
  if (error.code === 'BAD_INDENT' && /^Flow (sequence|map)/.test(message)) {
    const sequence = message.startsWith('Flow sequence');
    const opener = unclosedFlow(doc, offset, sequence);
    const context = source.line0(opener?.range?.[0] ?? offset);
    // The offending token is on a later line; at the end of the body libyaml moves to a new line.
    return { problem: `did not find expected ',' or '${sequence ? ']' : '}'}'`, line: parserLine(context, Math.max(1, here)) };
  }
  if (error.code === 'MISSING_CHAR' && /closing .?quote/.test(message)) {
    const start = source.line0(quotedScalarAt(doc, offset)?.range?.[0] ?? offset);
    return { problem: 'found unexpected end of stream', line: scannerLine(start, source.line0(source.text.length)) };
  }
  if (
    /^Sequence item without - indicator|^All mapping items must start at the same column|^Implicit map keys need to be followed by map values/.test(message) ||
    error.code === 'MULTILINE_IMPLICIT_KEY'
  ) {
    return misplacedEntry(error, source, here);
  }
  if (error.code === 'UNEXPECTED_TOKEN' && /^Unexpected (flow-seq-end|flow-map-end|scalar)/.test(message)) {
    // A token left over after a complete value: the mapping holding the line wanted a key.
    const column = offset - (source.lineStart(here));
    const open = openCollection(source, here, column, true);
    return { problem: 'did not find expected key', line: parserLine(open?.line ?? 0, here) };
  }
  return { problem: message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''), line: here + 1 };
}

/**
 * Something at the start of a line that the open block collection cannot hold: libyaml's
 * parser expects a `-` (in a sequence) or a key (in a mapping) and names the collection's first
 * line; a plain word with no `:` after it is the scanner's missing `:` of a simple key.
 */
function misplacedEntry(error: YAMLError, source: Source, here: number): Located {
  const lineText = source.lineTexts[here] ?? '';
  const column = lineText.length - lineText.trimStart().length;
  const startsEntry = /^-(\s|$)/.test(lineText.trimStart());
  const keyWithoutValue = error.code === 'MULTILINE_IMPLICIT_KEY' || error.message.startsWith('Implicit map keys need to be followed');
  if (keyWithoutValue && !startsEntry) {
    return { problem: "could not find expected ':'", line: scannerLine(here, here) };
  }
  const open = openCollection(source, here, column);
  if (!open) return { problem: 'did not find expected key', line: here };
  const problem = open.kind === 'sequence' ? "did not find expected '-' indicator" : 'did not find expected key';
  return { problem, line: parserLine(open.line, here) };
}

interface OpenCollection {
  kind: 'sequence' | 'mapping';
  /** 0-based line of its first entry. */
  line: number;
}

/** The block collections a line opens or continues, outermost first: `- - a: b` holds two sequences and a mapping. */
function collectionsOf(lineText: string): Array<{ kind: OpenCollection['kind']; column: number }> {
  const found: Array<{ kind: OpenCollection['kind']; column: number }> = [];
  let column = lineText.length - lineText.trimStart().length;
  let rest = lineText.slice(column);
  while (/^-(\s|$)/.test(rest)) {
    found.push({ kind: 'sequence', column });
    const after = rest.slice(1);
    const skipped = after.length - after.trimStart().length;
    column += 1 + skipped;
    rest = after.slice(skipped);
  }
  if (/^[^#\s][^#]*?:(\s|$)/.test(rest)) found.push({ kind: 'mapping', column });
  return found;
}

function isContent(lineText: string | undefined): lineText is string {
  return lineText !== undefined && lineText.trim() !== '' && !lineText.trimStart().startsWith('#');
}

/**
 * The innermost block collection still open at `column` on line `here` (libyaml closes the ones
 * indented deeper), with the line where it began. `sameLine`: collections the line itself opens
 * before `column` count too (a stray token in the middle of a line).
 */
function openCollection(source: Source, here: number, column: number, sameLine = false): OpenCollection | null {
  for (let i = sameLine ? here : here - 1; i >= 0; i -= 1) {
    const lineText = source.lineTexts[i];
    if (!isContent(lineText)) continue;
    const candidates = collectionsOf(lineText).filter((c) => (i === here ? c.column < column : c.column <= column));
    const innermost = candidates.at(-1);
    if (!innermost) {
      if (lineText.length - lineText.trimStart().length <= column) return null;
      continue;
    }
    const first = firstLineOf(source, i, innermost);
    return innermost.kind === 'sequence' ? (indentlessParent(source, first, innermost.column) ?? { kind: 'sequence', line: first }) : { kind: 'mapping', line: first };
  }
  return null;
}

/**
 * A sequence written at its key's column (`tasks:` then `- a` below it) is indentless: libyaml
 * ends it at the first line without a `-` and goes back to the mapping, which wants a key.
 */
function indentlessParent(source: Source, first: number, column: number): OpenCollection | null {
  for (let i = first - 1; i >= 0; i -= 1) {
    const lineText = source.lineTexts[i];
    if (!isContent(lineText)) continue;
    const mapping = collectionsOf(lineText).find((c) => c.kind === 'mapping' && c.column === column);
    return mapping ? { kind: 'mapping', line: firstLineOf(source, i, mapping) } : null;
  }
  return null;
}

/** Walks up from a line that holds a collection's entry to the line of its first entry. */
function firstLineOf(source: Source, from: number, collection: { kind: OpenCollection['kind']; column: number }): number {
  let first = from;
  for (let i = from - 1; i >= 0; i -= 1) {
    const lineText = source.lineTexts[i];
    if (!isContent(lineText)) continue;
    const indent = lineText.length - lineText.trimStart().length;
    if (indent > collection.column) continue;
    const same = collectionsOf(lineText).some((c) => c.kind === collection.kind && c.column === collection.column);
    if (!same) break;
    first = i;
    // A collection opened after `- ` starts on that line; nothing above belongs to it.
    if (indent < collection.column) break;
  }
  return first;
}

/** The offset of the `:` that ends the plain scalar starting at `offset` (a `:` followed by a blank). */
function colonAfter(text: string, offset: number): number {
  const match = /:(?=[ \t\r\n]|$)/.exec(text.slice(offset));
  return match ? offset + match.index : offset;
}

function quotedScalarAt(doc: Document, offset: number): Node | undefined {
  let found: Node | undefined;
  visit(doc, {
    Scalar(_key, node) {
      const range = node.range;
      const quoted = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE;
      if (quoted && range && range[0] <= offset && offset <= range[1]) found = node;
    },
  });
  return found;
}

/** The innermost flow collection of the kind that the `yaml` package saw end unclosed at `offset`. */
function unclosedFlow(doc: Document, offset: number, sequence: boolean): Node | undefined {
  let found: Node | undefined;
  visit(doc, (_key, node) => {
    if (!isCollection(node) || !node.flow || !node.range) return;
    if ((sequence && !isSeq(node)) || (!sequence && !isMap(node))) return;
    if (node.range[1] === offset && (!found || (found.range?.[0] ?? 0) < node.range[0])) found = node;
  });
  return found;
}
