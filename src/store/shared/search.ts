/**
 * Turning user search text into safe query input. The API layer has already taken Tork's
 * `tag:x` / `tags:a,b` out of `q`; what is left is plain words, and a job matches when every word
 * matches (PostgreSQL's plainto_tsquery semantics, which the SQLite store copies).
 */

/** The words of a search string; none for a blank one (no filter). */
export function searchWords(q: string | undefined): string[] {
  return (q ?? '').split(/\s+/u).filter((word) => word.length > 0);
}

/**
 * An FTS5 MATCH expression requiring every word: each word is a quoted string (inner quotes
 * doubled), so FTS5 syntax in user input (`"`, `*`, `:`, `^`, `-`, AND/OR/NOT/NEAR) is only text,
 * and the tokenizer (porter) stems each one as it stemmed the indexed text. Words that hold no
 * token (only punctuation) are ignored by FTS5, as plainto_tsquery ignores them.
 */
export function fts5AllWords(words: readonly string[]): string {
  return words.map((word) => `"${word.replaceAll('"', '""')}"`).join(' ');
}

