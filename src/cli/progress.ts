/**
 * Waiting for a job with something to look at: polls `GET /v1/jobs/{id}` about every 500 ms and
 * shows done, failed, running, rate and ETA — a cli-progress bar on a terminal, a plain line every
 * 2 s otherwise (logs of CI runs stay readable).
 *
 * Progress goes to stderr, as cli-progress does by default, so stdout keeps only what scripts read
 * (ids, `--json`, a command's output); the bar is drawn when stderr is a terminal.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import cliProgress from 'cli-progress';
import type { BargeClient } from './client.js';
import { formatDuration, formatElapsed, retriedAttempts } from './format.js';
import { heldReason } from './held.js';
import { Patience } from './patience.js';
import { isFinalState, type Job } from './wire.js';

/** A job's executions, seen as items: what a person counts in a fan-out. */
export interface Tally {
  done: number;
  failed: number;
  cancelled: number;
  running: number;
  /** RUNNABLE: ready, waiting for a worker to take them. */
  waiting: number;
  total: number;
}

/**
 * Counts items from the job's `counts`, which the server keeps about items: each task and array
 * element once, in its latest attempt's state, composites (which only hold items) left out.
 */
export function tallyJob(job: Job): Tally {
  const counts: Record<string, number> = { ...job.counts } as Record<string, number>;
  const count = (...states: string[]): number => states.reduce((sum, state) => sum + (counts[state] ?? 0), 0);
  return {
    done: count('SUCCEEDED', 'SKIPPED'),
    failed: count('FAILED'),
    cancelled: count('CANCELLED'),
    running: count('RUNNING', 'STARTING'),
    waiting: count('RUNNABLE'),
    total: Object.values(counts).reduce((sum, n) => sum + n, 0),
  };
}

function finished(tally: Tally): number {
  return tally.done + tally.failed + tally.cancelled;
}

/** Items finished per second over the last few seconds, so the ETA follows changes of pace. */
export class RateMeter {
  private samples: Array<{ at: number; finished: number }> = [];

  constructor(private readonly windowMs = 10_000) {}

  sample(at: number, finishedItems: number): void {
    this.samples.push({ at, finished: finishedItems });
    // Keep one sample older than the window so the window is always fully spanned.
    while (this.samples.length > 2 && this.samples[1].at <= at - this.windowMs) this.samples.shift();
  }

  /** Items per second, 0 until there are two samples at least half a second apart. */
  rate(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at - first.at < 500) return 0;
    return Math.max(0, (last.finished - first.finished) / ((last.at - first.at) / 1000));
  }

  /** Milliseconds until `remaining` more items finish at the current rate; undefined when unknown. */
  etaMs(remaining: number): number | undefined {
    if (remaining <= 0) return 0;
    const rate = this.rate();
    return rate > 0 ? (remaining / rate) * 1000 : undefined;
  }
}

export function formatRate(rate: number): string {
  return `${rate.toFixed(1)}/s`;
}

export function formatEta(etaMs: number | undefined): string {
  return etaMs === undefined ? 'ETA -' : `ETA ${formatDuration(etaMs)}`;
}

/**
 * `12/100 done, 1 failed, 4 running, 3.2/s, ETA 27s`, and when items wait for a worker, why:
 * `…, 2 running, 6 waiting (workers full: …), …`.
 */
export function progressLine(tally: Tally, rate: number, etaMs: number | undefined, held?: string): string {
  const cancelled = tally.cancelled > 0 ? `, ${tally.cancelled} cancelled` : '';
  return `${tally.done}/${tally.total} done, ${tally.failed} failed${cancelled}, ${tally.running} running${waitingText(tally, held)}, ${formatRate(rate)}, ${formatEta(etaMs)}`;
}

function waitingText(tally: Tally, held: string | undefined): string {
  return held && tally.waiting > 0 ? `, ${tally.waiting} waiting (${held})` : '';
}

interface Reporter {
  update(tally: Tally, rate: number, etaMs: number | undefined, held?: string): void;
  stop(): void;
}

