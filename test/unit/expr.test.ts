import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BUDGET_ITEMS,
  checkExpression,
  checkTemplate,
  evaluateExpression,
  ExpressionError,
  formatValue,
  integerRangeOf,
  isTruthyCondition,
  MAX_DEPTH,
  MAX_SEQUENCE,
  MAX_SOURCE_LENGTH,
  parseExpression,
  renderTemplate,
} from '../../src/core/expr.js';

const ctx = {
  inputs: { name: 'John Smith', tag: 'maverick', json: '[1,2,{"b":null}]', lines: 'a\nb\nc', csv: 'a,b,c' },
  secrets: { token: 's3cret' },
  tasks: { build: 'ok' },
  job: { id: 'j1', name: 'my job' },
  item: { index: '2', value: 7 },
  list: [1, 2, 3],
  flag: true,
};

const run = (source: string): unknown => evaluateExpression(source, ctx);
const failure = (source: string): string => {
  try {
    run(source);
  } catch (error) {
    expect(error).toBeInstanceOf(ExpressionError);
    return (error as Error).message;
  }
  throw new Error(`expected ${source} to fail`);
};

describe('literals', () => {
  it('reads numbers, strings, booleans, nil, arrays and maps', () => {
    expect(run('42')).toBe(42);
    expect(run('1.5')).toBe(1.5);
    expect(run('1e3')).toBe(1000);
    expect(run('1_000')).toBe(1000);
    expect(run('0x1F')).toBe(31);
    expect(run(`'single'`)).toBe('single');
    expect(run(`"double"`)).toBe('double');
    expect(run('"tab\\there\\n\\"q\\" \\u00e9 \\x41"')).toBe('tab\there\n"q" é A');
    expect(run(`'it\\'s'`)).toBe("it's");
    expect(run('`raw \\n`')).toBe('raw \\n');
    expect(run('true')).toBe(true);
    expect(run('false')).toBe(false);
    expect(run('nil')).toBeNull();
    expect(run('null')).toBeNull();
    expect(run('[1, "a", [true], nil,]')).toEqual([1, 'a', [true], null]);
    expect(run('{a: 1, "b c": [2], 3: "x"}')).toEqual({ a: 1, 'b c': [2], '3': 'x' });
  });
});

describe('names, members and indexes', () => {
  it('resolves names from the context, with maps, arrays and strings', () => {
    expect(run('inputs.name')).toBe('John Smith');
    expect(run('inputs["tag"]')).toBe('maverick');
    expect(run('item.value * 2')).toBe(14);
    expect(run('list[0]')).toBe(1);
    expect(run('list[-1]')).toBe(3);
    expect(run('"héllo"[1]')).toBe('é');
    expect(run('{a: {b: [10, 20]}}.a.b[1]')).toBe(20);
  });

  it('gives nil for an unknown name and a missing key, and fails fetching from nil', () => {
    expect(run('nosuch')).toBeNull();
    expect(run('tasks.missing')).toBeNull();
    expect(failure('tasks.missing.deeper')).toBe('cannot fetch deeper from <nil> (1:14)');
    expect(run('tasks.missing?.deeper')).toBeNull();
    expect(run('nosuch?.a.b')).toBeNull();
    expect(run('nosuch?.[0]')).toBeNull();
  });

  it('fails on bad indexes and fetches', () => {
    expect(failure('list[5]')).toBe('index out of range: 5 (array length is 3) (1:5)');
    expect(failure('list.x')).toContain('cannot fetch x from array');
    expect(failure('flag.x')).toContain('cannot fetch x from bool');
    expect(failure('list[0.5]')).toContain('cannot fetch 0.5 from array');
  });

  it('never reaches JavaScript prototypes', () => {
    expect(run('inputs.constructor')).toBeNull();
    expect(run('inputs.__proto__')).toBeNull();
    expect(run('inputs["hasOwnProperty"]')).toBeNull();
    expect(run('{}.toString')).toBeNull();
    expect(run('constructor')).toBeNull();
    expect(failure('"x".constructor')).toContain('cannot fetch constructor from string');
    expect(failure('toString()')).toContain('unknown name toString');
    expect(failure('__proto__()')).toContain('unknown name __proto__');
  });
});

