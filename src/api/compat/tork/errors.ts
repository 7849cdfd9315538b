/**
 * Tork's error bodies (tork.md §1): `{"message":"…"}` plus a newline, with echo's texts for the
 * framework's own errors. The handler is set on the Tork plugin's context only, so barge's /v1
 * keeps its `{error, message, details}` shape.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BargeError, TooManyError, ValidationError, formatProblem } from '../../../core/errors.js';
import { statusOfCode } from '../../errors.js';
import { sendJson } from './wire.js';

/** An answer with Tork's status and exact message. */
export class TorkError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'TorkError';
  }
}

export const badRequest = (message: string): TorkError => new TorkError(400, message);
export const notFound = (message: string): TorkError => new TorkError(404, message);

/** echo's texts for its HTTP errors (`http.StatusText`). */
const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Request Entity Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Where this face's original answers a barge error code differently from /v1. */
const STATUS_DIFFERENCES = { BARGE_E_CONFLICT: 400 };

interface Answer {
  status: number;
  message: string;
}

/**
 * What a thrown value becomes. Validation problems found by barge's own spec check (after Tork's
 * rules passed) are listed one per line, like Tork's validator output. Authentication failures
 * keep echo's bare `Unauthorized`/`Forbidden` so no detail leaks through this API.
 */
export function torkAnswer(error: unknown, request: FastifyRequest): Answer | null {
  if (error instanceof TorkError) return { status: error.status, message: error.message };
  if (error instanceof ValidationError) return { status: 400, message: error.problems.map(formatProblem).join('\n') };
  if (error instanceof BargeError) {
    const status = statusOfCode(error.code, STATUS_DIFFERENCES);
    const plain = status === 401 || status === 403 || status >= 500;
    return { status, message: plain ? STATUS_TEXT[status] : error.message };
  }
  const fastify = error as Partial<FastifyError>;
  if (fastify.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return { status: 400, message: `unknown content type: ${request.headers['content-type'] ?? ''}` };
  }
  if (typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    return { status: fastify.statusCode, message: STATUS_TEXT[fastify.statusCode] ?? 'Bad Request' };
  }
  return null;
}

export function registerTorkErrors(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const answer = torkAnswer(error, request);
    if (!answer) {
      // The cause goes to the log only: a driver message or a secret never reaches the client.
      request.log.error({ err: error }, 'tork request failed');
      return sendJson(request, reply, 500, { message: STATUS_TEXT[500] });
    }
    if (answer.status >= 500) request.log.warn({ err: error }, 'tork request failed');
    if (error instanceof TooManyError && error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
    return sendJson(request, reply, answer.status, { message: answer.message });
  });
}

/** echo's answer for a path it has no route for. */
export function torkNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendJson(request, reply, 404, { message: STATUS_TEXT[404] });
}

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
type Method = (typeof ALL_METHODS)[number];

/**
 * echo answers 405 when a path exists with other methods (`DELETE /jobs/:id`, `GET /users`).
 * Fastify would say 404, so the other methods of each Tork path are routed to a 405 here. HEAD
 * of a GET path is Fastify's automatic HEAD route and is left alone.
 */
export function refuseOtherMethods(app: FastifyInstance, url: string, allowed: readonly Method[]): void {
  const others = ALL_METHODS.filter((m) => !allowed.includes(m) && !(m === 'HEAD' && allowed.includes('GET')));
  app.route({
    method: [...others],
    url,
    config: { auth: 'public' },
    handler: (request, reply) => sendJson(request, reply, 405, { message: STATUS_TEXT[405] }),
  });
}
