/**
 * Sizes people write in job specs: Go durations ("1m30s"), memory ("512m", "1Gi") and cpus (".5").
 * Tork's specs are read by Go code, so the accepted syntax and the error texts follow Go
 * (`time.ParseDuration`) and docker (`units.RAMInBytes`, `strconv.ParseFloat`).
 */

const NS_PER_MS = 1_000_000n;
/** Go durations are int64 nanoseconds. */
const MAX_NS = (1n << 63n) - 1n;

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek small letter mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/**
 * Parses a Go duration ("300ms", "-1.5h", "2h45m", "0") into milliseconds, possibly fractional
 * ("300us" → 0.3). Throws Go's own messages, e.g. `time: invalid duration "abc"`,
 * `time: missing unit in duration "10"`, `time: unknown unit "d" in duration "1d"`.
 */
export function parseDuration(s: string): number {
  const invalid = (): Error => new Error(`time: invalid duration ${goQuote(s)}`);
  let rest = s;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest[0] === '-';
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw invalid();

  let totalNs = 0n;
  while (rest !== '') {
    const component = /^([0-9]*)(?:\.([0-9]*))?/.exec(rest);
    const whole = component?.[1] ?? '';
    const fraction = component?.[2];
    if (whole === '' && !fraction) throw invalid(); // no digits, e.g. ".s"
    rest = rest.slice(component?.[0].length ?? 0);

    const unitLength = rest.search(/[.0-9]/);
    const unit = unitLength === -1 ? rest : rest.slice(0, unitLength);
    if (unit === '') throw new Error(`time: missing unit in duration ${goQuote(s)}`);
    const unitNs = UNIT_NS[unit];
    if (unitNs === undefined) throw new Error(`time: unknown unit ${goQuote(unit)} in duration ${goQuote(s)}`);
    rest = rest.slice(unit.length);

    totalNs += BigInt(whole || '0') * unitNs + fractionNs(fraction, unitNs);
    if (totalNs > MAX_NS + 1n) throw invalid();
  }
  if (!negative && totalNs > MAX_NS) throw invalid();
  const ns = negative ? -totalNs : totalNs;
  return Number(ns / NS_PER_MS) + Number(ns % NS_PER_MS) / 1e6;
}

/**
 * The fractional digits of one component in nanoseconds, computed as Go does: digits are kept
 * while they fit an int64, then scaled in float64 and truncated.
 */
function fractionNs(digits: string | undefined, unitNs: bigint): bigint {
  if (!digits) return 0n;
  let value = 0n;
  let scale = 1;
  for (const digit of digits) {
    if (value > MAX_NS / 10n) break;
    const next = value * 10n + BigInt(digit);
    if (next > MAX_NS + 1n) break;
    value = next;
    scale *= 10;
  }
  return BigInt(Math.trunc(Number(value) * (Number(unitNs) / scale)));
}

/** Go's `time.quote`: double quotes, `"` and `\` escaped, non-ASCII and control bytes as `\xNN`. */
function goQuote(s: string): string {
  let out = '"';
  for (const char of s) {
    const code = char.codePointAt(0) ?? 0;
    if (code >= 0x80 || code < 0x20) {
      for (const byte of new TextEncoder().encode(char)) out += `\\x${byte.toString(16).padStart(2, '0')}`;
    } else {
      out += char === '"' || char === '\\' ? `\\${char}` : char;
    }
  }
  return `${out}"`;
}

/** The most memory a spec may ask for: the store keeps megabytes in a 32-bit integer column. */
export const MAX_MEMORY_MB = 2_147_483_647;

const MEMORY_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/**
 * Memory in whole megabytes (rounded up). A number is megabytes. A string follows docker's
 * `RAMInBytes`, which Tork uses: a size with an optional binary unit k, m, g, t or p (any case,
 * optionally followed by `i` and/or `b`: "512m", "512MB", "1Gi", "1GiB"), all multiples of 1024;
 * a string of plain digits is bytes ("1073741824" = 1024 MB). Throws on junk, on zero and on more
 * than MAX_MEMORY_MB.
 */
export function parseMemoryMb(v: string | number): number {
  const bytes = typeof v === 'number' ? v * MEMORY_UNITS.m : memoryStringBytes(v);
  const mb = Math.ceil(bytes / MEMORY_UNITS.m);
  if (!Number.isFinite(mb) || mb <= 0) throw new Error(`not a memory size: ${show(v)} (must be more than 0)`);
  if (mb > MAX_MEMORY_MB) throw new Error(`not a memory size: ${show(v)} (at most ${MAX_MEMORY_MB} MB)`);
  return mb;
}

function memoryStringBytes(v: string): number {
  const match = /^(\d+(?:\.\d+)?) ?([kmgtp]?)i?b?$/i.exec(v.trim());
  if (!match) throw new Error(`not a memory size: ${show(v)} (write e.g. 512m, 2g, 1Gi)`);
  return Number(match[1]) * MEMORY_UNITS[match[2].toLowerCase()];
}

/** A number of cpus: a positive number, or a decimal string such as ".5", "2", "1.25". */
export function parseCpus(v: string | number): number {
  const cpus = typeof v === 'number' ? v : /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(cpus) || cpus <= 0) {
    throw new Error(`not a number of cpus: ${show(v)} (must be a number more than 0, e.g. .5 or 2)`);
  }
  return cpus;
}

/** A bad value as the person wrote it: strings quoted, numbers bare. */
function show(v: string | number): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}
