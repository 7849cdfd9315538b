/**
 * Where a JSON text first goes wrong, as a line and column: V8 names an offset for some syntax
 * errors and none for others ("Unexpected token '}', … is not valid JSON"), and people want a line
 * and column either way. A small scanner that only finds the first error's place; it runs after
 * JSON.parse has failed, never on good input.
 */
export interface JsonErrorPlace {
  offset: number;
  line: number;
  column: number;
}

export function jsonErrorPlace(text: string): JsonErrorPlace | undefined {
  const scanner = new Scanner(text);
  try {
    scanner.value(0);
    scanner.space();
    if (scanner.at < text.length) throw new Stop();
    return undefined;
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
    return placeOf(text, Math.min(scanner.at, text.length));
  }
}

/** `(line 3, column 7)` added to a JSON error message that does not say where already. */
export function withJsonPlace(text: string, message: string): string {
  if (/line \d+/.test(message)) return message;
  const offset = /at position (\d+)/.exec(message);
  const place = offset ? placeOf(text, Number(offset[1])) : jsonErrorPlace(text);
  return place ? `${message} (line ${place.line}, column ${place.column})` : message;
}

function placeOf(text: string, offset: number): JsonErrorPlace {
  const before = text.slice(0, offset).split('\n');
  return { offset, line: before.length, column: before[before.length - 1].length + 1 };
}

class Stop extends Error {}

/** Deeper than this is refused by the scanner too (as by any sane parser). */
const MAX_DEPTH = 1000;

class Scanner {
  at = 0;
  constructor(private readonly text: string) {}

  space(): void {
    while (this.at < this.text.length && ' \t\n\r'.includes(this.text[this.at])) this.at += 1;
  }

  value(depth: number): void {
    if (depth > MAX_DEPTH) throw new Stop();
    this.space();
    const c = this.text[this.at];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    for (const word of ['true', 'false', 'null']) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return;
      }
    }
    const number = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.at, this.at + 400));
    if (!number) throw new Stop();
    this.at += number[0].length;
  }

  private object(depth: number): void {
    this.at += 1;
    this.space();
    if (this.text[this.at] === '}') {
      this.at += 1;
      return;
    }
    for (;;) {
      this.space();
      if (this.text[this.at] !== '"') throw new Stop();
      this.string();
      this.space();
      this.expect(':');
      this.value(depth + 1);
      this.space();
      if (this.text[this.at] === '}') {
        this.at += 1;
        return;
      }
      this.expect(',');
    }
  }

  private array(depth: number): void {
    this.at += 1;
    this.space();
    if (this.text[this.at] === ']') {
      this.at += 1;
      return;
    }
    for (;;) {
      this.value(depth + 1);
      this.space();
      if (this.text[this.at] === ']') {
        this.at += 1;
        return;
      }
      this.expect(',');
    }
  }

  private string(): void {
    this.at += 1;
    while (this.at < this.text.length) {
      const c = this.text[this.at];
      if (c === '"') {
        this.at += 1;
        return;
      }
      if (c === '\\') {
        const escape = this.text[this.at + 1];
        if (escape === 'u' && /^[0-9a-fA-F]{4}$/.test(this.text.slice(this.at + 2, this.at + 6))) this.at += 6;
        else if (escape !== undefined && '"\\/bfnrt'.includes(escape)) this.at += 2;
        else throw new Stop();
      } else if (c < ' ') {
        throw new Stop();
      } else {
        this.at += 1;
      }
    }
    throw new Stop();
  }

  private expect(c: string): void {
    if (this.text[this.at] !== c) throw new Stop();
    this.at += 1;
  }
}
