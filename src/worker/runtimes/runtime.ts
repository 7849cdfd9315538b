/**
 * A runtime runs one execution's resolved task spec and reports how it ended. Small on purpose
 * (after Tork's runtime.Runtime): `run` and `healthCheck`. A runtime refuses, up front and by name,
 * any task feature it cannot honour, by returning a FAILED outcome whose error says which.
 */
import type { LogStream, TaskSpec } from '../../core/model.js';

export interface RunRequest {
  executionId: string;
  jobId: string;
  spec: TaskSpec;
  /** A private, empty work folder for this execution; the runtime may assume it exists. */
  workDir: string;
  /** Milliseconds; absent = no limit. */
  timeoutMs?: number;
  cpus: number;
  memoryMb: number;
  /** Aborted on cancel: the runtime kills everything it started and returns promptly. */
  signal: AbortSignal;
  /** Called for every line of output, in order. */
  onLog: (stream: LogStream, line: string) => void;
  /** Progress 0..100 reported by the script. */
  onProgress?: (progress: number) => void;
}

export interface RunOutcome {
  /** SUCCEEDED, FAILED, or CANCELLED when the signal aborted it. */
  state: 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  exitCode: number | null;
  /** Content of $BARGE_OUTPUT / $TORK_OUTPUT, or the Lua script's first return value (tables as JSON). */
  result: string | null;
  error: string | null;
  /** 'timeout', 'cancelled', 'memory limit', 'unsupported: …' */
  reason: string | null;
}

export interface Runtime {
  readonly name: string;
  run(request: RunRequest): Promise<RunOutcome>;
  /** Resolves when the runtime can run work here; rejects with why not. */
  healthCheck(): Promise<void>;
  /** Facts for the node's info, e.g. `{ isolation: 'bwrap+rlimit' }`. */
  describe(): Record<string, string | number | boolean>;
  /** Stops what the runtime keeps between runs (pooled threads); called once nothing runs. */
  close?(): Promise<void>;
}
