/**
 * Strict decoding of Tork job bodies against the Go structs of input.ts, with Go's messages:
 *
 * - JSON as `encoding/json` with DisallowUnknownFields: keys match fields case-insensitively,
 *   `null` leaves a field unset, the first problem in document order is the answer
 *   (`json: unknown field "nosuch"`, `json: cannot unmarshal number into Go struct field
 *   Task.tasks.env of type string`), an empty body is `EOF`.
 * - YAML as `yaml.v3` with KnownFields: keys match exactly, plain scalars are accepted into
 *   strings as written (`cpus: .5` is ".5"), every problem is listed
 *   (`yaml: unmarshal errors:\n  line 3: field nosuch not found in type input.Task`).
 *
 * Which decoder runs is chosen by the Content-Type (tork.md §3.1, with §11 #3's leniency).
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, Scalar, type Document, type Node } from 'yaml';
import { TorkError, badRequest } from './errors.js';
import { syntaxMessage, unknownAlias, unknownAnchorMessage } from './yaml-errors.js';
import { GoJsonSyntaxError, goIntOf, jsonKindOf, JsonNumber, JsonObject, readJsonValue, type JsonValue } from './go-json.js';
import type { GoField, GoStruct, GoType } from './input.js';

export type BodyFormat = 'json' | 'yaml';

const YAML_TYPES = ['text/yaml', 'application/x-yaml', 'application/yaml'];

/**
 * The decoder a Content-Type selects. Tork compares the header with `==`; barge accepts the same
 * media types in any case and with parameters (`application/json; charset=utf-8`), and also
 * `application/yaml`, as §11 #3 recommends.
 */
export function bodyFormatOf(header: string | undefined): BodyFormat {
  if (header === undefined || header.trim() === '') throw badRequest('missing content type');
  const mediaType = header.split(';')[0].trim().toLowerCase();
  if (mediaType === 'application/json') return 'json';
  if (YAML_TYPES.includes(mediaType)) return 'yaml';
  throw badRequest(`unknown content type: ${header}`);
}

/** Decodes a body into the shape of `root`; throws a 400 TorkError with Go's text. */
export function decodeBody<T>(body: string | undefined, format: BodyFormat, root: GoStruct): T {
  if (body === undefined || body === '') throw badRequest('EOF');
  return (format === 'json' ? decodeJson(body, root) : decodeYaml(body, root)) as T;
}

// ---- Go type names ------------------------------------------------------------------------------

function goTypeName(type: GoType): string {
  switch (type.kind) {
    case 'string':
    case 'int':
    case 'bool':
      return type.kind;
    case 'map':
      return 'map[string]string';
    case 'slice':
      return `[]${goTypeName(type.of)}`;
    case 'struct':
      return type.struct().typeName;
  }
}

function findField(struct: GoStruct, key: string, foldCase: boolean): GoField | undefined {
  return struct.fields.find((f) => f.key === key) ?? (foldCase ? struct.fields.find((f) => f.key.toLowerCase() === key.toLowerCase()) : undefined);
}

// ---- JSON ---------------------------------------------------------------------------------------

/** Where the decoder is, for Go's `Struct.field.path` in type errors. */
interface JsonPlace {
  struct: string | null;
  path: string[];
}

class JsonDecodeError extends TorkError {
  constructor(message: string) {
    super(400, message);
  }
}

export function decodeJson(text: string, root: GoStruct): unknown {
  let parsed: JsonValue;
  try {
    parsed = readJsonValue(text, 'decoder');
  } catch (error) {
    if (error instanceof GoJsonSyntaxError) throw new JsonDecodeError(error.message);
    throw error;
  }
  return decodeJsonValue(parsed, { kind: 'struct', struct: () => root, pointer: false }, { struct: null, path: [] }) ?? {};
}

function typeError(what: string, type: GoType, place: JsonPlace): JsonDecodeError {
  const into = place.struct === null ? 'Go value' : `Go struct field ${place.struct}.${place.path.join('.')}`;
  return new JsonDecodeError(`json: cannot unmarshal ${what} into ${into} of type ${goTypeName(type)}`);
}

