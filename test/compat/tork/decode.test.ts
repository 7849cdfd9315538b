/**
 * The strict decoders and the validator on their own: Go's corner cases that the HTTP tests do not
 * reach (trailing JSON, YAML anchors, merge keys, duplicate keys, null elements).
 */
import { describe, expect, it } from 'vitest';
import { bodyFormatOf, decodeJson, decodeYaml } from '../../../src/api/compat/tork/decode.js';
import { Job } from '../../../src/api/compat/tork/input.js';
import { validateInput } from '../../../src/api/compat/tork/validate.js';

const message = (fn: () => unknown): string => {
  try {
    fn();
    return 'no error';
  } catch (error) {
    return (error as Error).message;
  }
};

describe('JSON', () => {
  it('reads the first value only, as Go’s Decoder does', () => {
    expect(decodeJson('{"name":"x"} trailing', Job)).toEqual({ name: 'x' });
  });

  it('names the offending character', () => {
    expect(message(() => decodeJson('{"name": x}', Job))).toBe("invalid character 'x' looking for beginning of value");
    expect(message(() => decodeJson('[1]', Job))).toBe('json: cannot unmarshal array into Go value of type input.Job');
  });

  it('turns null into zero values', () => {
    expect(decodeJson('null', Job)).toEqual({});
    expect(decodeJson('{"name":null,"tasks":[null],"inputs":{"a":null}}', Job)).toEqual({ tasks: [{}], inputs: { a: '' } });
  });

  it('reports the innermost struct and the path of keys', () => {
    expect(message(() => decodeJson('{"tasks":[{"name":"a","limits":{"cpus":1}}]}', Job))).toBe(
      'json: cannot unmarshal number into Go struct field Limits.tasks.limits.cpus of type string',
    );
    expect(message(() => decodeJson('{"wait":"1s"}', Job))).toBe('json: cannot unmarshal string into Go struct field Job.wait of type input.Wait');
  });
});

describe('JSON syntax errors, as encoding/json words them (issue 14 #2)', () => {
  it.each([
    ['{"name":"x",}', "invalid character '}' looking for beginning of object key string"],
    ['{"name" "x"}', `invalid character '"' after object key`],
    ['{"name":"x" "a"}', `invalid character '"' after object key:value pair`],
    ['{"tags":["a" "b"]}', `invalid character '"' after array element`],
    ['{"name":tru}', "invalid character '}' in literal true (expecting 'e')"],
    ['{"a":nul}', "invalid character '}' in literal null (expecting 'l')"],
    ['{"name":"a\\qb"}', "invalid character 'q' in string escape code"],
    ['{"name":"\\u12g4"}', "invalid character 'g' in \\u hexadecimal character escape"],
    ['{"name":"\u0001"}', "invalid character '\\x01' in string literal"],
    ["{'a':1}", "invalid character '\\'' looking for beginning of object key string"],
    ['{"a":1.}', "invalid character '}' after decimal point in numeric literal"],
    ['{"a":1e}', "invalid character '}' in exponent of numeric literal"],
    ['{"a":-}', "invalid character '}' in numeric literal"],
    ['[1,]', "invalid character ']' looking for beginning of value"],
    ['[01]', "invalid character '1' after array element"],
    ['\u0000', "invalid character '\\x00' looking for beginning of value"],
    ['{\u00e9}', "invalid character 'Ã' looking for beginning of object key string"],
    ['{"name":"a', 'unexpected EOF'],
    ['{"name":', 'unexpected EOF'],
    ['{', 'unexpected EOF'],
    ['tru', 'unexpected EOF'],
    [' \t\r\n', 'EOF'],
  ])('%j', (body, expected) => {
    expect(message(() => decodeJson(body, Job))).toBe(expected);
  });

  it('quotes the digits of a number too large for Go’s int (issue 14 #10)', () => {
    expect(message(() => decodeJson('{"tasks":[{"name":"t","priority":99999999999999999999}]}', Job))).toBe(
      'json: cannot unmarshal number 99999999999999999999 into Go struct field Task.tasks.priority of type int',
    );
    expect(message(() => decodeJson('{"tasks":[{"name":"t","priority":1e2}]}', Job))).toBe(
      'json: cannot unmarshal number 1e2 into Go struct field Task.tasks.priority of type int',
    );
    expect(message(() => decodeJson('{"tasks":[{"name":"t","retry":{"limit":1.50}}]}', Job))).toBe(
      'json: cannot unmarshal number 1.50 into Go struct field Retry.tasks.retry.limit of type int',
    );
  });

  it('refuses nesting deeper than Go’s 10000 levels', () => {
    expect(message(() => decodeJson('['.repeat(10_001), Job))).toBe("invalid character '[' exceeded max depth");
  });
});

