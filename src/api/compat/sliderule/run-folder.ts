/**
 * The run folder `run-<user>-<name>-<hash>` (sliderule-runner.md §4.1, §8): `script.lua` and
 * `receipt.json` written at submit, and `result_<i>.json`, element i's first return value, written
 * as each element succeeds. It lives in barge's artifact store as artifacts of the job's `each`
 * execution, under `<run id>/`, so `/v1/jobs/{id}/results.tar.gz` downloads it and `run_url` names
 * it (`file://…` on the folder store).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ArtifactRow, ExecutionRow, JobRow } from '../../../core/model.js';
import { isFinal } from '../../../core/states.js';
import type { Engine } from '../../../engine/engine.js';
import { arrayExecution } from './elements.js';
import { SLIDERULE_ORIGIN } from './ids.js';

/** What submit keeps in the job's metadata under `sliderule`. */
export interface RunInfo {
  runId: string;
  runUrl: string;
  /** How many elements (arguments) the job has. */
  count: number;
  /** The request used `args` (an array job, with a `job_id`) rather than `args_list`. */
  arrayForm: boolean;
}

export function runInfoOf(job: JobRow): RunInfo | null {
  const info = job.metadata.sliderule as unknown as RunInfo | undefined;
  return job.origin === SLIDERULE_ORIGIN && info && typeof info.runId === 'string' ? info : null;
}