describe('operators', () => {
  it('does arithmetic with expr-lang precedence', () => {
    expect(run('1 + 2 * 3')).toBe(7);
    expect(run('(1 + 2) * 3')).toBe(9);
    expect(run('10 - 4 - 3')).toBe(3);
    expect(run('7 % 3')).toBe(1);
    expect(run('-7 % 3')).toBe(-1);
    expect(run('1 / 2')).toBe(0.5);
    expect(run('-2 * 3')).toBe(-6);
    expect(run('+4')).toBe(4);
    expect(run('- -4')).toBe(4);
    expect(run('1 / 0')).toBe(Number.POSITIVE_INFINITY);
    expect(failure('5 % 0')).toBe('integer divide by zero (1:3)');
    expect(failure('5.5 % 2')).toContain('mismatched types float and int');
  });

  it('joins strings and arrays with +, and refuses mixed types', () => {
    expect(run('"a" + "b"')).toBe('ab');
    expect(run('inputs.tag + "-" + job.name')).toBe('maverick-my job');
    expect(run('[1] + [2, 3]')).toEqual([1, 2, 3]);
    expect(failure('"a" + 1')).toBe('invalid operation: + (mismatched types string and int) (1:5)');
    expect(failure('nil - 1')).toContain('mismatched types nil and int');
  });

  it('compares', () => {
    expect(run('1 == 1.0')).toBe(true);
    expect(run('1 != 2')).toBe(true);
    expect(run('"a" == "a"')).toBe(true);
    expect(run('1 == "1"')).toBe(false);
    expect(run('nil == nil')).toBe(true);
    expect(run('tasks.missing == nil')).toBe(true);
    expect(run('[1, [2]] == [1, [2]]')).toBe(true);
    expect(run('{a: 1} == {a: 1}')).toBe(true);
    expect(run('{a: 1} == {a: 2}')).toBe(false);
    expect(run('2 > 1 && 1 >= 1 && 1 < 2 && 2 <= 2')).toBe(true);
    expect(run('"abc" < "abd"')).toBe(true);
    expect(failure('1 < "a"')).toBe('invalid operation: < (mismatched types int and string) (1:3)');
  });

  it('has boolean logic in symbols and words, short-circuiting, on booleans only', () => {
    expect(run('true && false')).toBe(false);
    expect(run('true || false')).toBe(true);
    expect(run('true and not false')).toBe(true);
    expect(run('false or true')).toBe(true);
    expect(run('!(1 == 2)')).toBe(true);
    expect(run('not flag')).toBe(false);
    expect(run('false && nosuch.x')).toBe(false);
    expect(run('true || nosuch.x')).toBe(true);
    expect(run('!flag == false')).toBe(true);
    expect(run('lower("ABC") == "abc" and 1 > 0 or false')).toBe(true);
    expect(failure('1 && true')).toBe('invalid operation: && (non-bool int) (1:3)');
    expect(failure('true && "x"')).toContain('non-bool string');
    expect(failure('!1')).toContain('invalid operation: ! (non-bool int)');
    expect(failure('-"a"')).toContain('invalid operation: - (non-numeric string)');
  });

  it('tests membership with in and not in', () => {
    expect(run('2 in list')).toBe(true);
    expect(run('9 in list')).toBe(false);
    expect(run('9 not in list')).toBe(true);
    expect(run('"tag" in inputs')).toBe(true);
    expect(run('"nope" in inputs')).toBe(false);
    expect(run('"constructor" in inputs')).toBe(false);
    expect(run('[1] in [[1], [2]]')).toBe(true);
    expect(run('1 in nosuch')).toBe(false);
    expect(failure('1 in 5')).toContain('cannot look in int');
  });

  it('has string operators', () => {
    expect(run('"abc" contains "b"')).toBe(true);
    expect(run('"abc" startsWith "ab"')).toBe(true);
    expect(run('"abc" endsWith "bc"')).toBe(true);
    expect(run('"abc" endsWith "x"')).toBe(false);
  });

  it('has a ternary and nil-coalescing', () => {
    expect(run('flag ? "yes" : "no"')).toBe('yes');
    expect(run('1 > 2 ? "a" : 1 < 2 ? "b" : "c"')).toBe('b');
    expect(run('tasks.missing ?? "default"')).toBe('default');
    expect(run('tasks.build ?? "default"')).toBe('ok');
    expect(run('false ?? true')).toBe(false);
    expect(failure('1 ? 2 : 3')).toContain('non-bool int used as condition');
  });
});

