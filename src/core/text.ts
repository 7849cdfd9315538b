/**
 * PostgreSQL text cannot hold NUL, and a program's output may: text a program produced (a log
 * line, an execution's result or error) is stored with each NUL replaced by U+FFFD in both stores,
 * so both read back the same text. (Text a person wrote, such as a spec, is refused instead.)
 */
export function sanitizeLogText(line: string): string {
  return line.includes('\u0000') ? line.replaceAll('\u0000', '\uFFFD') : line;
}
