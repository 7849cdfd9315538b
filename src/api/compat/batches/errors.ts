/**
 * ET Engine's error answers (batches.md §1, §6, §9 #8): plain-text bodies with the original's
 * texts and codes. Where barge knows more than the original's text says (which field is wrong),
 * the detail goes in an `x-barge-detail` header, so the body stays exactly the reference's.
 * Set on the face's own context only; /v1 keeps its JSON shape.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BargeError, TooManyError, ValidationError, formatProblem } from '../../../core/errors.js';

export class BatchesError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** What exactly was wrong, for the `x-barge-detail` header. */
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'BatchesError';
  }
}

export const ACCESS_DENIED = 'Access denied';
export const INVALID_BODY = 'Invalid request body';
export const INVALID_JSON = 'Invalid JSON in request body';
export const MISSING_HEADER = 'Missing authorization header';
const UNKNOWN_ERROR = 'Unknown error occurred';

/** Unknown, foreign and malformed ids alike (§9 #9): nothing says whether the resource exists. */
export const accessDenied = (): BatchesError => new BatchesError(403, ACCESS_DENIED);
export const invalidBody = (detail: string): BatchesError => new BatchesError(400, INVALID_BODY, detail);

const TEXT_OF_STATUS: Record<number, string> = {
  400: INVALID_BODY,
  404: 'Not found',
  409: 'Conflict',
  413: 'Request body too large',
  415: INVALID_BODY,
  429: 'Too many requests',
  503: 'Service unavailable',
};

interface Answer {
  status: number;
  text: string;
  detail?: string;
}

function answerOf(error: unknown, request: FastifyRequest): Answer | null {
  if (error instanceof BatchesError) return { status: error.status, text: error.message, detail: error.detail };
  if (error instanceof ValidationError) return { status: 400, text: INVALID_BODY, detail: error.problems.map(formatProblem).join('; ') };
  if (error instanceof BargeError) {
    switch (error.code) {
      case 'BARGE_E_UNAUTHORIZED':
        return { status: 401, text: unauthorizedText(request) };
      case 'BARGE_E_FORBIDDEN':
      case 'BARGE_E_NOT_FOUND':
        return { status: 403, text: ACCESS_DENIED };
      case 'BARGE_E_CONFLICT':
        return { status: 409, text: TEXT_OF_STATUS[409], detail: error.message };
      case 'BARGE_E_TOO_LARGE':
        return { status: 413, text: TEXT_OF_STATUS[413], detail: error.message };
      case 'BARGE_E_TOO_MANY':
        return { status: 429, text: TEXT_OF_STATUS[429], detail: error.message };
      case 'BARGE_E_UNAVAILABLE':
        return { status: 503, text: TEXT_OF_STATUS[503] };
      default:
        return null;
    }
  }
  const status = (error as Partial<FastifyError>).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status: status === 415 ? 400 : status, text: TEXT_OF_STATUS[status] ?? INVALID_BODY, detail: (error as Error).message };
  }
  return null;
}

/** The original's two texts: one for a JWT (`Bearer `), one for an API key (§6). */
function unauthorizedText(request: FastifyRequest): string {
  return request.batchesScheme === 'jwt' ? 'Unknown authentication error in Bearer token' : 'User not found';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Which scheme the Authorization header used, for the 401 text. */
    batchesScheme: 'key' | 'jwt' | null;
  }
}

export function registerBatchesErrors(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const answer = answerOf(error, request);
    if (!answer) {
      // The cause goes to the log only: a driver message or a secret never reaches the client.
      request.log.error({ err: error }, 'batches request failed');
      return sendText(reply, 500, UNKNOWN_ERROR);
    }
    if (error instanceof TooManyError && error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
    if (answer.detail) reply.header('x-barge-detail', headerSafe(answer.detail));
    return sendText(reply, answer.status, answer.text);
  });
}

export function sendText(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').send(text);
}

/** Header values are Latin-1 without control characters; longer details are cut. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 500);
}