/** `run-<user>-<name>-<first 10 hex of sha256(now + name + sha256(script))>`, formed as the runner forms it. */
export function runIdOf(params: { user: string; name: string; script: string; now: Date }): string {
  const scriptHash = sha256(params.script);
  // Python's isoformat() of an aware UTC datetime: microseconds and +00:00.
  const now = params.now.toISOString().replace('Z', '000+00:00');
  const finalHash = sha256(now + params.name + scriptHash).slice(0, 10);
  return `run-${cleanWord(params.user)}-${cleanWord(params.name)}-${finalHash}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The first space-separated word, cut to 16 characters, each non-alphanumeric one made `_`. */
function cleanWord(text: string): string {
  return Array.from(text.split(' ')[0] ?? '')
    .slice(0, 16)
    .map((ch) => (/^[\p{L}\p{N}]$/u.test(ch) ? ch : '_'))
    .join('');
}

/** receipt.json as `json.dumps(…, indent=2)` writes it. */
export function receiptText(params: { name: string; username: string; args: string[]; environment: string }): string {
  const args = Object.fromEntries(params.args.map((arg, i) => [String(i), arg]));
  return pythonIndented({ name: params.name, username: params.username, args, environment: params.environment }, '');
}

function pythonIndented(value: unknown, indent: string): string {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return '{}';
    const inner = `${indent}  `;
    return `{\n${entries.map(([k, v]) => `${inner}${asciiJson(k)}: ${pythonIndented(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return asciiJson(value);
}

function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Writes files of the run folder and records them as artifacts of the job's each execution. */
export async function writeRunFiles(engine: Engine, job: JobRow, runId: string, files: Array<{ name: string; content: string }>, parentId?: string): Promise<void> {
  if (files.length === 0) return;
  const executionId = parentId ?? (await arrayExecution(engine.store, job))?.id;
  if (!executionId) return;
  const rows: ArtifactRow[] = [];
  for (const file of files) {
    const path = `${runId}/${file.name}`;
    const size = await engine.artifacts.put({ jobId: job.id, executionId, path, content: Readable.from([Buffer.from(file.content, 'utf8')]) });
    rows.push({ jobId: job.id, executionId, path, size, createdAt: engine.clock.now().toISOString() });
  }
  await engine.store.artifactInsertMany(rows);
}

/** The run folder's location: `file://…` on the folder store, else a `barge://` name for it. */
export function runUrlOf(engine: Engine, job: JobRow, parentId: string, runId: string): string {
  return engine.artifacts.urlOf?.({ jobId: job.id, executionId: parentId, path: runId }) ?? `barge://jobs/${job.id}/artifacts/${parentId}/${runId}`;
}

/**
 * Writes `result_<i>.json` for elements that succeeded, as they succeed: each success seen on the
 * bus is queued for its job, and one sweep per job at a time writes the queued results in a batch.
 * The job's end sweeps all its succeeded items once more, so a result whose event was missed in
 * this process is written then. Executions finished by another process (a fleet's separate
 * workers) are written when this process sees their job end.
 */
interface RunState {
  job: JobRow;
  runId: string;
  parentId: string;
  written: Set<number>;
}

export class ResultWriter {
  /** Per running job: its run, each execution and the indexes already written (from the artifact rows at first). */
  private readonly runs = new Map<string, RunState>();
  /** Per job: succeeded executions not yet looked at, or 'all' to read every succeeded item. */
  private readonly queued = new Map<string, Set<string> | 'all'>();
  private readonly sweeps = new Map<string, Promise<void>>();
  private readonly stops: Array<() => void> = [];
  /** Jobs known not to be SlideRule's, so other faces' successes cost no read (the newest kept). */
  private readonly otherJobs = new Set<string>();

  /** `batchMs`: how long a sweep waits for more successes of its job before writing. (Default: 200) */
  constructor(
    private readonly engine: Engine,
    private readonly batchMs = 200,
  ) {}

  start(): void {
    const { bus } = this.engine;
    this.stops.push(
      bus.on('execution:state', ({ jobId, executionId, state }) => {
        if (state === 'SUCCEEDED') this.enqueue(jobId, executionId);
      }),
      bus.on('job:state', ({ jobId, state }) => {
        if (isFinal(state)) this.enqueue(jobId, 'all');
      }),
    );
  }

  /** Stops listening and waits for sweeps in progress. */
  async stop(): Promise<void> {
    for (const stop of this.stops.splice(0)) stop();
    await this.idle();
  }

  /** Resolves when every sweep asked for so far is done. */
  async idle(): Promise<void> {
    while (this.sweeps.size > 0) await Promise.all(this.sweeps.values());
  }

  /** Queues a succeeded execution of the job (or all of them) and starts its sweep if none runs. */
  enqueue(jobId: string, executionId: string | 'all'): void {
    if (this.otherJobs.has(jobId)) return;
    const queued = this.queued.get(jobId);
    if (executionId === 'all' || queued === 'all') this.queued.set(jobId, 'all');
    else if (queued) queued.add(executionId);
    else this.queued.set(jobId, new Set([executionId]));
    if (this.sweeps.has(jobId)) return;
    const sweep = (async () => {
      // A short wait gathers the successes of a busy array into one batch of writes.
      await new Promise((resolve) => setTimeout(resolve, this.batchMs));
      for (let work = this.queued.get(jobId); work !== undefined; work = this.queued.get(jobId)) {
        this.queued.delete(jobId);
        try {
          await this.writeMissing(jobId, work);
        } catch {
          // Left for the job's end, which sweeps every succeeded item again.
        }
      }
      this.sweeps.delete(jobId);
    })();
    this.sweeps.set(jobId, sweep);
  }

  private async writeMissing(jobId: string, work: Set<string> | 'all'): Promise<void> {
    // The job, its run and its each execution are read once per job (again on its end: a
    // restart makes a new each execution).
    const run = work === 'all' ? await this.readRun(jobId) : (this.runs.get(jobId) ?? (await this.readRun(jobId)));
    if (!run) return;
    const { job, runId, parentId, written } = run;
    const items = work === 'all' ? await succeededItems(this.engine, parentId) : await this.executions(work);
    const fresh = items.filter((item) => item.parentId === parentId && item.state === 'SUCCEEDED' && item.result !== null && !written.has(item.idx));
    await writeRunFiles(this.engine, job, runId, fresh.map((item) => ({ name: `result_${item.idx}.json`, content: item.result as string })), parentId);
    for (const item of fresh) written.add(item.idx);
    if (work === 'all' && isFinal(job.state)) this.runs.delete(jobId);
  }

  private async readRun(jobId: string): Promise<RunState | null> {
    const { store } = this.engine;
    const job = await store.jobGet(jobId);
    const info = job && runInfoOf(job);
    if (!job || !info) {
      this.otherJobs.add(jobId);
      if (this.otherJobs.size > 10_000) this.otherJobs.delete(this.otherJobs.values().next().value as string);
      return null;
    }
    const parent = await arrayExecution(store, job);
    if (!parent) return null;
    const known = this.runs.get(jobId);
    const written = known?.parentId === parent.id ? known.written : await this.alreadyWritten(jobId, parent.id, info.runId);
    const run = { job, runId: info.runId, parentId: parent.id, written };
    this.runs.set(jobId, run);
    return run;
  }

  private async executions(ids: Set<string>): Promise<ExecutionRow[]> {
    const rows: ExecutionRow[] = [];
    for (const id of ids) {
      const row = await this.engine.store.executionGet(id);
      if (row) rows.push(row);
    }
    return rows;
  }

  private async alreadyWritten(jobId: string, parentId: string, runId: string): Promise<Set<number>> {
    const rows = await this.engine.store.artifactList({ jobId, executionId: parentId });
    const indexes = new Set<number>();
    const prefix = `${runId}/result_`;
    for (const row of rows) {
      if (!row.path.startsWith(prefix) || !row.path.endsWith('.json')) continue;
      const index = Number(row.path.slice(prefix.length, -'.json'.length));
      if (Number.isInteger(index)) indexes.add(index);
    }
    return indexes;
  }
}

async function succeededItems(engine: Engine, parentId: string): Promise<ExecutionRow[]> {
  const items: ExecutionRow[] = [];
  let afterSeq: number | undefined;
  for (;;) {
    const page = await engine.store.executionList({ parentId, states: ['SUCCEEDED'], afterSeq, limit: 1_000 });
    items.push(...page);
    const last = page.at(-1)?.seq;
    if (page.length < 1_000 || last === undefined) return items;
    afterSeq = last;
  }
}
