/**
 * The one place where anything thrown in the HTTP layer becomes a status and a body of
 * `{ error, message, details? }`: barge's error kinds (core/errors.ts) by their code, Fastify's own
 * errors (schema validation, body parsing, body limit) by their status, and everything else as a
 * 500 whose real cause goes to the log only, so a driver message or a secret never reaches a client.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BargeError, TooManyError, ValidationError, formatProblem, type ErrorCode, type Problem } from '../core/errors.js';
import { MIN_ID_PREFIX } from '../engine/ids.js';

/** Codes on the wire: barge's error kinds, BARGE_E_INTERNAL for a server fault. */
export type WireErrorCode = ErrorCode;

export interface ErrorBody {
  error: WireErrorCode;
  message: string;
  details?: Problem[];
}

const STATUS_OF_CODE: Record<ErrorCode, number> = {
  BARGE_E_VALIDATION: 400,
  BARGE_E_UNAUTHORIZED: 401,
  BARGE_E_FORBIDDEN: 403,
  BARGE_E_NOT_FOUND: 404,
  BARGE_E_CONFLICT: 409,
  BARGE_E_TOO_LARGE: 413,
  BARGE_E_TOO_MANY: 429,
  BARGE_E_UNAVAILABLE: 503,
  BARGE_E_INTERNAL: 500,
};

/**
 * The HTTP status of a barge error code. A face whose original answers some codes differently
 * (Tork's 400 for a conflict, SiliconCompiler's 403 for bad credentials) names only those.
 */
export function statusOfCode(code: string, differences: Partial<Record<ErrorCode, number>> = {}): number {
  return differences[code as ErrorCode] ?? STATUS_OF_CODE[code as ErrorCode] ?? 500;
}

/** Fastify's client errors by status; anything else 4xx from Fastify is a malformed request. */
const CODE_OF_CLIENT_STATUS: Record<number, ErrorCode> = {
  401: 'BARGE_E_UNAUTHORIZED',
  403: 'BARGE_E_FORBIDDEN',
  404: 'BARGE_E_NOT_FOUND',
  409: 'BARGE_E_CONFLICT',
  413: 'BARGE_E_TOO_LARGE',
  429: 'BARGE_E_TOO_MANY',
};

export function unauthorized(message: string): BargeError {
  return new BargeError('BARGE_E_UNAUTHORIZED', message);
}

export function forbidden(message: string): BargeError {
  return new BargeError('BARGE_E_FORBIDDEN', message);
}

export function unavailable(message: string): BargeError {
  return new BargeError('BARGE_E_UNAVAILABLE', message);
}

/** A validation error about one query parameter, path parameter or field. */
export function invalid(path: string, message: string): ValidationError {
  return new ValidationError([{ path, message }]);
}

interface Mapped {
  status: number;
  body: ErrorBody;
}

export function mapError(error: unknown): Mapped | null {
  if (error instanceof ValidationError) {
    return { status: 400, body: { error: error.code, message: error.message, details: error.problems } };
  }
  if (error instanceof BargeError) {
    return { status: STATUS_OF_CODE[error.code], body: { error: error.code, message: error.message } };
  }
  if (isFastifyValidationError(error)) return mapSchemaValidation(error);
  const status = clientStatusOf(error);
  if (status !== null) {
    const code = CODE_OF_CLIENT_STATUS[status] ?? 'BARGE_E_VALIDATION';
    return { status, body: { error: code, message: (error as Error).message } };
  }
  return null;
}

/** Fastify marks its own request errors (bad JSON, body too large, wrong media type) with a 4xx. */
function clientStatusOf(error: unknown): number | null {
  if (!(error instanceof Error)) return null;
  const status = (error as Partial<FastifyError>).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : null;
}

function isFastifyValidationError(error: unknown): error is FastifyError & Required<Pick<FastifyError, 'validation'>> {
  return error instanceof Error && Array.isArray((error as Partial<FastifyError>).validation);
}

function mapSchemaValidation(error: FastifyError & Required<Pick<FastifyError, 'validation'>>): Mapped {
  const context = error.validationContext ?? 'body';
  const problems = error.validation.map((item) => toProblem(item, context));
  return {
    status: 400,
    body: { error: 'BARGE_E_VALIDATION', message: problems.map(formatProblem).join('; '), details: problems },
  };
}

type AjvIssue = FastifyError['validation'] extends (infer I)[] | undefined ? I : never;

/** An Ajv issue as a barge problem: `/tasks/0/name` becomes `tasks[0].name`, query parameters by name. */
function toProblem(issue: AjvIssue, context: string): Problem {
  const params = issue.params as Record<string, unknown>;
  const segments = issue.instancePath.split('/').slice(1);
  if (typeof params.missingProperty === 'string') segments.push(params.missingProperty);
  if (typeof params.additionalProperty === 'string') segments.push(params.additionalProperty);
  const path = segments.reduce(
    (joined, segment) => (/^\d+$/.test(segment) ? `${joined}[${segment}]` : joined ? `${joined}.${segment}` : segment),
    '',
  );
  let message = issue.message ?? 'is invalid';
  if (issue.keyword === 'additionalProperties') message = 'is not a known field';
  if (issue.keyword === 'enum' && Array.isArray(params.allowedValues)) message = `must be one of ${params.allowedValues.join(', ')}`;
  if (issue.keyword === 'pattern' && typeof params.pattern === 'string' && params.pattern === ID_PATTERN) {
    message = 'must be a 32-character lowercase hex id';
  }
  if (issue.keyword === 'pattern' && params.pattern === ID_OR_PREFIX_PATTERN) {
    message = `must be a lowercase hex id, or a unique prefix of at least ${MIN_ID_PREFIX} of its characters`;
  }
  if (path === '' && context === 'body') message = `the request body ${message}`;
  return { path, message };
}

/** The id format of jobs, tasks and executions (engine/ids.ts). */
export const ID_PATTERN = '^[0-9a-f]{32}$';
/** A whole id or a prefix of at least MIN_ID_PREFIX (engine/ids.ts) of its characters. */
export const ID_OR_PREFIX_PATTERN = `^[0-9a-f]{${MIN_ID_PREFIX},32}$`;

/**
 * Fastify's router refuses some URLs before any hook or handler runs (a path parameter over
 * `maxParamLength`, a malformed percent-encoding); this answers those in the same shape. Pass it
 * as Fastify's `frameworkErrors` option.
 */
export function answerFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const message =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'the URL is malformed';
  void reply.code(400).send({ error: 'BARGE_E_VALIDATION', message } satisfies ErrorBody);
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const mapped = mapError(error);
    if (!mapped) {
      // The real error stays in the log; the client learns only which request to ask about.
      request.log.error({ err: error }, 'request failed');
      return reply.code(500).send({
        error: 'BARGE_E_INTERNAL',
        message: `internal error (request ${request.id}); the server log has the details`,
      } satisfies ErrorBody);
    }
    if (mapped.status === 401) reply.header('www-authenticate', 'Bearer realm="barge"');
    if (error instanceof TooManyError && error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
    if (mapped.status >= 500) request.log.warn({ err: error }, 'request failed');
    return reply.code(mapped.status).send(mapped.body);
  });

  app.setNotFoundHandler((request, reply) => {
    // Only the path, and not too much of it: query strings can carry anything.
    const path = (request.url.split('?')[0] ?? '').slice(0, 200);
    return reply
      .code(404)
      .send({ error: 'BARGE_E_NOT_FOUND', message: `no route ${request.method} ${path}` } satisfies ErrorBody);
  });
}
