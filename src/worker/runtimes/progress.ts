/**
 * Progress reported through a file (`$BARGE_PROGRESS` / `$TORK_PROGRESS`): a script writes a number
 * 0..100 there and the runtime polls it, reporting each new value once. Shared by the runtimes
 * that run scripts (shell, container).
 */
import { readRegularFile } from './workspace.js';

export interface ProgressPoller {
  /** Stops polling after one last read, so a value written just before exit is not lost. */
  stop(): Promise<void>;
}

/** Polls `relativePath` under the work folder `root`. */
export function pollProgress(
  root: string,
  relativePath: string,
  onProgress: ((progress: number) => void) | undefined,
  everyMs: number,
): ProgressPoller {
  if (!onProgress) return { stop: async () => undefined };
  let last: number | null = null;
  let reading: Promise<void> | null = null;
  const check = async (): Promise<void> => {
    const text = await readRegularFile(root, relativePath, 1024).catch(() => null);
    const value = parseProgress(text);
    if (value !== null && value !== last) {
      last = value;
      onProgress(value);
    }
  };
  const tick = (): void => {
    reading ??= check().finally(() => (reading = null));
  };
  const timer = setInterval(tick, everyMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await reading;
      await check();
    },
  };
}

function parseProgress(text: string | null): number | null {
  if (text === null || text.trim() === '') return null;
  const value = Number(text.trim());
  if (!Number.isFinite(value)) return null;
  return Math.min(100, Math.max(0, value));
}
