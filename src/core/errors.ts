/**
 * Error kinds, translated once at each edge: the API maps a kind to a status and a stable code,
 * each compat module renders it in its own shape. Nothing rejects with a bare string.
 */

export interface Problem {
  /** Field path such as `tasks[2].retry.limit`; '' for the whole document. */
  path: string;
  message: string;
}

export type ErrorCode =
  | 'BARGE_E_VALIDATION'
  | 'BARGE_E_NOT_FOUND'
  | 'BARGE_E_CONFLICT'
  | 'BARGE_E_UNAUTHORIZED'
  | 'BARGE_E_FORBIDDEN'
  | 'BARGE_E_TOO_LARGE'
  | 'BARGE_E_TOO_MANY'
  | 'BARGE_E_UNAVAILABLE'
  | 'BARGE_E_INTERNAL';

export class BargeError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input; carries every problem found, each naming its field path. */
export class ValidationError extends BargeError {
  constructor(readonly problems: Problem[]) {
    super('BARGE_E_VALIDATION', problems.map(formatProblem).join('; '));
  }
}

export class NotFoundError extends BargeError {
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super('BARGE_E_NOT_FOUND', `${entity} ${id} not found`);
  }
}

/** A request that is well-formed but illegal in the current state (cancel a finished job). */
export class ConflictError extends BargeError {
  constructor(message: string) {
    super('BARGE_E_CONFLICT', message);
  }
}

/** Network failures that say "not now" rather than "never": the peer may answer a retry. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * Whether an error means the server or database is unavailable for now (BARGE_E_UNAVAILABLE, or
 * a network failure anywhere in its cause chain), so the same request may succeed later.
 */
export function isUnavailable(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 10; current = (current as { cause?: unknown }).cause, depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (code === 'BARGE_E_UNAVAILABLE' || (typeof code === 'string' && UNREACHABLE_CODES.has(code))) return true;
  }
  return false;
}

/** Over a quota or a rate limit: the message names which, so the caller knows what to wait for. */
export class TooManyError extends BargeError {
  constructor(
    message: string,
    /** Seconds after which trying again may succeed, when known. */
    readonly retryAfterSeconds?: number,
  ) {
    super('BARGE_E_TOO_MANY', message);
  }
}

export function formatProblem(problem: Problem): string {
  return problem.path ? `${problem.path}: ${problem.message}` : problem.message;
}

/** Turns anything thrown (by user code, a driver, a listener) into an Error that keeps the original. */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  const message = typeof value === 'string' ? value : safeStringify(value);
  return new Error(message, { cause: value });
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
