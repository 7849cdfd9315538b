/**
 * PostgreSQL text cannot hold NUL, and a program's output may: a log line is stored with each NUL
 * replaced by U+FFFD in both stores, so both read back the same line.
 */
export function sanitizeLogText(line: string): string {
  return line.includes('\u0000') ? line.replaceAll('\u0000', '\uFFFD') : line;
}
