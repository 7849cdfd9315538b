/**
 * The list `sequence(start, stop)` returns: a read-only array whose items are computed when read,
 * so `sequence(0, 1000000)` costs nothing until something looks at its items. It is a real array
 * to every reader (Array.isArray, length, indexing, iteration, JSON, formatting), and storage asks
 * `integerRangeOf` for its bounds to keep it as one row without reading a million items.
 */

export interface IntegerRange {
  start: number;
  step: number;
  count: number;
}

const bounds = new WeakMap<object, IntegerRange>();

/** The bounds of a list made by `sequence()`, or undefined for any other value. */
export function integerRangeOf(value: unknown): IntegerRange | undefined {
  return typeof value === 'object' && value !== null ? bounds.get(value) : undefined;
}

/** The item index a property key names, if it names one below count. */
function indexOf(key: string | symbol, count: number): number | undefined {
  if (typeof key !== 'string' || !/^(?:0|[1-9]\d*)$/.test(key)) return undefined;
  const idx = Number(key);
  return idx < count ? idx : undefined;
}

export function integerRange(start: number, count: number): readonly number[] {
  // An empty array is the target, for Array.isArray and the prototype's methods; the traps supply
  // the length and items and refuse changes. (Setting a million-long length would allocate.)
  const range = new Proxy<number[]>([], {
    get(array, key, receiver) {
      if (key === 'length') return count;
      const idx = indexOf(key, count);
      return idx === undefined ? (Reflect.get(array, key, receiver) as unknown) : start + idx;
    },
    has(array, key) {
      return indexOf(key, count) !== undefined || Reflect.has(array, key);
    },
    getOwnPropertyDescriptor(array, key) {
      const idx = indexOf(key, count);
      if (key === 'length') return { value: count, writable: true, enumerable: false, configurable: false };
      if (idx === undefined) return Reflect.getOwnPropertyDescriptor(array, key);
      return { value: start + idx, writable: false, enumerable: true, configurable: true };
    },
    ownKeys(array) {
      return [...Array.from({ length: count }, (_, idx) => String(idx)), ...Reflect.ownKeys(array)];
    },
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  });
  bounds.set(range, { start, step: 1, count });
  return range;
}
