/**
 * `remote_run`'s form (reference §4.2): two parts, `params` (JSON) and `import` (tar.gz). The real
 * client gives both a filename and no Content-Type, so both arrive as files; `params` is read as
 * bytes and parsed, `import` is streamed to the staging folder. Either order is accepted. Sizes
 * over the limit are a 413 whether the Content-Length says so up front or the stream passes it.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { ScError } from './errors.js';

export interface ReceivedForm {
  /** The parsed `params` part; undefined when there was none. */
  params: unknown;
  /** Where `import` was written; null when the form had none (a resumed job). */
  upload: string | null;
}

/** A `params` part bigger than this is refused: manifests are a few MB. */
const MAX_PARAMS_BYTES = 64 * 1024 * 1024;

export function tooLarge(limitBytes: number): ScError {
  return new ScError(413, `Request Entity Too Large: the upload is over this server's limit of ${limitBytes} bytes.`);
}

export async function receiveForm(request: FastifyRequest, staging: string, maxUploadBytes: number): Promise<ReceivedForm> {
  const declared = Number(request.headers['content-length']);
  if (maxUploadBytes > 0 && Number.isFinite(declared) && declared > maxUploadBytes) throw tooLarge(maxUploadBytes);
  if (!request.isMultipart()) throw new ScError(400, 'Manifest not provided.');
  const fileLimit = maxUploadBytes > 0 ? maxUploadBytes : Number.MAX_SAFE_INTEGER;
  const form: ReceivedForm = { params: undefined, upload: null };
  let total = 0;
  for await (const part of request.parts({ limits: { fileSize: fileLimit, files: 4, fields: 4, parts: 8 } })) {
    if (part.type === 'field') {
      if (part.fieldname === 'params') form.params = parseParams(Buffer.from(String(part.value)));
      continue;
    }
    if (part.fieldname === 'params') {
      const bytes = await part.toBuffer();
      total += bytes.length;
      if (bytes.length > MAX_PARAMS_BYTES) throw new ScError(413, `Request Entity Too Large: params is over ${MAX_PARAMS_BYTES} bytes.`);
      form.params = parseParams(bytes);
    } else if (part.fieldname === 'import') {
      const path = join(staging, 'import.tar.gz');
      await pipeline(part.file, createWriteStream(path, { mode: 0o600 }));
      if (part.file.truncated) throw tooLarge(maxUploadBytes);
      form.upload = path;
      total += part.file.bytesRead;
    } else {
      part.file.resume();
    }
    if (maxUploadBytes > 0 && total > maxUploadBytes) throw tooLarge(maxUploadBytes);
  }
  return form;
}

function parseParams(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw new ScError(400, 'Error: Invalid parameters: params is not JSON.');
  }
}
