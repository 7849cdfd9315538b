/**
 * The six endpoints of sc-server (reference §2, §4), all POST.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TooManyError } from '../../../core/errors.js';
import type { JobRow } from '../../../core/model.js';
import { isFinal } from '../../../core/states.js';
import type { Engine } from '../../../engine/engine.js';
import { newId } from '../../../engine/ids.js';
import { callerOf, canSee, requireWrite, userInfo, type Caller, type ScAuth } from './caller.js';
import { ScError } from './errors.js';
import { extractUpload, fileSize, UploadRefused, writeArchive, type JobRecord, type ScFolders } from './folders.js';
import { nodeTable, ORIGIN, scJobSpec, scMetadata, type NodeSettings } from './jobs.js';
import { ManifestError, manifestFacts, setParamValue, type Facts, type Manifest } from './manifest.js';
import { jobStatus } from './states.js';
import { receiveForm } from './upload.js';
import { checkedParams, isFalsy, parsedBody, type Endpoint, type Params } from './validate.js';

export interface ScContext {
  engine: Engine;
  folders: ScFolders;
  auth: ScAuth;
  guest: string;
  /** `progress_interval`, seconds. */
  checkIntervalSeconds: number;
  /** 0: no limit. */
  maxUploadBytes: number;
  maxUploadFiles: number;
  maxUnpackedBytes: number;
  /** Most runtime nodes one job may have (a user's `queuedExecutions` may lower it). */
  maxNodes: number;
  node: NodeSettings;
  /** `versions` of check_server. */
  versions: Record<string, string>;
  terms?: string;
  onSubmitted?: () => void;
}

const COMPLETED = { status: 'completed', message: 'Job has no running steps.' } as const;
const NOT_RUNNING = { message: 'Job is not running.', success: false } as const;
const NO_RESULTS = 'Could not find results for the requested job/node.';
const OUT_OF_QUOTA = 'User account is out of bandwidth or time';

async function checked(context: ScContext, endpoint: Endpoint, body: unknown): Promise<{ params: Params; caller: Caller }> {
  const params = checkedParams(endpoint, body);
  return { params, caller: await callerOf(context.engine, context.auth, context.guest, params) };
}

/** The job behind a hash when the caller may see it; null for unknown, deleted and others' jobs. */
async function visibleJob(context: ScContext, caller: Caller, hash: string): Promise<{ record: JobRecord; job: JobRow } | null> {
  const record = await context.folders.readRecord(hash);
  if (!record) return null;
  const job = await context.engine.store.jobGet(record.jobId);
  if (!job || !(await canSee(context.engine, caller, job))) return null;
  return { record, job };
}

export async function scRoutes(app: FastifyInstance, context: ScContext): Promise<void> {
  app.post('/check_server/', async (request) => {
    const { caller } = await checked(context, 'check_server', parsedBody(request.body));
    return {
      status: 'ready',
      versions: context.versions,
      progress_interval: context.checkIntervalSeconds,
      ...(context.terms ? { terms: context.terms } : {}),
      ...(caller.authenticated ? { user_info: await userInfo(context.engine, caller.principal.name) } : {}),
    };
  });

  app.post('/remote_run/', async (request) => remoteRun(context, request));

  app.post('/check_progress/', async (request) => {
    const { params, caller } = await checked(context, 'check_progress', parsedBody(request.body));
    const found = await visibleJob(context, caller, params.job_hash as string);
    if (!found) return COMPLETED;
    const status = jobStatus(found.job);
    if (status === 'completed') return COMPLETED;
    return { status, message: await nodeTable(context.engine, found.job, found.record) };
  });

  app.post('/cancel_job/', async (request, reply) => {
    const { params, caller } = await checked(context, 'cancel_job', parsedBody(request.body));
    requireWrite(caller);
    const hash = params.job_hash as string;
    const found = await visibleJob(context, caller, hash);
    if (!found || isFinal(found.job.state)) return reply.code(404).send(NOT_RUNNING);
    try {
      await context.engine.cancelJob(found.job.id);
    } catch {
      // It ended between the read and the cancel.
      return reply.code(404).send(NOT_RUNNING);
    }
    return { message: `Job ${hash} canceled: its running nodes are stopped and its pending nodes will not run.`, success: true };
  });

  app.post('/delete_job/', async (request, reply) => {
    const { params, caller } = await checked(context, 'delete_job', parsedBody(request.body));
    requireWrite(caller);
    const hash = params.job_hash as string;
    const found = await visibleJob(context, caller, hash);
    if (found && !isFinal(found.job.state)) throw new ScError(400, 'Error: job is still running.');
    if (found) {
      await context.engine.deleteJob(found.job.id);
      await rm(context.folders.job(hash), { recursive: true, force: true });
      await rm(context.folders.legacyArchive(hash), { force: true });
    }
    // sc-server answers the same whether or not anything existed (reference §4.6).
    return reply.type('text/plain; charset=utf-8').send('Job deleted.');
  });

  app.post('/get_results/*', async (request, reply) => getResults(context, request, reply));

  refuseOtherMethods(app);
}

