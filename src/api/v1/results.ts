/**
 * GET /v1/jobs/{id}/results.tar.gz: a job's outputs and results as one gzipped tar, streamed
 * from the artifact store while it is sent. Each execution that left something gets a folder
 * `<name>-<idx>-<id>/` with its `outputs/…` files and a `result` file holding its result.
 * Sub-jobs' outputs stay with the sub-jobs (download them by their own id).
 */
import { posix } from 'node:path';
import { Readable, Transform, pipeline } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ArtifactRow, ExecutionRow, JobRow } from '../../core/model.js';
import { coerceError } from '../../core/errors.js';
import type { Engine } from '../../engine/engine.js';
import { principalOf } from '../auth/index.js';
import { tarStream, type TarFile } from '../tar-writer.js';
import { ownedJob, type V1Options } from './context.js';
import { errorResponses, IdParams } from './schemas.js';

const PAGE = 1000;

export const resultRoutes: FastifyPluginAsync<V1Options> = async (app, { engine }) => {
  app.get<{ Params: IdParams }>(
    '/jobs/:id/results.tar.gz',
    {
      schema: {
        tags: ['jobs'],
        summary: "A job's outputs and results as a streamed tar.gz",
        params: IdParams,
        response: {
          200: {
            description: '`<execution name>-<idx>-<id>/outputs/…` and `…/result` files',
            content: { 'application/gzip': { schema: Type.String({ format: 'binary' }) } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const job = await ownedJob(engine, principal, request.params.id);
      // Served bytes count against the caller's resultBytesPerPeriod quota, checked up front.
      await engine.quotas.checkResultBytes(principal.name);
      const log = request.log;
      const tar = Readable.from(
        tarStream(resultFiles(engine, job, log), (path, expected, actual) =>
          log.warn({ path, expected, actual }, 'artifact size differs from its record; padded or cut'),
        ),
      );
      // pipeline destroys the gzip stream if reading an artifact fails half-way, so the client
      // sees a broken download rather than a silently short archive.
      let served = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          served += chunk.length;
          done(null, chunk);
        },
      });
      const gzip = pipeline(tar, createGzip(), counter, (error) => {
        if (error && error.name !== 'AbortError') log.warn({ err: error }, 'results download failed');
        engine.quotas.recordResultBytes(principal.name, served).catch((recordError: unknown) => {
          log.warn({ err: recordError }, 'could not record served result bytes');
        });
      });
      return reply
        .type('application/gzip')
        .header('content-disposition', `attachment; filename="${job.id}-results.tar.gz"`)
        .send(gzip);
    },
  );
};

async function* resultFiles(engine: Engine, job: JobRow, log: FastifyBaseLogger): AsyncGenerator<TarFile> {
  const artifacts = groupByExecution(await engine.store.artifactList({ jobId: job.id }));
  for await (const execution of allExecutions(engine, job.id)) {
    const files = artifacts.get(execution.id) ?? [];
    if (files.length === 0 && execution.result === null) continue;
    const folder = `${safeSegment(execution.name)}-${execution.idx}-${execution.id}`;
    for (const artifact of files) {
      const path = safeRelativePath(artifact.path);
      if (!path) {
        log.warn({ executionId: execution.id, path: artifact.path }, 'artifact path escapes its folder; left out');
        continue;
      }
      const opened = await openArtifact(engine, artifact, log);
      if (!opened) continue;
      try {
        yield { path: `${folder}/outputs/${path}`, size: artifact.size, mtime: new Date(artifact.createdAt), content: opened.content };
      } finally {
        // Also when the client leaves half-way and the archive is abandoned: no open file left.
        opened.stream.destroy();
      }
    }
    if (execution.result !== null) {
      const bytes = Buffer.from(execution.result, 'utf8');
      const mtime = new Date(execution.completedAt ?? execution.createdAt);
      yield { path: `${folder}/result`, size: bytes.length, mtime, content: [bytes] };
    }
  }
}

/** Every execution of the job, oldest first, read a page at a time. */
async function* allExecutions(engine: Engine, jobId: string): AsyncGenerator<ExecutionRow> {
  let afterSeq: number | undefined;
  for (;;) {
    const page = await engine.store.executionList({ jobId, afterSeq, limit: PAGE });
    yield* page;
    const last = page.at(-1)?.seq;
    if (page.length < PAGE || last === undefined) return;
    afterSeq = last;
  }
}

/**
 * Opens an artifact and waits for its first bytes, so a file that has gone missing is left out
 * (with a warning) before its header is written, instead of breaking the archive.
 */
async function openArtifact(engine: Engine, artifact: ArtifactRow, log: FastifyBaseLogger): Promise<OpenArtifact | null> {
  let stream: Readable | undefined;
  try {
    stream = await engine.artifacts.open({ jobId: artifact.jobId, executionId: artifact.executionId, path: artifact.path });
    const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
    const first = await iterator.next();
    const content = (async function* () {
      if (first.done) return;
      yield first.value;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    })();
    return { stream, content };
  } catch (error) {
    stream?.destroy();
    log.warn({ err: coerceError(error), path: artifact.path, executionId: artifact.executionId }, 'artifact unreadable; left out');
    return null;
  }
}

interface OpenArtifact {
  stream: Readable;
  content: AsyncIterable<Uint8Array>;
}

function groupByExecution(rows: ArtifactRow[]): Map<string, ArtifactRow[]> {
  const groups = new Map<string, ArtifactRow[]>();
  for (const row of rows) {
    const list = groups.get(row.executionId) ?? [];
    list.push(row);
    groups.set(row.executionId, list);
  }
  return groups;
}

/** A name usable as one folder name on any system. */
function safeSegment(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_').slice(0, 80) || 'execution';
}

/** The path inside outputs/, or null when it would climb out of it. */
function safeRelativePath(path: string): string | null {
  const clean = posix.normalize(path.replaceAll('\\', '/')).replace(/^\/+/, '');
  if (clean === '' || clean === '.' || clean.split('/').includes('..')) return null;
  return clean;
}
