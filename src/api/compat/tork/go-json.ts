/**
 * The first JSON value of a body, read as Go's `json.Decoder` reads it, with the syntax errors
 * of Go's `encoding/json` scanner (scanner.go): `unexpected EOF` when the body ends inside a
 * value, `EOF` when it holds only spaces, and otherwise `invalid character 'x' <context>`
 * naming the byte where the scanner stopped (`looking for beginning of object key string`,
 * `after object key:value pair`, `in literal true (expecting 'e')`, …). What follows the first
 * value is ignored, as the Decoder ignores it.
 *
 * Numbers keep the text they were written with, because Go quotes it in type errors
 * (`json: cannot unmarshal number 99999999999999999999 into … of type int`). Objects keep their
 * members in order, duplicates included, because Go decodes (and complains) in document order.
 */

/** A JSON number as written. */
export class JsonNumber {
  constructor(readonly text: string) {}
}

/** A JSON object's members in document order. */
export class JsonObject {
  readonly members: Array<[string, JsonValue]> = [];
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;

/** A syntax error with Go's text. */
export class GoJsonSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoJsonSyntaxError';
  }
}

/** Go's limit on nesting (scanner.go `maxNestingDepth`). */
const MAX_NESTING_DEPTH = 10_000;

/** Go's `isSpace`: only these four count as white space between tokens. */
function isGoSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a;
}

const isDigit = (code: number): boolean => code >= 0x30 && code <= 0x39;
const isHex = (code: number): boolean => isDigit(code) || (code >= 0x61 && code <= 0x66) || (code >= 0x41 && code <= 0x46);

/** The first UTF-8 byte of the character at `index`: Go's scanner looks at bytes. */
function firstUtf8Byte(text: string, index: number): number {
  const point = text.codePointAt(index) ?? 0;
  if (point < 0x80) return point;
  if (point < 0x800) return 0xc0 | (point >> 6);
  if (point < 0x10000) return 0xe0 | (point >> 12);
  return 0xf0 | (point >> 18);
}

const GO_ESCAPES: Record<number, string> = { 0x07: '\\a', 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0b: '\\v', 0x0c: '\\f', 0x0d: '\\r' };

/**
 * A byte as Go's `quoteChar` prints it: `strconv.Quote` of the byte taken as a rune, between
 * single quotes, except that `'` and `"` are written bare. A byte of a multi-byte character is
 * therefore shown as the Latin-1 character of that byte (`é` starts with 0xC3: `'Ã'`).
 */
export function goQuoteByte(byte: number): string {
  if (byte === 0x27) return `'\\''`;
  if (byte === 0x22) return `'"'`;
  if (byte === 0x5c) return `'\\\\'`;
  const escape = GO_ESCAPES[byte];
  if (escape) return `'${escape}'`;
  const hex = byte.toString(16).padStart(2, '0');
  if (byte < 0x20 || byte === 0x7f) return `'\\x${hex}'`;
  // strconv.IsPrint: the C1 controls, NO-BREAK SPACE and SOFT HYPHEN are not printable.
  if ((byte >= 0x80 && byte <= 0xa0) || byte === 0xad) return `'\\u00${hex}'`;
  return `'${String.fromCharCode(byte)}'`;
}

type Frame = { kind: 'array'; value: JsonValue[] } | { kind: 'object'; value: JsonObject; key: string };

/** What the reader expects next, named after the scanner states whose errors it reproduces. */
type Expect = 'value' | 'valueOrArrayEnd' | 'keyOrObjectEnd' | 'key' | 'colon' | 'afterValue';

/**
 * How the body is read: `decoder` as `json.Decoder.Decode` (the first value; `EOF` for an empty
 * body, `unexpected EOF` for one that ends inside a value), `unmarshal` as `json.Unmarshal` (the
 * whole body must be one value: `unexpected end of JSON input`, and a complaint about anything
 * after it).
 */
export type JsonReading = 'decoder' | 'unmarshal';

class Reader {
  private pos = 0;
  private readonly stack: Frame[] = [];
  private readonly endedEarly: string;

  constructor(
    private readonly text: string,
    private readonly reading: JsonReading,
  ) {
    this.endedEarly = reading === 'decoder' ? 'unexpected EOF' : 'unexpected end of JSON input';
  }

  read(): JsonValue {
    const value = this.readValue();
    if (this.reading === 'unmarshal') {
      this.skipSpaces();
      if (this.pos < this.text.length) this.fail('after top-level value');
    }
    return value;
  }

  private readValue(): JsonValue {
    this.skipSpaces();
    if (this.pos >= this.text.length) throw new GoJsonSyntaxError(this.reading === 'decoder' ? 'EOF' : this.endedEarly);
    const top: { done: boolean; value: JsonValue } = { done: false, value: null };
    // A finished value goes into its container, or ends the read at the top level.
    const complete = (value: JsonValue): Expect => {
      const frame = this.stack.at(-1);
      if (!frame) Object.assign(top, { done: true, value });
      else if (frame.kind === 'array') frame.value.push(value);
      else frame.value.members.push([frame.key, value]);
      return 'afterValue';
    };
    const close = (): Expect => {
      this.pos += 1;
      return complete((this.stack.pop() as Frame).value);
    };
    let expect: Expect = 'value';
    while (!top.done) {
      this.skipSpaces();
      if (this.pos >= this.text.length) throw new GoJsonSyntaxError(this.endedEarly);
      expect = this.step(expect, this.text.charCodeAt(this.pos), complete, close);
    }
    return top.value;
  }