/** sc-server has no GET routes (HEAD removed its static results route): 405 on its paths, 404 elsewhere. */
function refuseOtherMethods(app: FastifyInstance): void {
  const methods = ['GET', 'PUT', 'DELETE', 'PATCH'] as const;
  for (const url of ['/check_server/', '/remote_run/', '/check_progress/', '/cancel_job/', '/delete_job/']) {
    app.route({ method: [...methods], url, handler: (_request, reply) => reply.code(405).type('text/plain; charset=utf-8').send('405: Method Not Allowed') });
  }
  app.route({
    method: [...methods],
    url: '/get_results/*',
    handler: (request, reply) =>
      resultsName(request) === null
        ? reply.code(404).type('text/plain; charset=utf-8').send('404: Not Found')
        : reply.code(405).type('text/plain; charset=utf-8').send('405: Method Not Allowed'),
  });
}

/** The `{job_hash}` of `/get_results/{job_hash}.tar.gz`, percent-decoded; null when the path does not end in `.tar.gz`. */
function resultsName(request: FastifyRequest): string | null {
  const path = (request.raw.url ?? '').split('?')[0];
  const raw = path.slice(path.indexOf('/get_results/') + '/get_results/'.length);
  if (!raw.endsWith('.tar.gz')) return null;
  try {
    return decodeURIComponent(raw.slice(0, -'.tar.gz'.length));
  } catch {
    // Malformed escapes cannot be a hash: validation below refuses them.
    return raw;
  }
}

async function getResults(context: ScContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const hash = resultsName(request);
  if (hash === null) return reply.code(404).type('text/plain; charset=utf-8').send('404: Not Found');
  let body = parsedBody(request.body);
  // The URL's hash goes into the parameters before they are checked (reference §4.4).
  if (isFalsy(body)) body = {};
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) body = { ...body, job_hash: hash };
  const { params, caller } = await checked(context, 'get_results', body);
  const found = await visibleJob(context, caller, hash);
  const file = context.folders.archive(hash, params.node ?? null);
  const size = found ? await fileSize(file) : null;
  if (size === null) throw new ScError(404, NO_RESULTS);
  await checkDownload(context, found?.job.owner ?? caller.principal.name, size);
  await context.engine.quotas.recordResultBytes(found?.job.owner ?? caller.principal.name, size);
  // The archive's own bytes: no Content-Encoding, so nothing on the way decodes or re-encodes them.
  return reply.type('application/gzip').header('content-length', String(size)).send(createReadStream(file));
}

/** 503 in sc-server's words when the period's result bytes are spent, or this archive would pass them. */
async function checkDownload(context: ScContext, owner: string, size: number): Promise<void> {
  try {
    await context.engine.quotas.checkResultBytes(owner);
  } catch (error) {
    if (error instanceof TooManyError) throw new ScError(503, 'Result size is over the download limit');
    throw error;
  }
  const limit = (await context.engine.quotas.quotasOf(owner)).resultBytesPerPeriod;
  if (limit !== undefined && (await context.engine.quotas.usage(owner)).resultBytes + size > limit) {
    throw new ScError(503, 'Result size is over the download limit');
  }
}

