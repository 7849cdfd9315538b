/**
 * GET /: a placeholder page until the web UI (src/ui) is served here.
 */
import type { FastifyInstance } from 'fastify';

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>barge</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem; color: #1d2733; }
  code { background: #eef1f4; padding: 0.1rem 0.3rem; border-radius: 3px; }
</style>
</head>
<body>
<h1>barge is running</h1>
<p>The web dashboard is not here yet. Meanwhile:</p>
<ul>
  <li><a href="/docs">API documentation</a> (<a href="/v1/openapi.json">OpenAPI document</a>)</li>
  <li><a href="/v1/health">health</a></li>
  <li>the CLI: <code>barge jobs</code>, <code>barge submit job.yaml</code>, <code>barge logs ID -f</code></li>
</ul>
</body>
</html>
`;

export function registerUiPlaceholder(app: FastifyInstance): void {
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE));
}