  private step(expect: Expect, code: number, complete: (value: JsonValue) => Expect, close: () => Expect): Expect {
    const frame = this.stack.at(-1) as Frame;
    switch (expect) {
      case 'valueOrArrayEnd':
        return code === 0x5d ? close() : this.beginValue(code, complete);
      case 'value':
        return this.beginValue(code, complete);
      case 'keyOrObjectEnd':
        return code === 0x7d ? close() : this.key(code, frame);
      case 'key':
        return this.key(code, frame);
      case 'colon':
        if (code !== 0x3a) this.fail('after object key');
        this.pos += 1;
        return 'value';
      case 'afterValue':
        if (code === 0x2c) {
          this.pos += 1;
          return frame.kind === 'object' ? 'key' : 'value';
        }
        if (code === (frame.kind === 'object' ? 0x7d : 0x5d)) return close();
        return this.fail(frame.kind === 'object' ? 'after object key:value pair' : 'after array element');
    }
  }

  private key(code: number, frame: Frame): Expect {
    if (code !== 0x22) this.fail('looking for beginning of object key string');
    (frame as Extract<Frame, { kind: 'object' }>).key = this.readString();
    return 'colon';
  }

  private beginValue(code: number, complete: (value: JsonValue) => Expect): Expect {
    if (code === 0x7b || code === 0x5b) {
      if (this.stack.length >= MAX_NESTING_DEPTH) this.fail('exceeded max depth');
      this.pos += 1;
      if (code === 0x7b) {
        this.stack.push({ kind: 'object', value: new JsonObject(), key: '' });
        return 'keyOrObjectEnd';
      }
      this.stack.push({ kind: 'array', value: [] });
      return 'valueOrArrayEnd';
    }
    if (code === 0x22) return complete(this.readString());
    if (code === 0x2d || isDigit(code)) return complete(this.readNumber());
    if (code === 0x74) return complete(this.readLiteral('true', true));
    if (code === 0x66) return complete(this.readLiteral('false', false));
    if (code === 0x6e) return complete(this.readLiteral('null', null));
    return this.fail('looking for beginning of value');
  }

  private readString(): string {
    const start = this.pos;
    this.pos += 1;
    for (;;) {
      const code = this.next();
      if (code === 0x22) break;
      if (code === 0x5c) {
        const escaped = this.next();
        if (escaped === 0x75) {
          for (let i = 0; i < 4; i += 1) if (!isHex(this.next())) this.fail('in \\u hexadecimal character escape', this.pos - 1);
        } else if (!'bfnrt\\/"'.includes(String.fromCharCode(escaped))) {
          this.fail('in string escape code', this.pos - 1);
        }
      } else if (code < 0x20) {
        this.fail('in string literal', this.pos - 1);
      }
    }
    return JSON.parse(this.text.slice(start, this.pos)) as string;
  }

  private readNumber(): JsonNumber {
    const start = this.pos;
    if (this.peek() === 0x2d) {
      this.pos += 1;
      if (!isDigit(this.peekOrEof())) this.fail('in numeric literal');
    }
    if (this.peek() === 0x30) this.pos += 1;
    else this.digits();
    if (this.peek() === 0x2e) {
      this.pos += 1;
      if (!isDigit(this.peekOrEof())) this.fail('after decimal point in numeric literal');
      this.digits();
    }
    if (this.peek() === 0x65 || this.peek() === 0x45) {
      this.pos += 1;
      if (this.peek() === 0x2b || this.peek() === 0x2d) this.pos += 1;
      if (!isDigit(this.peekOrEof())) this.fail('in exponent of numeric literal');
      this.digits();
    }
    return new JsonNumber(this.text.slice(start, this.pos));
  }

  private digits(): void {
    while (isDigit(this.peek())) this.pos += 1;
  }

  private readLiteral<T extends JsonValue>(word: string, value: T): T {
    for (let i = 0; i < word.length; i += 1) {
      const code = i === 0 ? this.text.charCodeAt(this.pos) : this.peekOrEof();
      if (code !== word.charCodeAt(i)) this.fail(`in literal ${word} (expecting '${word[i]}')`);
      this.pos += 1;
    }
    return value;
  }

  /** The character at the position, or -1 at the end (a number may end the body). */
  private peek(): number {
    return this.pos < this.text.length ? this.text.charCodeAt(this.pos) : -1;
  }

  /** The character at the position; the body must not end here. */
  private peekOrEof(): number {
    if (this.pos >= this.text.length) throw new GoJsonSyntaxError(this.endedEarly);
    return this.text.charCodeAt(this.pos);
  }

  private next(): number {
    const code = this.peekOrEof();
    this.pos += 1;
    return code;
  }

  private skipSpaces(): void {
    while (this.pos < this.text.length && isGoSpace(this.text.charCodeAt(this.pos))) this.pos += 1;
  }

  private fail(context: string, at = this.pos): never {
    throw new GoJsonSyntaxError(`invalid character ${goQuoteByte(firstUtf8Byte(this.text, at))} ${context}`);
  }
}

/** The JSON value of `text` read as `reading` says; throws GoJsonSyntaxError with Go's message. */
export function readJsonValue(text: string, reading: JsonReading): JsonValue {
  return new Reader(text, reading).read();
}

/** The word Go's type errors use for a JSON value (`cannot unmarshal number into …`). */
export function jsonKindOf(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof JsonObject) return 'object';
  if (value instanceof JsonNumber) return 'number';
  if (typeof value === 'boolean') return 'bool';
  return 'string';
}

/** Go's int (64 bits) holds the number: written as an integer, within range. */
export function goIntOf(number: JsonNumber): number | null {
  if (!/^-?\d+$/.test(number.text)) return null;
  const big = BigInt(number.text);
  if (big > 9223372036854775807n || big < -9223372036854775808n) return null;
  return Number(big);
}