function barReporter(stream: NodeJS.WriteStream): Reporter {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{bar} {value}/{total} done | {failed} failed | {running} running{heldText} | {rateText} | {etaText}',
      hideCursor: true,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(tally, rate, etaMs, held) {
      // cli-progress fills {eta} and {rate}-like tokens itself; ours have their own names.
      const heldText = waitingText(tally, held).replace(/^, /, ' | ');
      const payload = { failed: tally.failed, running: tally.running, heldText, rateText: formatRate(rate), etaText: formatEta(etaMs) };
      if (!started) {
        bar.start(tally.total, tally.done, payload);
        started = true;
        return;
      }
      bar.setTotal(tally.total);
      bar.update(tally.done, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function lineReporter(stream: NodeJS.WritableStream, everyMs: number): Reporter {
  let lastPrintedAt = -Infinity;
  let lastPrinted = '';
  let latest = '';
  return {
    update(tally, rate, etaMs, held) {
      latest = progressLine(tally, rate, etaMs, held);
      const now = Date.now();
      if (now - lastPrintedAt < everyMs) return;
      stream.write(`${latest}\n`);
      lastPrinted = latest;
      lastPrintedAt = now;
    },
    stop() {
      // The counts at the end, unless the last line already said so.
      if (latest && latest !== lastPrinted) stream.write(`${latest}\n`);
    },
  };
}

export interface WatchOptions {
  /** Where progress goes. (Default: process.stderr) */
  stream?: NodeJS.WriteStream;
  /** false: no progress at all (`run` shows the command's output instead). (Default: true) */
  showProgress?: boolean;
  /** (Default: 500 ms) */
  pollMs?: number;
  /** How often a plain line is printed when not on a terminal. (Default: 2000 ms) */
  lineEveryMs?: number;
  /** Stops waiting (Ctrl-C); the job keeps running. */
  signal?: AbortSignal;
  /** Rides out a server restart. (Default: the default patience for this job) */
  patience?: Patience;
}

export type WatchOutcome = { interrupted: false; job: Job; elapsedMs: number } | { interrupted: true };

/** Polls the job until it is final (or the signal fires), reporting progress on the way. */
export async function watchJob(client: BargeClient, jobId: string, options: WatchOptions = {}): Promise<WatchOutcome> {
  const stream = options.stream ?? process.stderr;
  const reporter: Reporter | undefined =
    options.showProgress === false ? undefined : stream.isTTY ? barReporter(stream) : lineReporter(stream, options.lineEveryMs ?? 2_000);
  const meter = new RateMeter();
  const began = Date.now();
  const patience = options.patience ?? new Patience(jobId);
  const held = new HeldExplainer(client, jobId);
  try {
    for (;;) {
      // A server restart is not the job's end: keep asking (patience says when to stop).
      const job = await patience.persist(() => client.getJob(jobId, options.signal), options.signal);
      if (!job) return { interrupted: true };
      const tally = tallyJob(job);
      meter.sample(Date.now(), finished(tally));
      const why = reporter && !isFinalState(job.state) ? await held.reason(tally, options.signal) : undefined;
      reporter?.update(tally, meter.rate(), meter.etaMs(tally.total - finished(tally)), why);
      if (isFinalState(job.state)) return { interrupted: false, job, elapsedMs: Date.now() - began };
      if (!(await pause(options.pollMs ?? 500, options.signal))) return { interrupted: true };
    }
  } finally {
    reporter?.stop();
  }
}

/**
 * Asks why items wait while some do, at most every few seconds (two requests each time), and
 * keeps the last answer in between.
 */
class HeldExplainer {
  private askedAt = -Infinity;
  private last: string | undefined;

  constructor(
    private readonly client: BargeClient,
    private readonly jobId: string,
    private readonly everyMs = 2_000,
  ) {}

  async reason(tally: Tally, signal?: AbortSignal): Promise<string | undefined> {
    if (tally.waiting === 0) return (this.last = undefined);
    if (Date.now() - this.askedAt < this.everyMs) return this.last;
    this.askedAt = Date.now();
    // Only a better progress line depends on it: a failed look-up is no reason to stop waiting.
    this.last = await heldReason(this.client, this.jobId, signal).catch(() => this.last);
    return this.last;
  }
}

/** Sleeps; false when the signal cut it short. */
export async function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/** 0 only for a job that SUCCEEDED. */
export function exitCodeOf(job: Job): number {
  return job.state === 'SUCCEEDED' ? 0 : 1;
}

/** `job 3f… "name" SUCCEEDED in 4.2s: 20/20 done, 0 failed`, and its error on the next line. */
export function describeEnd(job: Job, elapsedMs: number): string {
  const tally = tallyJob(job);
  const took = job.startedAt && (job.completedAt ?? job.failedAt) ? Date.parse(job.completedAt ?? job.failedAt ?? '') - Date.parse(job.startedAt) : elapsedMs;
  const cancelled = tally.cancelled > 0 ? `, ${tally.cancelled} cancelled` : '';
  const retried = retriedAttempts(job);
  const lines = [`job ${job.id} "${job.name}" ${job.state} in ${formatElapsed(took)}: ${tally.done}/${tally.total} done, ${tally.failed} failed${cancelled}${retried ? `; ${retried}` : ''}`];
  if (job.error) lines.push(`error: ${job.error}`);
  return lines.join('\n');
}

/** What to tell someone who stopped waiting. */
export function followAgainHint(jobId: string): string {
  return `stopped waiting; job ${jobId} keeps running. Wait again with \`barge wait ${jobId}\`, follow its logs with \`barge logs ${jobId} -f\`, or stop it with \`barge cancel ${jobId}\`.`;
}

/**
 * Runs `work` with an AbortSignal that Ctrl-C fires: the first Ctrl-C stops waiting, not the
 * job. While this runs, SIGINT does not kill the process.
 */
export async function untilInterrupted<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.on('SIGINT', onSigint);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