describe('functions', () => {
  it('sequence counts from start up to, not including, stop', () => {
    expect(run('sequence(1, 5)')).toEqual([1, 2, 3, 4]);
    expect(run('sequence(1, 3)')).toEqual([1, 2]);
    expect(run('sequence(-5, -2)')).toEqual([-5, -4, -3]);
    expect(run('sequence(5, 2)')).toEqual([]);
    expect(run('sequence(2, 2)')).toEqual([]);
    expect(run(`len(sequence(0, ${MAX_SEQUENCE}))`)).toBe(MAX_SEQUENCE);
    expect(failure(`sequence(0, ${MAX_SEQUENCE + 1})`)).toContain(`more than the ${MAX_SEQUENCE} allowed`);
    expect(failure('sequence(0, 1.5)')).toContain('sequence: arguments must be integers');
  });

  it('sequence is a list wherever it is used, though its items are computed only when read', () => {
    const range = run('sequence(3, 6)') as number[];
    expect(Array.isArray(range)).toBe(true);
    expect([range.length, range[0], range[2], range[3]]).toEqual([3, 3, 5, undefined]);
    expect([...range]).toEqual([3, 4, 5]);
    expect(Object.keys(range)).toEqual(['0', '1', '2']);
    expect(JSON.stringify(range)).toBe('[3,4,5]');
    expect(renderTemplate('{{ sequence(1,3) }} {{ len(sequence(1,3)) }} {{ sequence(1,3)[1] }}', ctx)).toBe('[1 2] 2 2');
    expect(run('sequence(0, 3) + [9]')).toEqual([0, 1, 2, 9]);
    expect(run('sequence(0, 3) == [0, 1, 2]')).toBe(true);
    expect(run('2 in sequence(0, 3)')).toBe(true);
    expect(run('last(sequence(0, 3))')).toBe(2);
    expect(run('toJSON(sequence(0, 2))')).toBe(run('toJSON([0, 1])'));
    expect(() => {
      range[0] = 7;
    }).toThrow(TypeError);
    expect(range[0]).toBe(3);
    // Storage reads its bounds instead of its items; any other list has none.
    expect(integerRangeOf(run(`sequence(-2, ${MAX_SEQUENCE - 2})`))).toEqual({ start: -2, step: 1, count: MAX_SEQUENCE });
    expect(integerRangeOf(run('[0, 1, 2]'))).toBeUndefined();
  });

  it('randomInt gives a non-negative integer, below n when given', () => {
    const seen = new Set<unknown>();
    for (let i = 0; i < 50; i++) {
      const below = run('randomInt(5)') as number;
      expect(Number.isInteger(below) && below >= 0 && below < 5).toBe(true);
      const any = run('randomInt()') as number;
      expect(Number.isSafeInteger(any) && any >= 0).toBe(true);
      seen.add(any);
    }
    expect(seen.size).toBeGreaterThan(45);
    expect(failure('randomInt(0)')).toContain('randomInt: n must be a positive integer');
    expect(failure('randomInt("100")')).toContain('randomInt: n must be a positive integer');
    expect(failure('randomInt(nil)')).toContain('randomInt: n must be a positive integer');
    expect(failure('randomInt(1, 10)')).toContain('randomInt: expects 0 or 1 arguments, got 2');
  });

  it('has the string, list and conversion builtins', () => {
    expect(run('len("héllo")')).toBe(5);
    expect(run('len(list)')).toBe(3);
    expect(run('len(inputs)')).toBe(5);
    expect(run('upper("abc")')).toBe('ABC');
    expect(run('lower("ABC")')).toBe('abc');
    expect(run('trim("  x  ")')).toBe('x');
    expect(run('trim("xxaxx", "x")')).toBe('a');
    expect(run('trimPrefix("v1.2", "v")')).toBe('1.2');
    expect(run('trimSuffix("a.tar", ".tar")')).toBe('a');
    expect(run('split(inputs.csv, ",")')).toEqual(['a', 'b', 'c']);
    expect(run("split(inputs.lines, '\\n')")).toEqual(['a', 'b', 'c']);
    expect(run('split("abc", "")')).toEqual(['a', 'b', 'c']);
    expect(run('join(["a", "b"], "-")')).toBe('a-b');
    expect(run('join([1, 2])')).toBe('12');
    expect(run('replace("aXbX", "X", "-")')).toBe('a-b-');
    expect(run('string(12) + "!"')).toBe('12!');
    expect(run('string([1, 2])')).toBe('[1 2]');
    expect(run('int("42") + 1')).toBe(43);
    expect(run('int(3.7)')).toBe(3);
    expect(run('float("1.5") * 2')).toBe(3);
    expect(run('contains("abc", "b")')).toBe(true);
    expect(run('contains(list, 2)')).toBe(true);
    expect(run('startsWith("abc", "a")')).toBe(true);
    expect(run('endsWith("abc", "a")')).toBe(false);
    expect(run('keys({b: 1, a: 2})')).toEqual(['a', 'b']);
    expect(run('values({b: 1, a: 2})')).toEqual([2, 1]);
    expect(run('abs(-3)')).toBe(3);
    expect(run('min(3, 1, 2)')).toBe(1);
    expect(run('max([1, 5, 2])')).toBe(5);
    expect(run('first(list)')).toBe(1);
    expect(run('last(list)')).toBe(3);
    expect(run('first([])')).toBeNull();
  });

  it('refuses wrong argument types with a message naming the function', () => {
    expect(failure('len(1)')).toBe('invalid argument for len (type int) (1:1)');
    expect(failure('upper(1)')).toContain('upper: argument must be a string, not int');
    expect(failure('int("4.5")')).toContain('int: cannot convert 4.5');
    expect(failure('float("x")')).toContain('float: cannot convert x');
    expect(failure('keys(list)')).toContain('keys: argument must be a map');
    expect(failure('join("a")')).toContain('join: argument must be an array');
    expect(failure('upper()')).toContain('upper: expects 1 arguments, got 0');
  });

  it('converts to and from JSON like expr-lang (Go’s MarshalIndent, sorted keys)', () => {
    expect(run('toJSON({b: [1, 2], a: "<x>", c: {}, d: []})')).toBe(
      '{\n  "a": "\\u003cx\\u003e",\n  "b": [\n    1,\n    2\n  ],\n  "c": {},\n  "d": []\n}',
    );
    expect(run('toJSON("x")')).toBe('"x"');
    expect(run('toJSON(nil)')).toBe('null');
    expect(run('fromJSON(inputs.json)')).toEqual([1, 2, { b: null }]);
    expect(run('fromJSON("{\\"hello\\":\\"world\\"}").hello')).toBe('world');
    expect(failure('fromJSON("{")')).toContain('fromJSON:');
    expect(failure('toJSON(1 / 0)')).toContain('toJSON: unsupported value: +Inf');
  });

  it('reports an unknown function as `unknown name <fn>`', () => {
    expect(failure('bad_function()')).toBe('unknown name bad_function (1:1)');
    expect(failure('1 + nosuch(2)')).toBe('unknown name nosuch (1:5)');
  });
});

