/**
 * The web UI at /: the page (index.html) and its hashed, bundled assets under /assets/, built by
 * `npm run build` into dist/ui (see src/ui/). The page talks only to /v1; its own routes live in
 * the URL's fragment (/#/jobs/…), so they never collide with the Tork face's /jobs or /nodes.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

/** dist/ui of this package, whether this module runs from dist/api or (in tests) from src/api. */
export const UI_ROOT = fileURLToPath(new URL('../../dist/ui/', import.meta.url));

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>barge</title></head>
<body><h1>barge is running</h1><p>The web UI is not built: run <code>npm run build</code>.
Meanwhile see <a href="/docs">the API documentation</a>.</p></body></html>`;

/**
 * The page may run only its own bundled code and talk only to this server: a strict Content
 * Security Policy makes "no CDN, no network beyond the server" a rule the browser enforces.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export async function registerUi(app: FastifyInstance, root = UI_ROOT): Promise<void> {
  const indexFile = `${root}index.html`;
  // Read per request (it is small): a rebuild names new asset files, and the page must follow.
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('cache-control', 'no-cache')
      .header('referrer-policy', 'no-referrer')
      .send(await readFile(indexFile, 'utf8').catch(() => NOT_BUILT)),
  );
  if (!existsSync(`${root}assets`)) return;
  await app.register(fastifyStatic, {
    root: `${root}assets`,
    prefix: '/assets/',
    // File names carry a content hash: a browser may keep them for good.
    immutable: true,
    maxAge: '365d',
    index: false,
    list: false,
    decorateReply: false,
    schemaHide: true,
  });
}
