/**
 * Request body formats beyond Fastify's JSON: YAML job specs. The parser keeps the raw text; the
 * route that accepts YAML parses it with `parseSpecText` (core/spec.ts), which refuses alias bombs
 * and reports syntax errors as validation problems, and the engine validates what comes out.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { withJsonPlace } from '../core/json-position.js';

export const YAML_MEDIA_TYPES = ['application/yaml', 'text/yaml', 'application/x-yaml'] as const;
export const JSON_MEDIA_TYPE = 'application/json';

export function registerYamlBodies(app: FastifyInstance): void {
  app.addContentTypeParser([...YAML_MEDIA_TYPES], { parseAs: 'string' }, (_request, body, done) => {
    done(null, body);
  });
}

/**
 * Fastify's own JSON parser (secure-json-parse, `__proto__` and `constructor.prototype` refused),
 * with the place of a syntax error added to its message: `… (line 3, column 7)`.
 */
export function registerJsonBodies(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(JSON_MEDIA_TYPE);
  app.addContentTypeParser(JSON_MEDIA_TYPE, { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    parse(request, text, (error, value) => {
      const syntax = error instanceof SyntaxError || (error as { code?: string } | null)?.code === 'FST_ERR_CTP_INVALID_JSON_BODY';
      if (error && syntax) error.message = withJsonPlace(text, error.message);
      done(error, value);
    });
  });
}

export type BodyFormat = 'json' | 'yaml' | 'none' | 'other';

/** How a request's body was sent, from its media type (parameters such as charset ignored). */
export function bodyFormatOf(request: FastifyRequest): BodyFormat {
  const mediaType = request.mediaType?.toLowerCase();
  if (!mediaType) return request.body === undefined ? 'none' : 'other';
  if (mediaType === JSON_MEDIA_TYPE) return 'json';
  if ((YAML_MEDIA_TYPES as readonly string[]).includes(mediaType)) return 'yaml';
  return 'other';
}

/** 415, for a body Fastify could read (say text/plain) that a route does not take. */
export function unsupportedMediaType(mediaType: string | undefined): Error & { statusCode: number } {
  const error = new Error(
    `unsupported content type ${mediaType ?? '(none)'}; send ${[JSON_MEDIA_TYPE, ...YAML_MEDIA_TYPES].join(', ')}`,
  ) as Error & { statusCode: number };
  error.statusCode = 415;
  return error;
}