describe('parsing', () => {
  it('points at the position of a syntax error', () => {
    const cases: Array<[string, string]> = [
      ['{1+1', 'expected ":" but found "+" (1:3)'],
      ['1 +', 'unexpected end of expression (1:4)'],
      ['1 2', 'unexpected "2" (1:3)'],
      ['(1', 'expected ")" but found end of expression (1:3)'],
      ['"open', 'unterminated string (1:1)'],
      ['1 #', 'unexpected character "#" (1:3)'],
      ['1 +\n  * 2', 'unexpected "*" (2:3)'],
      ['"\\q"', 'invalid escape sequence "\\\\q" (1:2)'],
      ['a.b()', 'only functions such as len(x) can be called (1:4)'],
      ['', 'empty expression (1:1)'],
      ['in', 'unexpected "in" (1:1)'],
    ];
    for (const [source, message] of cases) {
      expect(() => parseExpression(source), source).toThrow(ExpressionError);
      expect(() => parseExpression(source), source).toThrow(message);
    }
  });

  it('builds an AST without evaluating it', () => {
    const parsed = parseExpression('bad_function(1) + 2');
    expect(parsed.root).toMatchObject({ type: 'binary', operator: '+', left: { type: 'call', callee: 'bad_function' } });
  });

  it('refuses sources that are too long or too deep', () => {
    expect(() => parseExpression('1'.repeat(MAX_SOURCE_LENGTH + 1))).toThrow(`longer than ${MAX_SOURCE_LENGTH} characters`);
    expect(() => parseExpression(`${'('.repeat(MAX_DEPTH + 5)}1${')'.repeat(MAX_DEPTH + 5)}`)).toThrow(`nested more than ${MAX_DEPTH} deep`);
    expect(() => parseExpression(`${'-'.repeat(MAX_DEPTH + 5)}1`)).toThrow(`nested more than ${MAX_DEPTH} deep`);
    expect(parseExpression(`${'('.repeat(20)}1${')'.repeat(20)}`).root).toMatchObject({ type: 'literal', value: 1 });
    // Left-deep chains are built by loops; their height is limited too, so evaluation cannot overflow the stack.
    expect(() => parseExpression(`1${'+1'.repeat(2_000)}`)).toThrow(`nested more than ${MAX_DEPTH} deep`);
    expect(() => parseExpression(`a${'.b'.repeat(2_000)}`)).toThrow(`nested more than ${MAX_DEPTH} deep`);
    expect(checkExpression(`[1]${'[0]'.repeat(2_000)}`)).toContain(`nested more than ${MAX_DEPTH} deep`);
    expect(evaluateExpression(`1${'+1'.repeat(50)}`, {})).toBe(51);
  });

  it('is an interpreter: the module uses neither eval nor new Function', () => {
    const files = ['expr.ts', 'expr/parse.ts', 'expr/evaluate.ts', 'expr/functions.ts', 'expr/format.ts', 'expr/values.ts'];
    const source = files.map((file) => readFileSync(new URL(`../../src/core/${file}`, import.meta.url), 'utf8')).join('\n');
    expect(source).not.toMatch(/\beval\s*\(/);
    expect(source).not.toMatch(/new\s+Function/);
    expect(source).not.toMatch(/\bFunction\s*\(/);
  });
});

describe('guards', () => {
  it('stops an evaluation that produces too much', () => {
    const many = `[${Array.from({ length: 12 }, () => `sequence(0, ${MAX_SEQUENCE})`).join(', ')}]`;
    expect(() => run(many)).toThrow(`more than ${BUDGET_ITEMS} items`);
  });

  it('turns hostile nesting in data into an ExpressionError', () => {
    const deep = { inputs: { d: `${'['.repeat(5_000)}${']'.repeat(5_000)}` } };
    expect(() => renderTemplate('{{ fromJSON(inputs.d) }}', deep)).toThrow(ExpressionError);
    expect(() => evaluateExpression('fromJSON(inputs.d) == fromJSON(inputs.d)', deep)).toThrow(ExpressionError);
  });
});

describe('checkExpression', () => {
  it('accepts 1+1 and {{1+1}}, refuses {1+1 — Tork’s validation cases', () => {
    expect(checkExpression('1+1')).toBeNull();
    expect(checkExpression('{{1+1}}')).toBeNull();
    expect(checkExpression('{{ 1 + 1 }}')).toBeNull();
    expect(checkExpression('5+5')).toBeNull();
    expect(checkExpression('{1+1')).toMatch(/\(1:\d+\)$/);
    expect(checkExpression('{1+1}}')).not.toBeNull();
    expect(checkExpression('')).toBe('empty expression (1:1)');
  });

  it('accepts unknown functions: they fail when evaluated, as in Tork', () => {
    expect(checkExpression('{{ bad_function() }}')).toBeNull();
  });

  it('checkTemplate checks every placeholder', () => {
    expect(checkTemplate('a {{ 1 }} b {{ inputs.x }}')).toBeNull();
    expect(checkTemplate('no placeholders')).toBeNull();
    expect(checkTemplate('a {{ 1 }} b {{ 1 + }}')).toBe('{{ 1 + }}: unexpected end of expression (1:4)');
  });
});

describe('evaluateExpression', () => {
  it('strips one surrounding {{ }}', () => {
    expect(evaluateExpression('{{ [1,2,3] }}', {})).toEqual([1, 2, 3]);
    expect(evaluateExpression('{{1+1}}', {})).toBe(2);
    expect(evaluateExpression('  {{ sequence(1,5) }}  ', {})).toEqual([1, 2, 3, 4]);
  });

  it('caches parses without mixing up contexts', () => {
    expect(evaluateExpression('x + 1', { x: 1 })).toBe(2);
    expect(evaluateExpression('x + 1', { x: 41 })).toBe(42);
  });
});

describe('renderTemplate', () => {
  it('replaces every placeholder, as Tork’s eval tests expect', () => {
    expect(renderTemplate('{{ inputs.name }}y', ctx)).toBe('John Smithy');
    expect(renderTemplate('ubuntu:{{ inputs.tag }}', ctx)).toBe('ubuntu:maverick');
    expect(renderTemplate('{{inputs.tag}}', ctx)).toBe('maverick');
    expect(renderTemplate('{{ 1 == 1 }}', ctx)).toBe('true');
    expect(renderTemplate('{{ 1 == 2 }}', ctx)).toBe('false');
    expect(renderTemplate('{{ !(1 == 2) }}', ctx)).toBe('true');
    expect(renderTemplate('{{ item.index }}-{{ item.value }}-{{ job.name }}', ctx)).toBe('2-7-my job');
    expect(Number(renderTemplate('{{ randomInt() }}', ctx))).toBeGreaterThanOrEqual(0);
  });

  it('returns strings without placeholders unchanged', () => {
    const text = 'echo hello {world} {{ not closed';
    expect(renderTemplate(text, ctx)).toBe(text);
    expect(renderTemplate('', ctx)).toBe('');
    expect(renderTemplate('plain', ctx)).toBe('plain');
  });

  it('formats values like Go’s %v', () => {
    const cases: Array<[string, string]> = [
      ['{{ "text" }}', 'text'],
      ['{{ 42 }}', '42'],
      ['{{ 4 / 2 }}', '2'],
      ['{{ 1 / 2 }}', '0.5'],
      ['{{ 0.00001 }}', '1e-05'],
      ['{{ 1000000.5 }}', '1.0000005e+06'],
      ['{{ 123456789012 }}', '123456789012'],
      ['{{ -1.25 }}', '-1.25'],
      ['{{ 1 / 0 }}', '+Inf'],
      ['{{ true }}', 'true'],
      ['{{ nil }}', '<nil>'],
      ['{{ tasks.missing }}', '<nil>'],
      ['{{ sequence(1, 5) }}', '[1 2 3 4]'],
      ['{{ ["a", ["b", "c"], nil] }}', '[a [b c] <nil>]'],
      ['{{ {b: 2, a: "x y"} }}', 'map[a:x y b:2]'],
      ['{{ {a: [1, {z: true}]} }}', 'map[a:[1 map[z:true]]]'],
      ['{{ [] }}', '[]'],
      ['{{ {} }}', 'map[]'],
      ['{{ item }}', 'map[index:2 value:7]'],
    ];
    for (const [template, expected] of cases) expect(renderTemplate(template, ctx), template).toBe(expected);
  });

  it('fails with the placeholder and `unknown name` for an unknown function', () => {
    expect(() => renderTemplate('{{ bad_function() }}', ctx)).toThrow(ExpressionError);
    expect(() => renderTemplate('{{ bad_function() }}', ctx)).toThrow(
      'error evaluating {{ bad_function() }}: unknown name bad_function (1:1)',
    );
    expect(() => renderTemplate('x {{ 1 + }}', ctx)).toThrow('unexpected end of expression');
  });
});

describe('formatValue and isTruthyCondition', () => {
  it('formatValue is the %v used by templates', () => {
    expect(formatValue([1, 'a', null, { k: false }])).toBe('[1 a <nil> map[k:false]]');
    expect(formatValue(undefined)).toBe('<nil>');
  });

  it('is false only for a value that prints as `false` once trimmed', () => {
    expect(isTruthyCondition(false)).toBe(false);
    expect(isTruthyCondition('false')).toBe(false);
    expect(isTruthyCondition('  false\n')).toBe(false);
    for (const value of [true, 'true', 'False', 'FALSE', '0', '', 'no', null, 0, []]) {
      expect(isTruthyCondition(value), JSON.stringify(value)).toBe(true);
    }
  });
});
