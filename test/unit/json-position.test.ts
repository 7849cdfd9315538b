import { describe, expect, it } from 'vitest';
import { jsonErrorPlace, withJsonPlace } from '../../src/core/json-position.js';

describe('jsonErrorPlace', () => {
  it('finds the first error by line and column', () => {
    expect(jsonErrorPlace('{\n "a": 1,\n "b": }')).toEqual({ offset: 17, line: 3, column: 7 });
    expect(jsonErrorPlace('[1, 2,]')).toMatchObject({ line: 1, column: 7 });
    expect(jsonErrorPlace('{"a": "unterminated')).toMatchObject({ line: 1, column: 20 });
    expect(jsonErrorPlace('{"a": 1} x')).toMatchObject({ line: 1, column: 10 });
    expect(jsonErrorPlace('{"a": tru}')).toMatchObject({ line: 1, column: 7 });
  });

  it('finds nothing wrong in good JSON', () => {
    expect(jsonErrorPlace('{"a": [1, -2.5e3, true, null, "x\\"y\\u00e9"], "b": {}}')).toBeUndefined();
  });

  it('adds the place to a message that lacks one', () => {
    const text = '{\n "a": }';
    let message = '';
    try {
      JSON.parse(text);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(withJsonPlace(text, message)).toMatch(/\(line 2, column 7\)$/);
    expect(withJsonPlace(text, 'bad at line 9')).toBe('bad at line 9');
  });
});