/** The decoded value, or undefined for `null` (Go leaves the field as it was: zero). */
function decodeJsonValue(value: JsonValue, type: GoType, place: JsonPlace): unknown {
  if (value === null) return undefined;
  switch (type.kind) {
    case 'string':
      if (typeof value === 'string') return value;
      throw typeError(jsonKindOf(value), type, place);
    case 'int': {
      // Go quotes the number as written when it is not an int: `number 1.5`, `number 1e400`.
      const int = value instanceof JsonNumber ? goIntOf(value) : null;
      if (int !== null) return int;
      throw typeError(value instanceof JsonNumber ? `number ${value.text}` : jsonKindOf(value), type, place);
    }
    case 'bool':
      if (typeof value === 'boolean') return value;
      throw typeError(jsonKindOf(value), type, place);
    case 'map':
      return decodeJsonMap(value, type, place);
    case 'slice':
      if (!Array.isArray(value)) throw typeError(jsonKindOf(value), type, place);
      return value.map((item) => decodeJsonValue(item, type.of, place) ?? zeroOf(type.of));
    case 'struct':
      if (!(value instanceof JsonObject)) throw typeError(jsonKindOf(value), type, place);
      return decodeJsonStruct(value, type.struct(), place);
  }
}

function decodeJsonMap(value: JsonValue, type: GoType, place: JsonPlace): Record<string, string> {
  if (!(value instanceof JsonObject)) throw typeError(jsonKindOf(value), type, place);
  const out: Record<string, string> = {};
  for (const [key, item] of value.members) {
    out[key] = (decodeJsonValue(item, { kind: 'string' }, place) as string | undefined) ?? '';
  }
  return out;
}

function decodeJsonStruct(value: JsonObject, struct: GoStruct, place: JsonPlace): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, item] of value.members) {
    const field = findField(struct, key, true);
    if (!field) throw new JsonDecodeError(`json: unknown field ${JSON.stringify(key)}`);
    const decoded = decodeJsonValue(item, field.type, { struct: struct.name, path: [...place.path, field.key] });
    if (decoded !== undefined) out[field.key] = decoded;
    else delete out[field.key];
  }
  return out;
}

/** What an array element `null` becomes: Go's zero value of the element type. */
function zeroOf(type: GoType): unknown {
  switch (type.kind) {
    case 'string':
      return '';
    case 'int':
      return 0;
    case 'bool':
      return false;
    case 'struct':
      return {};
    default:
      return undefined;
  }
}

// ---- YAML ---------------------------------------------------------------------------------------

/** yaml.v3 refuses documents that expand aliases this much (billion laughs). */
const MAX_ALIAS_EXPANSIONS = 100;

interface YamlContext {
  text: string;
  doc: Document;
  lines: LineCounter;
  problems: string[];
  aliases: number;
}

export function decodeYaml(text: string, root: GoStruct): unknown {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  const doc = Array.isArray(docs) ? docs[0] : undefined;
  if (!doc) throw badRequest('EOF');
  // yaml.v3 stops at the first problem in document order: a syntax error or an unknown anchor.
  const syntax = doc.errors[0];
  const alias = unknownAlias(doc);
  if (alias && (!syntax || alias.offset < syntax.pos[0])) throw badRequest(unknownAnchorMessage(alias.name));
  if (syntax) throw badRequest(syntaxMessage(syntax, doc, text, lines));
  const ctx: YamlContext = { text, doc, lines, problems: [], aliases: 0 };
  const decoded = decodeYamlNode(doc.contents as Node | null, { kind: 'struct', struct: () => root, pointer: false }, ctx);
  if (ctx.problems.length > 0) throw badRequest(`yaml: unmarshal errors:\n${ctx.problems.map((p) => `  ${p}`).join('\n')}`);
  return decoded ?? {};
}

function lineOf(node: Node, ctx: YamlContext): number {
  return ctx.lines.linePos(node.range?.[0] ?? 0).line;
}

/** Follows an alias to its anchor, counting expansions. */
function resolve(node: Node | null, ctx: YamlContext): Node | null {
  if (!node || !isAlias(node)) return node;
  ctx.aliases += 1;
  if (ctx.aliases > MAX_ALIAS_EXPANSIONS) throw badRequest('yaml: document contains excessive aliasing');
  return (node.resolve(ctx.doc) as Node | undefined) ?? null;
}

/** yaml.v3's short tag of a node: !!str, !!int, !!float, !!bool, !!null, !!seq, !!map. */
function shortTag(node: Node, ctx: YamlContext): string {
  if (node.tag?.startsWith('tag:yaml.org,2002:')) return `!!${node.tag.slice('tag:yaml.org,2002:'.length)}`;
  if (node.tag) return node.tag;
  if (isMap(node)) return '!!map';
  if (isSeq(node)) return '!!seq';
  const value = (node as Scalar).value;
  if (value === null || value === undefined) return '!!null';
  if (typeof value === 'boolean') return '!!bool';
  if (typeof value === 'number') return Number.isInteger(value) && /^[-+]?(0x[0-9a-f]+|0o[0-7]+|\d+)$/i.test(scalarText(node as Scalar, ctx)) ? '!!int' : '!!float';
  return '!!str';
}

