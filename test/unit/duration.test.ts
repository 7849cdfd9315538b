import { describe, expect, it } from 'vitest';
import { MAX_MEMORY_MB, parseCpus, parseDuration, parseMemoryMb } from '../../src/core/duration.js';

describe('parseDuration', () => {
  it('reads Go durations into milliseconds', () => {
    const cases: Array<[string, number]> = [
      ['1s', 1_000],
      ['500ms', 500],
      ['2m30s', 150_000],
      ['1h', 3_600_000],
      ['1.5h', 5_400_000],
      ['1h30m15s', 5_415_000],
      ['300us', 0.3],
      ['300µs', 0.3],
      ['300μs', 0.3],
      ['1500ns', 0.0015],
      ['0', 0],
      ['-0', 0],
      ['+5s', 5_000],
      ['-1.5s', -1_500],
      ['.5s', 500],
      ['1.s', 1_000],
      ['6h', 21_600_000],
    ];
    for (const [source, ms] of cases) expect(parseDuration(source), source).toBeCloseTo(ms, 9);
  });

  it('throws Go’s messages, quoting the input as Go does', () => {
    const cases: Array<[string, string]> = [
      ['', 'time: invalid duration ""'],
      ['abc', 'time: invalid duration "abc"'],
      ['.s', 'time: invalid duration ".s"'],
      ['-', 'time: invalid duration "-"'],
      ['1234', 'time: missing unit in duration "1234"'],
      ['1h5', 'time: missing unit in duration "1h5"'],
      ['1d', 'time: unknown unit "d" in duration "1d"'],
      ['1h 30m', 'time: unknown unit "h " in duration "1h 30m"'],
      ['a"b\\', 'time: invalid duration "a\\"b\\\\"'],
      ['é', 'time: invalid duration "\\xc3\\xa9"'],
      ['\n', 'time: invalid duration "\\x0a"'],
    ];
    for (const [source, message] of cases) expect(() => parseDuration(source), source).toThrow(message);
  });

  it('refuses durations beyond int64 nanoseconds, like Go', () => {
    expect(parseDuration('9223372036854775807ns')).toBeCloseTo(9_223_372_036_854.775, 2);
    expect(parseDuration('-9223372036854775808ns')).toBeCloseTo(-9_223_372_036_854.775, 2);
    expect(() => parseDuration('9223372036854775808ns')).toThrow('time: invalid duration "9223372036854775808ns"');
    expect(() => parseDuration('3000000h')).toThrow('time: invalid duration "3000000h"');
  });
});

describe('parseMemoryMb', () => {
  it('reads numbers as megabytes and size strings with binary units', () => {
    const cases: Array<[string | number, number]> = [
      [512, 512],
      [0.5, 1],
      ['512m', 512],
      ['512MB', 512],
      ['512mb', 512],
      ['1g', 1024],
      ['1G', 1024],
      ['1Gi', 1024],
      ['1GiB', 1024],
      ['1.5g', 1536],
      ['10m', 10],
      ['2 g', 2048],
      ['1t', 1024 * 1024],
      ['100k', 1],
      ['2048k', 2],
    ];
    for (const [value, mb] of cases) expect(parseMemoryMb(value), String(value)).toBe(mb);
  });

  it('reads a string of plain digits as bytes, as docker and Tork do, rounding up to whole megabytes', () => {
    expect(parseMemoryMb('1073741824')).toBe(1024);
    expect(parseMemoryMb('1048577')).toBe(2);
    expect(parseMemoryMb('1b')).toBe(1);
  });

  it('throws an error naming the bad value', () => {
    for (const value of ['lots', '', '-1m', '1x', '1.g', 'm']) {
      expect(() => parseMemoryMb(value), value).toThrow(`not a memory size: ${JSON.stringify(value)}`);
    }
    expect(() => parseMemoryMb(0)).toThrow('not a memory size: 0');
    expect(() => parseMemoryMb('0m')).toThrow('must be more than 0');
    expect(() => parseMemoryMb(-5)).toThrow('not a memory size: -5');
    expect(() => parseMemoryMb(Number.NaN)).toThrow('not a memory size: NaN');
    expect(() => parseMemoryMb(MAX_MEMORY_MB + 1)).toThrow(`at most ${MAX_MEMORY_MB} MB`);
    expect(() => parseMemoryMb('5p')).toThrow('at most');
  });
});

describe('parseCpus', () => {
  it('reads numbers and decimal strings', () => {
    expect(parseCpus('.5')).toBe(0.5);
    expect(parseCpus('2')).toBe(2);
    expect(parseCpus(' 1.25 ')).toBe(1.25);
    expect(parseCpus('3.')).toBe(3);
    expect(parseCpus(0.25)).toBe(0.25);
    expect(parseCpus(4)).toBe(4);
  });

  it('throws on junk, zero and negatives, naming the value', () => {
    for (const value of ['abc', '', '0', '0.0', '-1', '1e3', '1,5', 'NaN', 'Infinity']) {
      expect(() => parseCpus(value), value).toThrow(`not a number of cpus: ${JSON.stringify(value)}`);
    }
    for (const value of [0, -2, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => parseCpus(value), String(value)).toThrow(`not a number of cpus: ${String(value)}`);
    }
  });
});
