/**
 * What each client command does, given a connected client and its parsed options. Each returns
 * the process exit status. Output follows one rule: stdout carries what scripts read (ids, tables,
 * `--json`, logs, a command's output), stderr carries what people read (progress, hints, the final
 * state of a job waited for), so `barge submit job.yaml | xargs barge logs` works.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import { type BargeClient, ApiError, CliError } from './client.js';
import {
  eventsTable,
  executionDetails,
  executionsTable,
  jobDetails,
  jobsTable,
  nodesTable,
  queuesTable,
} from './format.js';
import { followExecutionLog, followJobLogs, jsonSink, printExecutionLog, printJobLogs, textSink } from './logs.js';
import { DEFAULT_GIVE_UP_AFTER_MS, Patience } from './patience.js';
import { describeEnd, exitCodeOf, followAgainHint, untilInterrupted, watchJob } from './progress.js';
import { argLines, mapSpec, mergeInputs, parseInputs, readJobFile, readStdin, readText, runSpec, type Limits } from './specs.js';
import type { Execution, Job, JobEvent, Page } from './wire.js';

/** Exit status for "stopped by Ctrl-C", as shells report it. */
const INTERRUPTED = 130;

const out = (text: string): void => void process.stdout.write(`${text}\n`);
const say = (text: string): void => void process.stderr.write(`${text}\n`);
const printJson = (value: unknown): void => out(JSON.stringify(value, null, 2));

export interface JsonOption {
  json?: boolean;
}

/** `--give-up-after`: how long waiting rides out an unreachable server, in ms. */
export interface PatienceOption {
  giveUpAfter?: number;
}

const patienceFor = (jobId: string, options: PatienceOption): Patience => new Patience(jobId, options.giveUpAfter ?? DEFAULT_GIVE_UP_AFTER_MS);

// ---- submitting ------------------------------------------------------------------------------

export interface SubmitOptions extends JsonOption, PatienceOption {
  input: string[];
  wait?: boolean;
}

export async function submit(client: BargeClient, path: string, options: SubmitOptions): Promise<number> {
  const file = await readJobFile(path);
  const body = mergeInputs(file, parseInputs(options.input));
  const job = await client.submitJob(body, file.format === 'json' ? 'application/json' : 'application/yaml');
  return afterSubmit(client, job, { ...options, what: `"${job.name}"` });
}

export interface RunOptions extends Limits, PatienceOption {
  name?: string;
  detach?: boolean;
}

/** `barge run -- CMD ARGS…`: the command's output streams back; its success is the exit status. */
export async function runCommand(client: BargeClient, argv: string[], options: RunOptions): Promise<number> {
  const job = await client.submitJob(JSON.stringify(runSpec(argv, options)), 'application/json');
  if (options.detach) {
    out(job.id);
    return 0;
  }
  if (process.stderr.isTTY) say(`barge: job ${job.id}`);
  const followed = await untilInterrupted((signal) => followJobLogs(client, job.id, textSink(), { signal, labels: false, patience: patienceFor(job.id, options) }),
  );
  if (!followed.job) {
    say(followAgainHint(job.id));
    return INTERRUPTED;
  }
  if (followed.job.state === 'SUCCEEDED') return 0;
  say(`barge: job ${job.id} ${followed.job.state}${followed.job.error ? `: ${followed.job.error}` : ''}`);
  return commandExitCode(followed.ended);
}

/** The command's own exit code when it failed with one, so `barge run -- false` exits like `false`. */
function commandExitCode(ended: Execution[]): number {
  const last = ended.at(-1);
  const code = last?.exitCode;
  return last?.state === 'FAILED' && typeof code === 'number' && code > 0 && code < 256 ? code : 1;
}

export interface MapOptions extends Limits, JsonOption, PatienceOption {
  argsFile: string;
  concurrency?: number;
  detach?: boolean;
  name?: string;
  lua?: boolean;
}

export async function map(client: BargeClient, scriptPath: string, options: MapOptions): Promise<number> {
  const script = await readText(scriptPath);
  const lines = argLines(options.argsFile === '-' ? await readStdin() : await readText(options.argsFile));
  if (lines.length === 0) throw new CliError(`${options.argsFile} has no non-empty lines to map over`);
  const spec = mapSpec(scriptPath, script, lines, options);
  const job = await client.submitJob(JSON.stringify(spec), 'application/json');
  const concurrency = options.concurrency ? `, ${options.concurrency} at a time` : '';
  return afterSubmit(client, job, { ...options, wait: !options.detach, what: `${lines.length} items${concurrency}` });
}

