/**
 * How the CLI's waiters (`wait`, `map`, `submit --wait`, `run`, `logs -f`) ride out a server that
 * is away for a while (a restart, a deploy): the job keeps going without them, so they say so once,
 * keep asking with backoff, and give up only after a long, configurable time, naming the command
 * that picks the wait up again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, CliError, UnreachableError } from './client.js';
import { formatDuration } from './format.js';

/** How long a waiter keeps retrying an unreachable server by default (`--give-up-after`). */
export const DEFAULT_GIVE_UP_AFTER_MS = 5 * 60_000;
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 5_000;

/** Answers that mean "not now": nothing listening, a proxy without its upstream, a server starting. */
export function isServerAway(error: unknown): boolean {
  if (error instanceof UnreachableError) return true;
  if (error instanceof ApiError) return error.status === 502 || error.status === 503 || error.status === 504;
  // A connection that broke in the middle of a body (a stream cut by the restart).
  return error instanceof TypeError || (error instanceof Error && /terminated|socket|ECONNRESET/i.test(error.message));
}

/** One per command: shared by every request it makes, so an outage is announced once. */
export class Patience {
  private awaySince: number | undefined;
  private retryMs = FIRST_RETRY_MS;

  constructor(
    private readonly jobId: string,
    private readonly giveUpAfterMs: number = DEFAULT_GIVE_UP_AFTER_MS,
    private readonly stream: NodeJS.WritableStream = process.stderr,
  ) {}

  /** The server answered: the next outage starts afresh. */
  reached(): void {
    if (this.awaySince !== undefined) this.stream.write('barge: server reachable again\n');
    this.awaySince = undefined;
    this.retryMs = FIRST_RETRY_MS;
  }

  /**
   * After a failed request: rethrows what is not an outage, throws once the outage has lasted
   * past the limit, else waits (backing off) and answers true to retry, false when interrupted.
   */
  async retryAfter(error: unknown, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return false;
    if (!isServerAway(error)) throw error;
    const now = Date.now();
    if (this.awaySince === undefined) {
      this.awaySince = now;
      this.stream.write(`barge: server unreachable, job continues; retrying (for up to ${formatDuration(this.giveUpAfterMs)})\n`);
    }
    if (now - this.awaySince >= this.giveUpAfterMs) {
      throw new CliError(
        `gave up after ${formatDuration(now - this.awaySince)} without an answer from the server (${describe(error)}); ` +
          `job ${this.jobId} continues there — wait for it again with \`barge wait ${this.jobId}\``,
      );
    }
    const delay = this.retryMs;
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
    try {
      await sleep(delay, undefined, { signal });
      return true;
    } catch {
      return false;
    }
  }

  /** Runs `request` until it answers, riding out outages; undefined when interrupted. */
  async persist<T>(request: () => Promise<T>, signal?: AbortSignal): Promise<T | undefined> {
    for (;;) {
      try {
        const answer = await request();
        this.reached();
        return answer;
      } catch (error) {
        if (!(await this.retryAfter(error, signal))) return undefined;
      }
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