describe('YAML syntax errors, as yaml.v3 words and numbers them (issue 14 #1, #3)', () => {
  it.each([
    ['name: x\ntasks:\n  - name: t\n    run: *nope\n', "yaml: unknown anchor 'nope' referenced"],
    ['name: *a\ntags: &a [x]\n', "yaml: unknown anchor 'a' referenced"],
    ['name: [a', "yaml: line 1: did not find expected ',' or ']'"],
    ['name: x\ntags: [a, b\ntasks:\n  - name: t\n', "yaml: line 1: did not find expected ',' or ']'"],
    ['name: x\ntasks:\n  - name: t\n    cmd: [a, b\n', "yaml: line 3: did not find expected ',' or ']'"],
    ['name: x\ninputs: {a: b\ntasks:\n  - name: t\n', "yaml: line 1: did not find expected ',' or '}'"],
    ['name: x\ntasks:\n\t- name: t\n', 'yaml: line 3: found character that cannot start any token'],
    ['\tname: x\n', 'yaml: found character that cannot start any token'],
    ['name: x\ntasks:\n  - name: @t\n', 'yaml: line 3: found character that cannot start any token'],
    ['name: x\ntasks:\n  - name: t\n    run: echo a: b\n', 'yaml: line 4: mapping values are not allowed in this context'],
    ['name: x\n  foo: bar\n', 'yaml: line 2: mapping values are not allowed in this context'],
    ['name: x\ntasks:\n  - name: t\n   run: echo\n', "yaml: line 2: did not find expected '-' indicator"],
    ['tasks:\n  - name: a\n  name: b\n', "yaml: line 1: did not find expected '-' indicator"],
    ['name: x\n- a\n', 'yaml: line 1: did not find expected key'],
    ['name: x\njunk\ntasks: []\n', "yaml: line 2: could not find expected ':'"],
    ['name: x\ntasks:\n- name: a\n  run: b\n- name: c\nfoo\n', "yaml: line 6: could not find expected ':'"],
    ['name: x\ntasks:\n  - name: t\n    - y\n', 'yaml: line 2: did not find expected key'],
    ['name: x\ntasks:\n- name: t\n run: y\n', 'yaml: line 3: did not find expected key'],
    ['name: x\ntasks:\n  - name: "a" b\n', 'yaml: line 2: did not find expected key'],
    ['name: x\ntags: [a, b]]\n', 'yaml: line 1: did not find expected key'],
    ["name: 'x\n", 'yaml: line 2: found unexpected end of stream'],
    ['name: x\ntasks:\n  - name: t\n    env:\n      A: "1\n', 'yaml: line 5: found unexpected end of stream'],
    ['name: x\ntasks:\n  - name: t\n    run: |\n      echo hi\n     bad\n', 'yaml: line 2: did not find expected key'],
    ['name: "x\ntasks:\n  - name: t\n', 'yaml: line 4: found unexpected end of stream'],
    ['name: "a\\qb"\n', 'yaml: found unknown escape character'],
  ])('%j', (body, expected) => {
    expect(message(() => decodeYaml(body, Job))).toBe(expected);
  });
});

