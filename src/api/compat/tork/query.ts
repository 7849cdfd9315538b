/**
 * Tork's query parameters: `page`/`size` paging (tork.md §3.2, §3.4) and the `q` search syntax
 * (§6), plus the word matching the log endpoints use.
 */
import { notFound } from './errors.js';
import { SEARCH_WORD_OF_TORK_STATE } from './states.js';

export interface Paging {
  page: number;
  size: number;
  offset: number;
}

/** A query parameter as Go's `c.QueryParam` reads it: the first value, '' when absent. */
export function queryParam(query: unknown, name: string): string {
  const value = (query as Record<string, unknown> | undefined)?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : '';
}

/** Go's strconv.Atoi: an optional sign and decimal digits, nothing else. */
function atoi(text: string): number | null {
  return /^[+-]?\d+$/.test(text) ? Number(text) : null;
}

/**
 * Page and size, clamped. A malformed number is a 404 as in Tork (§11 #2); the size message
 * prints the size itself, where Tork printed the page (§11 #1).
 */
export function parsePaging(query: unknown, limits: { defaultSize: number; maxSize: number }): Paging {
  const pageText = queryParam(query, 'page');
  const sizeText = queryParam(query, 'size');
  let page = 1;
  let size = limits.defaultSize;
  if (pageText !== '') {
    const parsed = atoi(pageText);
    if (parsed === null) throw notFound(`invalid page number: ${pageText}`);
    page = Math.max(parsed, 1);
  }
  if (sizeText !== '') {
    const parsed = atoi(sizeText);
    if (parsed === null) throw notFound(`invalid size: ${sizeText}`);
    size = Math.min(Math.max(parsed, 1), limits.maxSize);
  }
  return { page, size, offset: (page - 1) * size };
}

export const JOB_PAGING = { defaultSize: 10, maxSize: 20 };
export const LOG_PAGING = { defaultSize: 25, maxSize: 100 };

/** Tork's Page: `size` is the number of items returned (§11 #14), not the requested size. */
export function page<T>(items: T[], paging: Paging, totalItems: number): { items: T[]; number: number; size: number; totalPages: number; totalItems: number } {
  return {
    items,
    number: paging.page,
    size: items.length,
    totalPages: Math.ceil(totalItems / paging.size),
    totalItems,
  };
}

export interface Search {
  /** Jobs carrying any of these tags. */
  tags: string[];
  /** Words every matching job holds (full text); '' for none. */
  text: string;
}

/**
 * `q` as Tork reads it: whitespace-separated tokens; `tag:x` and `tags:a,b` are tag filters (a
 * job matches with any of them), the rest is one full-text term. A word naming a Tork state that
 * barge spells differently is searched in barge's spelling (`completed` → `succeeded`).
 */
export function parseSearch(q: string): Search {
  const tags: string[] = [];
  const words: string[] = [];
  for (const token of q.split(/\s+/).filter(Boolean)) {
    if (token.startsWith('tag:')) tags.push(token.slice('tag:'.length));
    else if (token.startsWith('tags:')) tags.push(...token.slice('tags:'.length).split(','));
    else words.push(SEARCH_WORD_OF_TORK_STATE.get(token.toLowerCase()) ?? token);
  }
  return { tags: tags.filter(Boolean), text: words.join(' ') };
}

/** Lowercase letter-and-digit runs: the tokens full-text search compares. */
function tokens(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

/**
 * Whether a log text matches a `q`, approximating PostgreSQL's English full text (Tork's) without
 * a stemmer: every word of `q` must begin a word of the text, case-insensitively (`error` finds
 * "errors"). An empty `q` matches everything.
 */
export function matchesWords(text: string, q: string): boolean {
  const wanted = tokens(q);
  if (wanted.length === 0) return true;
  const present = tokens(text);
  return wanted.every((word) => present.some((token) => token.startsWith(word)));
}
