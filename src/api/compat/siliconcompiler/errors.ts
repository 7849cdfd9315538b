/**
 * sc-server's error body (reference §1): `{"message": "<text>"}` as JSON, plus `"success": false`
 * on `cancel_job`. Set on the face's plugin context only, so /v1 keeps barge's shape. Nothing is a
 * 500 that the client's input caused: barge's own error kinds map to a 4xx here, and an unexpected
 * failure is logged and answered with a bare message, never its cause.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BargeError, TooManyError, ValidationError, formatProblem } from '../../../core/errors.js';
import { statusOfCode } from '../../errors.js';

export class ScError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Extra members of the body (`success: false` for cancel_job). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ScError';
  }
}

/** Where this face's original answers a barge error code differently from /v1. */
const STATUS_DIFFERENCES = { BARGE_E_UNAUTHORIZED: 403, BARGE_E_CONFLICT: 400 };

function answer(error: unknown): { status: number; body: Record<string, unknown> } | null {
  if (error instanceof ScError) return { status: error.status, body: { message: error.message, ...error.extra } };
  if (error instanceof ValidationError) return { status: 400, body: { message: error.problems.map(formatProblem).join('; ') } };
  if (error instanceof BargeError) return { status: statusOfCode(error.code, STATUS_DIFFERENCES), body: { message: error.message } };
  const fastify = error as Partial<FastifyError>;
  if (typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    return { status: fastify.statusCode, body: { message: fastify.message ?? 'Bad Request' } };
  }
  return null;
}

export function registerScErrors(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const known = answer(error);
    if (!known || known.status >= 500) request.log.error({ err: error }, 'siliconcompiler request failed');
    if (error instanceof TooManyError && error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
    if (!known) return reply.code(500).send({ message: 'Internal server error.' });
    return reply.code(known.status).send(known.body);
  });
}