describe('YAML', () => {
  it('lists every problem with its line', () => {
    expect(message(() => decodeYaml('name: a\nname: b\nnosuch: 1\n', Job))).toBe(
      'yaml: unmarshal errors:\n  line 2: mapping key "name" already defined at line 1\n  line 3: field nosuch not found in type input.Job',
    );
    expect(message(() => decodeYaml('- a\n', Job))).toBe('yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into input.Job');
    expect(message(() => decodeYaml('name: x\ntasks:\n  - priority: "3"\n', Job))).toBe(
      'yaml: unmarshal errors:\n  line 3: cannot unmarshal !!str `3` into int',
    );
    expect(message(() => decodeYaml('description: abcdefghijklmnop\ntasks: abcdefghijklmnop\n', Job))).toBe(
      'yaml: unmarshal errors:\n  line 2: cannot unmarshal !!str `abcdefg...` into []input.Task',
    );
  });

  it('keeps plain scalars as written in strings', () => {
    const decoded = decodeYaml('name: x\ninputs:\n  A: 1\n  B: yes\n  C:\n  D: 0x1F\n  E: .5\n', Job);
    expect(decoded).toEqual({ name: 'x', inputs: { A: '1', B: 'yes', C: '', D: '0x1F', E: '.5' } });
  });

  it('follows anchors and merge keys, own keys winning', () => {
    const yaml = 'name: x\ntasks:\n  - &base\n    name: one\n    run: echo 1\n  - <<: *base\n    name: two\n';
    expect(decodeYaml(yaml, Job)).toEqual({
      name: 'x',
      tasks: [
        { name: 'one', run: 'echo 1' },
        { name: 'two', run: 'echo 1' },
      ],
    });
  });

  it('refuses alias bombs', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 6; i += 1) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`);
    lines.push(`tags: *g`);
    expect(message(() => decodeYaml(lines.join('\n'), Job))).toMatch(/excessive aliasing|field a not found/);
  });

  it('answers EOF for an empty document and a syntax error with its line', () => {
    expect(message(() => decodeYaml('# nothing\n', Job))).toBe('EOF');
    expect(message(() => decodeYaml('name: [a', Job))).toMatch(/^yaml: line 1: /);
  });
});

describe('Content-Type', () => {
  it('follows Tork with §11 #3’s leniency', () => {
    expect(bodyFormatOf('application/json')).toBe('json');
    expect(bodyFormatOf('APPLICATION/JSON; charset=utf-8')).toBe('json');
    expect(bodyFormatOf('text/yaml')).toBe('yaml');
    expect(bodyFormatOf('application/yaml')).toBe('yaml');
    expect(message(() => bodyFormatOf(undefined))).toBe('missing content type');
    expect(message(() => bodyFormatOf('text/csv; x=1'))).toBe('unknown content type: text/csv; x=1');
  });
});

describe('validator', () => {
  const lookups = { userExists: (name: string) => name === 'alice', roleExists: (slug: string) => slug === 'public' };

  it('checks tags in order and stops at the first failing one per field', () => {
    expect(validateInput({ name: 'x', tasks: [{ name: 't', retry: {} }] }, Job, lookups)).toEqual([
      "Key: 'Job.Tasks[0].Retry.Limit' Error:Field validation for 'Limit' failed on the 'required' tag",
    ]);
  });

  it('does not validate sub-job tasks, as Tork does not', () => {
    expect(validateInput({ name: 'x', tasks: [{ name: 's', subjob: { name: 'sub', tasks: [{}] } }] }, Job, lookups)).toEqual([]);
  });

  it('checks permissions', () => {
    const problems = validateInput({ name: 'x', tasks: [{ name: 't' }], permissions: [{}, { user: 'alice', role: 'public' }, { role: 'nope' }] }, Job, lookups);
    expect(problems).toEqual([
      "Key: 'Job.Permissions[0].perm' Error:Field validation for 'perm' failed on the 'roleoruser' tag",
      "Key: 'Job.Permissions[1].perm' Error:Field validation for 'perm' failed on the 'roleoruser' tag",
      "Key: 'Job.Permissions[2].perm' Error:Field validation for 'perm' failed on the 'invalidrole' tag",
    ]);
  });

  it('compiles the first placeholder of an expression, as Tork’s ValidExpr', () => {
    expect(validateInput({ name: 'x', output: 'hello {{ tasks.a }}', tasks: [{ name: 't' }] }, Job, lookups)).toEqual([]);
    expect(validateInput({ name: 'x', output: '{1+1', tasks: [{ name: 't' }] }, Job, lookups)).toHaveLength(1);
  });
});