/** Prints the submitted job, or waits for it when asked. */
async function afterSubmit(
  client: BargeClient,
  job: Job,
  options: JsonOption & PatienceOption & { wait?: boolean; what: string },
): Promise<number> {
  if (!options.wait) {
    if (options.json) printJson(job);
    else out(job.id);
    say(`submitted job ${job.id}: ${options.what}; wait for it with \`barge wait ${job.id}\``);
    return 0;
  }
  if (!options.json) out(job.id);
  say(`submitted job ${job.id}: ${options.what}`);
  return waitFor(client, job.id, options);
}

// ---- waiting ---------------------------------------------------------------------------------

export async function waitFor(client: BargeClient, jobId: string, options: JsonOption & PatienceOption = {}): Promise<number> {
  const outcome = await untilInterrupted((signal) => watchJob(client, jobId, { signal, patience: patienceFor(jobId, options) }));
  if (outcome.interrupted) {
    say(followAgainHint(jobId));
    return INTERRUPTED;
  }
  say(describeEnd(outcome.job, outcome.elapsedMs));
  if (options.json) printJson(outcome.job);
  return exitCodeOf(outcome.job);
}

// ---- reading ---------------------------------------------------------------------------------

export interface JobsOptions extends JsonOption {
  state?: string;
  tag?: string;
  owner?: string;
  query?: string;
  limit: number;
}

export async function jobs(client: BargeClient, options: JobsOptions): Promise<number> {
  const page = await listJobs(client, options);
  if (options.json) printJson(page);
  else if (page.items.length === 0) say('no jobs');
  else out(jobsTable(page.items, Date.now()));
  return 0;
}

/** Up to `limit` jobs, newest first, across as many pages as that takes. */
async function listJobs(client: BargeClient, options: JobsOptions): Promise<Page<Job>> {
  const items: Job[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listJobs({
      state: options.state?.toUpperCase(),
      tag: options.tag,
      owner: options.owner,
      q: options.query,
      limit: Math.min(1000, options.limit - items.length),
      cursor,
    });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && items.length < options.limit);
  return { items, nextCursor: cursor ?? null };
}

/** `barge get`: a job, or an execution when no job has that id. */
/** How many executions `barge get` lists under a job (`barge executions` lists them all). */
const GET_EXECUTIONS = 20;

export async function get(client: BargeClient, id: string, options: JsonOption): Promise<number> {
  const found = await jobOrExecution(client, id);
  if (options.json) printJson(found.value);
  else if (found.kind === 'execution') out(executionDetails(found.value, Date.now()));
  else {
    const job = found.value;
    const page = await client.jobExecutions(job.id, { limit: GET_EXECUTIONS });
    const lines = [jobDetails(job, Date.now())];
    if (page.items.length > 0) lines.push('', executionsTable(page.items, Date.now()));
    if (page.nextCursor) lines.push(`… more: barge executions ${job.id.slice(0, 12)}`);
    out(lines.join('\n'));
  }
  return 0;
}

export interface ExecutionsOptions extends JsonOption {
  state?: string;
  limit: number;
}

/** `barge executions JOB`: the job's executions, oldest first, up to --limit. */
export async function executions(client: BargeClient, jobId: string, options: ExecutionsOptions): Promise<number> {
  const items: Execution[] = [];
  let cursor: string | undefined;
  do {
    const limit = Math.min(1000, options.limit - items.length);
    const page = await client.jobExecutions(jobId, { state: options.state?.toUpperCase(), limit, cursor });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && items.length < options.limit);
  if (options.json) printJson({ items, nextCursor: cursor ?? null });
  else if (items.length === 0) say('no executions');
  else {
    out(executionsTable(items, Date.now()));
    if (cursor) say(`(first ${items.length}; raise --limit for more)`);
  }
  return 0;
}

export interface LogsOptions extends JsonOption, PatienceOption {
  follow?: boolean;
}