async function remoteRun(context: ScContext, request: FastifyRequest): Promise<Record<string, unknown>> {
  const staging = await context.folders.stagingFolder();
  try {
    const form = await receiveForm(request, staging, context.maxUploadBytes);
    const params = form.params;
    if (typeof params !== 'object' || params === null || Array.isArray(params) || !('cfg' in params)) throw new ScError(400, 'Manifest not provided.');
    const { cfg, params: credentials } = params as { cfg: unknown; params?: unknown };
    // A re-run manifest makes the client send its old job_hash; a fresh one is made regardless (reference §9 #3).
    const { caller } = await checked(context, 'remote_run', withoutJobHash(credentials));
    requireWrite(caller);
    let facts: Facts;
    try {
      facts = manifestFacts(cfg);
    } catch (error) {
      if (error instanceof ManifestError) throw new ScError(400, `Error: invalid manifest: ${error.message}.`);
      throw error;
    }
    await checkAllowance(context, caller.principal.name, facts);

    const hash = newId();
    const stagedJob = join(staging, hash);
    const jobDir = join(stagedJob, facts.design, facts.jobname);
    if (form.upload) {
      try {
        await extractUpload(form.upload, jobDir, { maxFiles: context.maxUploadFiles, maxBytes: context.maxUnpackedBytes });
      } catch (error) {
        if (error instanceof UploadRefused) throw new ScError(400, `Error: upload refused: ${error.message}.`);
        throw error;
      }
    }
    await writeSetup(context, staging, hash, facts, cfg as Manifest);
    await rename(stagedJob, context.folders.job(hash));
    let job: JobRow;
    try {
      job = await context.engine.submit(scJobSpec(hash, facts, context.node), {
        owner: caller.principal.name,
        origin: ORIGIN,
        metadata: scMetadata(hash, facts),
      });
    } catch (error) {
      await rm(context.folders.job(hash), { recursive: true, force: true });
      if (error instanceof TooManyError) throw new ScError(400, OUT_OF_QUOTA);
      throw error;
    }
    const recorded = Object.fromEntries(facts.recorded);
    await context.folders.writeRecord(hash, { jobId: job.id, owner: job.owner, design: facts.design, jobname: facts.jobname, nodes: facts.nodes, recorded });
    context.onSubmitted?.();
    return { message: `Starting job: ${hash}`, interval: context.checkIntervalSeconds, job_hash: hash };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function withoutJobHash(credentials: unknown): unknown {
  if (typeof credentials !== 'object' || credentials === null || Array.isArray(credentials)) return credentials;
  const { job_hash: _ignored, ...rest } = credentials as Record<string, unknown>;
  return rest;
}

/**
 * The reference's documented refusals (reference §9 #9), from barge's quotas: 403 over the node
 * limit (the server's, or the user's `queuedExecutions`), 400 once the period's compute time or
 * result bandwidth is spent.
 */
async function checkAllowance(context: ScContext, owner: string, facts: Facts): Promise<void> {
  const quotas = await context.engine.quotas.quotasOf(owner);
  // The setup task is an execution too.
  const executions = facts.nodes.length + 1;
  if (facts.nodes.length > context.maxNodes || (quotas.queuedExecutions !== undefined && executions > quotas.queuedExecutions)) {
    throw new ScError(403, 'Too many nodes in flowgraph');
  }
  if (quotas.computeSecondsPerPeriod === undefined && quotas.resultBytesPerPeriod === undefined) return;
  const usage = await context.engine.quotas.usage(owner);
  const spent = (limit: number | undefined, used: number): boolean => limit !== undefined && used >= limit;
  if (spent(quotas.computeSecondsPerPeriod, usage.computeSeconds) || spent(quotas.resultBytesPerPeriod, usage.resultBytes)) {
    throw new ScError(400, OUT_OF_QUOTA);
  }
}

/**
 * The job manifest as sc-server prepares it (reference §4.2 step 3-4) at
 * `<jobdir>/<design>.pkg.json`, and the setup archive holding exactly that file.
 */
async function writeSetup(context: ScContext, staging: string, hash: string, facts: Facts, cfg: Manifest): Promise<void> {
  for (const [keypath, value] of [
    [['option', 'nodashboard'], true],
    [['option', 'remote'], false],
    [['option', 'nodisplay'], true],
    [['option', 'quiet'], true],
    [['option', 'builddir'], context.folders.job(hash)],
    [['record', 'remoteid'], hash],
  ] as Array<[string[], unknown]>) {
    setParamValue(cfg, keypath, value);
  }
  const manifestName = join(hash, facts.design, facts.jobname, `${facts.design}.pkg.json`);
  await mkdir(join(staging, hash, facts.design, facts.jobname), { recursive: true });
  await writeFile(join(staging, manifestName), JSON.stringify(cfg));
  await writeArchive(join(staging, hash, `${hash}_None.tar.gz`), staging, [manifestName]);
}