/** A scalar as yaml.v3 hands it to a string field: plain scalars as written, others as parsed. */
function scalarText(node: Scalar, ctx: YamlContext): string {
  if (node.type === Scalar.PLAIN && node.range) return ctx.text.slice(node.range[0], node.range[1]);
  return typeof node.value === 'string' ? node.value : String(node.value);
}

function isNullScalar(node: Node | null): boolean {
  return node === null || (isScalar(node) && (node.value === null || node.value === undefined));
}

function typeProblem(node: Node, type: GoType, ctx: YamlContext): undefined {
  const tag = shortTag(node, ctx);
  let value = '';
  if (tag !== '!!seq' && tag !== '!!map') {
    const text = isScalar(node) ? scalarText(node, ctx) : '';
    value = text.length > 10 ? ` \`${text.slice(0, 7)}...\`` : ` \`${text}\``;
  }
  ctx.problems.push(`line ${lineOf(node, ctx)}: cannot unmarshal ${tag}${value} into ${goTypeName(type)}`);
  return undefined;
}

function decodeYamlNode(raw: Node | null, type: GoType, ctx: YamlContext): unknown {
  const node = resolve(raw, ctx);
  if (node === null || isNullScalar(node)) return undefined;
  switch (type.kind) {
    case 'string':
      return isScalar(node) ? scalarText(node, ctx) : typeProblem(node, type, ctx);
    case 'int':
      if (isScalar(node) && typeof node.value === 'number' && Number.isSafeInteger(node.value)) return node.value;
      return typeProblem(node, type, ctx);
    case 'bool':
      return isScalar(node) && typeof node.value === 'boolean' ? node.value : typeProblem(node, type, ctx);
    case 'map':
      return decodeYamlMap(node, type, ctx);
    case 'slice':
      if (!isSeq(node)) return typeProblem(node, type, ctx);
      return node.items.map((item) => decodeYamlNode(item as Node, type.of, ctx) ?? zeroOf(type.of));
    case 'struct':
      return isMap(node) ? decodeYamlStruct(node, type.struct(), ctx) : typeProblem(node, type, ctx);
  }
}

function decodeYamlMap(node: Node, type: GoType, ctx: YamlContext): Record<string, string> | undefined {
  if (!isMap(node)) return typeProblem(node, type, ctx);
  const out: Record<string, string> = {};
  for (const { key, value } of pairsOf(node, ctx)) {
    out[key] = (decodeYamlNode(value, { kind: 'string' }, ctx) as string | undefined) ?? '';
  }
  return out;
}

function decodeYamlStruct(node: Node, struct: GoStruct, ctx: YamlContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, keyNode, value } of pairsOf(node, ctx)) {
    const field = findField(struct, key, false);
    if (!field) {
      ctx.problems.push(`line ${lineOf(keyNode, ctx)}: field ${key} not found in type ${struct.typeName}`);
      continue;
    }
    const decoded = decodeYamlNode(value, field.type, ctx);
    if (decoded !== undefined) out[field.key] = decoded;
  }
  return out;
}

interface Entry {
  key: string;
  keyNode: Node;
  value: Node | null;
}

/**
 * A mapping's entries with merge keys (`<<: *base`) expanded, the mapping's own keys winning, and
 * duplicate keys reported as yaml.v3 reports them.
 */
function pairsOf(node: Node, ctx: YamlContext): Entry[] {
  if (!isMap(node)) return [];
  const own: Entry[] = [];
  const merged: Entry[] = [];
  const seenAt = new Map<string, number>();
  for (const pair of node.items) {
    const keyNode = resolve(pair.key as Node | null, ctx);
    if (!keyNode) continue;
    const key = isScalar(keyNode) ? scalarText(keyNode, ctx) : String(keyNode);
    const value = pair.value as Node | null;
    if (key === '<<' && isScalar(keyNode) && keyNode.type === Scalar.PLAIN) {
      merged.push(...mergedEntries(value, ctx));
      continue;
    }
    const line = lineOf(keyNode, ctx);
    const earlier = seenAt.get(key);
    if (earlier !== undefined) {
      ctx.problems.push(`line ${line}: mapping key ${JSON.stringify(key)} already defined at line ${earlier}`);
      continue;
    }
    seenAt.set(key, line);
    own.push({ key, keyNode, value });
  }
  return [...merged.filter((entry) => !seenAt.has(entry.key)), ...own];
}

function mergedEntries(raw: Node | null, ctx: YamlContext): Entry[] {
  const node = resolve(raw, ctx);
  if (node && isSeq(node)) return node.items.flatMap((item) => mergedEntries(item as Node, ctx));
  if (node && isMap(node)) return pairsOf(node, ctx);
  if (node) ctx.problems.push(`line ${lineOf(node, ctx)}: map merge requires map or sequence of maps as the value`);
  return [];
}