export async function logs(client: BargeClient, id: string, options: LogsOptions): Promise<number> {
  const found = await jobOrExecution(client, id);
  const sink = options.json ? jsonSink() : textSink();
  if (!options.follow) {
    if (found.kind === 'job') await printJobLogs(client, found.value.id, sink);
    else await printExecutionLog(client, found.value, sink);
    return 0;
  }
  const jobId = found.kind === 'job' ? found.value.id : found.value.jobId;
  const patience = patienceFor(jobId, options);
  const completed = await untilInterrupted(async (signal) => {
    if (found.kind === 'job') return (await followJobLogs(client, found.value.id, sink, { signal, patience })).job !== undefined;
    return (await followExecutionLog(client, found.value, sink, { signal, patience })) !== undefined;
  });
  return completed ? 0 : INTERRUPTED;
}

export async function events(client: BargeClient, jobId: string, options: JsonOption): Promise<number> {
  const all: JobEvent[] = [];
  const limit = 1000;
  for (;;) {
    const page = await client.jobEvents(jobId, { after: all.at(-1)?.id, limit });
    all.push(...page.items);
    if (page.items.length < limit) break;
  }
  if (options.json) printJson({ items: all });
  else if (all.length === 0) say('no events');
  else out(eventsTable(all));
  return 0;
}

export async function nodes(client: BargeClient, options: JsonOption): Promise<number> {
  const list = await client.nodes();
  if (options.json) printJson(list);
  else {
    if (list.items.length === 0) say('no nodes');
    else out(nodesTable(list.items, Date.now()));
    // Servers older than this CLI send no reasons.
    for (const { reason, count } of list.waiting ?? []) out(`waiting: ${count} ${count === 1 ? 'execution' : 'executions'}: ${reason}`);
  }
  return 0;
}

export async function queues(client: BargeClient, options: JsonOption): Promise<number> {
  const list = await client.queues();
  if (options.json) printJson(list);
  else if (list.items.length === 0) say('no queues');
  else out(queuesTable(list.items));
  return 0;
}

// ---- changing --------------------------------------------------------------------------------

/** Cancels a job, or one execution when no job has that id. */
export async function cancel(client: BargeClient, id: string, options: JsonOption): Promise<number> {
  const found = await jobOrExecution(client, id);
  const fullId = found.value.id;
  const after = found.kind === 'job' ? await client.cancelJob(fullId) : await client.cancelExecution(fullId);
  if (options.json) printJson(after);
  else out(`cancelled ${found.kind} ${fullId} (now ${after.state})`);
  return 0;
}

export async function restart(client: BargeClient, id: string, options: JsonOption & PatienceOption & { wait?: boolean }): Promise<number> {
  const job = await client.restartJob(id);
  if (options.wait) {
    say(`restarted job ${id}`);
    return waitFor(client, id, options);
  }
  if (options.json) printJson(job);
  else out(`restarted job ${id} (now ${job.state})`);
  return 0;
}

export async function remove(client: BargeClient, id: string): Promise<number> {
  await client.deleteJob(id);
  out(`deleted job ${id}`);
  return 0;
}

/**
 * Streams the results tar.gz to a file (or stdout for `-`). It is written beside the target and
 * renamed at the end, so an interrupted download never looks like a complete archive.
 */
export async function results(client: BargeClient, id: string, output: string): Promise<number> {
  const body = await client.downloadResults(id);
  if (output === '-') {
    for await (const chunk of body) if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
    return 0;
  }
  const partial = `${output}.partial`;
  try {
    await pipeline(body, createWriteStream(partial));
    await rename(partial, output);
  } catch (error) {
    await rm(partial, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('E')) throw new CliError(`cannot write ${output}: ${(error as Error).message}`);
    throw error;
  }
  say(`saved the results of job ${id} to ${output} (${(await stat(output)).size} bytes)`);
  return 0;
}

// ---- ids -------------------------------------------------------------------------------------

type Found = { kind: 'job'; value: Job } | { kind: 'execution'; value: Execution };

/** Jobs and executions share one id space (32 hex): try the job first, then the execution. */
async function jobOrExecution(client: BargeClient, id: string): Promise<Found> {
  try {
    return { kind: 'job', value: await client.getJob(id) };
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  try {
    return { kind: 'execution', value: await client.getExecution(id) };
  } catch (error) {
    if (isNotFound(error)) throw new CliError(`no job or execution has the id ${id}`);
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404;
}
