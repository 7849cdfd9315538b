/**
 * Request body formats beyond Fastify's JSON: YAML job specs. The parser keeps the raw text; the
 * route that accepts YAML parses it with `parseSpecText` (core/spec.ts), which refuses alias bombs
 * and reports syntax errors as validation problems, and the engine validates what comes out.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

export const YAML_MEDIA_TYPES = ['application/yaml', 'text/yaml', 'application/x-yaml'] as const;
export const JSON_MEDIA_TYPE = 'application/json';

export function registerYamlBodies(app: FastifyInstance): void {
  app.addContentTypeParser([...YAML_MEDIA_TYPES], { parseAs: 'string' }, (_request, body, done) => {
    done(null, body);
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
