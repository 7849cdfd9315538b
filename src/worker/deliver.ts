/**
 * Reports a worker must not lose (an execution's end, its log batches, its artifact rows): while
 * the server or database is unavailable they are kept and sent again with backoff, until they are
 * accepted, or `giveUp` aborts (the lease is lost, or the worker stops for good). Each report is
 * idempotent on the server (a retried finish, log batch or artifact row changes nothing twice),
 * so sending again after a lost answer is safe. An error that says "never" (a refusal, a bug) is
 * tried a few times only.
 */
import { isUnavailable } from '../core/errors.js';

export interface DeliverOptions {
  /** Stop retrying (the last error is thrown). */
  giveUp?: AbortSignal;
  /** First wait, doubling up to `maxDelayMs`. (Default: 250 ms, up to 5 s) */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** Attempts for an error that is not "unavailable". (Default: 3) */
  otherErrorTries?: number;
}

export async function deliver<T>(send: () => Promise<T>, options: DeliverOptions = {}): Promise<T> {
  const maxDelayMs = options.maxDelayMs ?? 5_000;
  let delayMs = options.firstDelayMs ?? 250;
  let otherErrors = 0;
  for (;;) {
    try {
      return await send();
    } catch (error) {
      if (!isUnavailable(error)) otherErrors += 1;
      if (options.giveUp?.aborted || otherErrors >= (options.otherErrorTries ?? 3)) throw error;
      await pause(delayMs, options.giveUp);
      delayMs = Math.min(delayMs * 2, maxDelayMs);
    }
  }
}

/** Waits `ms`, or less when `signal` aborts meanwhile (then the next attempt is the last). */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
