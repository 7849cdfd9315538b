/** A database URL fit for an error message or a log line: any password replaced. */
export function redactPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@]*@/iu, '$1***@');
}

/** An error that says which database it is about, keeping the original as `cause`. */
export function openError(what: string, error: unknown): Error {
  const reason = error instanceof Error ? error.message : String(error);
  return new Error(`${what}: ${reason}`, { cause: error });
}
