/**
 * SlideRule Runner's error bodies (sliderule-runner.md §6): `{"error", "error_description"}`,
 * serialized as Python's `json.dumps` does. Validation failures are 400 `bad request` with the
 * reason (§11 #3, the original answers 500 for them); a missing or refused JWT is API Gateway's
 * 401 `{"message":"Unauthorized"}`. The handler is set on this plugin's context only.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BargeError, TooManyError, ValidationError, formatProblem } from '../../../core/errors.js';
import { pythonJson } from './wire.js';

/** An answer with SlideRule's status and body. */
export class SlideRuleError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, string>,
  ) {
    super(body.error_description ?? body.error ?? body.message ?? 'error');
    this.name = 'SlideRuleError';
  }
}

export const badRequest = (reason: string): SlideRuleError => new SlideRuleError(400, { error: 'bad request', error_description: reason });
export const invalidSignature = (): SlideRuleError => new SlideRuleError(403, { error: 'access denied', error_description: 'invalid signature' });
export const notAMember = (): SlideRuleError => new SlideRuleError(403, { error: 'access denied', error_description: 'not a member' });
export const accessDenied = (reason: string): SlideRuleError => new SlideRuleError(403, { error: 'access denied', error_description: reason });
/** API Gateway's answer for a missing or refused JWT; the reason stays in the log. */
export const unauthorized = (): SlideRuleError => new SlideRuleError(401, { message: 'Unauthorized' });
export const pathNotFound = (): SlideRuleError => new SlideRuleError(404, { error: 'not found' });
/** §11 #18: an unknown job id where the original's AWS call would have said ValidationError. */
export const jobNotFound = (): SlideRuleError => new SlideRuleError(404, { error: 'not found', error_description: 'failure in request' });
const INTERNAL = { error: 'internal error', error_description: 'failure in request' };

function answerOf(error: unknown): SlideRuleError | null {
  if (error instanceof SlideRuleError) return error;
  if (error instanceof ValidationError) return badRequest(error.problems.map(formatProblem).join('; '));
  if (error instanceof TooManyError) return new SlideRuleError(429, { message: 'Too Many Requests' });
  if (error instanceof BargeError) {
    switch (error.code) {
      case 'BARGE_E_VALIDATION':
      case 'BARGE_E_CONFLICT':
        return badRequest(error.message);
      case 'BARGE_E_UNAUTHORIZED':
        return unauthorized();
      case 'BARGE_E_FORBIDDEN':
        return accessDenied(error.message);
      case 'BARGE_E_NOT_FOUND':
        return jobNotFound();
      case 'BARGE_E_TOO_LARGE':
        return new SlideRuleError(413, { message: 'Request Entity Too Large' });
      default:
        return null;
    }
  }
  const fastify = error as Partial<FastifyError>;
  if (fastify.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new SlideRuleError(413, { message: 'Request Entity Too Large' });
  if (typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) return badRequest(fastify.message ?? 'bad request');
  return null;
}

export function registerSlideRuleErrors(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => sendError(request, reply, error));
}

/** Any thrown value as SlideRule's answer; an unexpected one is a 500 whose cause goes to the log only. */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  const answer = answerOf(error);
  if (!answer) {
    request.log.error({ err: error }, 'sliderule request failed');
    return sendBody(reply, 500, INTERNAL);
  }
  if (answer.status === 401) request.log.info({ reason: error instanceof Error ? error.message : String(error) }, 'sliderule request refused');
  if (error instanceof TooManyError && error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  return sendBody(reply, answer.status, answer.body);
}

export function sendBody(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).type('application/json').send(pythonJson(body));
}
