/**
 * SiliconCompiler's remote server API (sc-server at siliconcompiler/siliconcompiler 2498a47;
 * contract in shared/reference/siliconcompiler.md) over barge's engine, so SiliconCompiler's
 * remote client (`Client`, `sc-remote`) uploads a project, watches its flowgraph run node by node,
 * fetches every node's results, cancels and deletes, unchanged. Routes live at the root, as the
 * client drops any path of its server address: `POST /check_server/`, `/remote_run/`,
 * `/check_progress/`, `/cancel_job/`, `/delete_job/`, `/get_results/{hash}.tar.gz`.
 *
 * Every body is read as text and parsed as JSON whatever its Content-Type (the client sends none);
 * `remote_run` is multipart. Errors are `{"message": …}`. Credentials travel in the body and are
 * checked per request (caller.ts). Each SC job is a barge job of origin `siliconcompiler` whose
 * tasks are the flowgraph's nodes (jobs.ts), run by the face's node worker (runner.ts).
 */
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Engine } from '../../../engine/engine.js';
import { ensureGuest } from '../../auth/index.js';
import type { ScAuth } from './caller.js';
import { registerScErrors } from './errors.js';
import { ScFolders } from './folders.js';
import { DEFAULT_NODE_COMMAND, type NodeSettings } from './jobs.js';
import { scRoutes, type ScContext } from './routes.js';

export { ScFolders } from './folders.js';
export { createNodeWorker, nodeWorkerId } from './runner.js';
export { DEFAULT_NODE_COMMAND } from './jobs.js';

/** The schema version and server protocol version sc-server reports at the reference's baseline. */
const SC_SCHEMA_VERSION = '0.57.1';
const SC_SERVER_VERSION = '0.0.1';

export interface ScAppOptions {
  /** The face's work folder (sc-server's `-nfsmount`); shared by every server of a fleet. */
  root: string;
  /** Ignore credentials: every caller is the guest user (loopback addresses only; the CLI checks). (Default: false) */
  open: boolean;
  /** The guest's user name under `open`. (Default: guest) */
  guest?: string;
  /** `progress_interval` in seconds. (Default: 5, sc-server's) */
  checkIntervalSeconds?: number;
  /** Largest upload in bytes, 0 for none; more is a 413. (Default: 1 GiB) */
  maxUploadBytes?: number;
  /** Most entries an upload's archive may hold. (Default: 100,000) */
  maxUploadFiles?: number;
  /** Most bytes an upload may unpack to. (Default: 4 × maxUploadBytes, or 16 GiB without an upload limit) */
  maxUnpackedBytes?: number;
  /** Most runtime nodes in one job; more is 403 `Too many nodes in flowgraph`. (Default: 1,000) */
  maxNodes?: number;
  /** The node command and what each node may use. (Default: SiliconCompiler's run_node, 1 cpu, 2048 MB) */
  node?: Partial<NodeSettings>;
  /** Terms of service shown by the client. (Default: none) */
  terms?: string;
  /** Called after each accepted job, e.g. to start the node worker on first need. (Default: none) */
  onSubmitted?: () => void;
  /** Reported as `versions.sc`. (Default: `barge <version>`: no SiliconCompiler package answers here) */
  scVersion?: string;
}

export interface ScPluginOptions extends Record<string, unknown> {
  engine: Engine;
  version: string;
  /** barge's own `--open`: every caller is the admin. */
  adminOpen: boolean;
  sc: ScAppOptions;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;

export const scPlugin: FastifyPluginAsync<ScPluginOptions> = async (app, options) => {
  const { sc } = options;
  const folders = new ScFolders(sc.root);
  await folders.prepare();
  const auth: ScAuth = options.adminOpen ? 'open' : sc.open ? 'guest' : 'key';
  const guest = sc.guest ?? 'guest';
  if (auth === 'guest') await ensureGuest(options.engine.store, guest);
  const maxUploadBytes = sc.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const context: ScContext = {
    engine: options.engine,
    folders,
    auth,
    guest,
    checkIntervalSeconds: sc.checkIntervalSeconds ?? 5,
    maxUploadBytes,
    maxUploadFiles: sc.maxUploadFiles ?? 100_000,
    maxUnpackedBytes: sc.maxUnpackedBytes ?? (maxUploadBytes > 0 ? 4 * maxUploadBytes : 16 * 1024 ** 3),
    maxNodes: sc.maxNodes ?? 1_000,
    node: { command: DEFAULT_NODE_COMMAND, cpus: 1, memoryMb: 2048, ...sc.node },
    versions: { sc: sc.scVersion ?? `barge ${options.version}`, sc_schema: SC_SCHEMA_VERSION, sc_server: SC_SERVER_VERSION },
    terms: sc.terms,
    onSubmitted: sc.onSubmitted,
  };
  registerScErrors(app);
  await readBodies(app);
  await scRoutes(app, context);
};

/**
 * JSON endpoints get their body as text whatever the Content-Type (or none), so a missing type is
 * not Fastify's 415; multipart goes to @fastify/multipart, for `remote_run` only.
 */
async function readBodies(app: FastifyInstance): Promise<void> {
  app.removeAllContentTypeParsers();
  await app.register(multipart);
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
}
