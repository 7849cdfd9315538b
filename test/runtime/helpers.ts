/** A fresh work folder and a RunRequest that records what the runtime reports. */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogStream } from '../../src/core/model.js';
import type { TaskSpec } from '../../src/core/spec-types.js';
import type { RunRequest } from '../../src/worker/runtimes/runtime.js';
import { FolderArtifactStore } from '../../src/artifacts/artifacts.js';
import { collectOutputs, DEFAULT_OUTPUT_LIMITS, type OutputLimits } from '../../src/worker/outputs.js';

export interface Bundle {
  request: RunRequest;
  logs: Array<{ stream: LogStream; line: string }>;
  progress: number[];
  abort: AbortController;
  workDir: string;
  lines(stream: LogStream): string[];
  /** Resolves once a line equal to `line` was logged. */
  waitForLine(line: string, timeoutMs?: number): Promise<void>;
}

const folders: string[] = [];

export async function setup(spec: Partial<TaskSpec>, extra: Partial<RunRequest> = {}): Promise<Bundle> {
  const workDir = await mkdtemp(join(tmpdir(), 'barge-runtime-test-'));
  folders.push(workDir);
  const logs: Bundle['logs'] = [];
  const progress: number[] = [];
  const abort = new AbortController();
  const request: RunRequest = {
    executionId: 'exec-1',
    jobId: 'job-1',
    spec: { name: 'task', ...spec },
    workDir,
    cpus: 1,
    memoryMb: 256,
    signal: abort.signal,
    onLog: (stream, line) => logs.push({ stream, line }),
    onProgress: (value) => progress.push(value),
    ...extra,
  };
  const lines = (stream: LogStream): string[] => logs.filter((l) => l.stream === stream).map((l) => l.line);
  const waitForLine = async (line: string, timeoutMs = 10_000): Promise<void> => {
    const until = Date.now() + timeoutMs;
    while (!logs.some((l) => l.line === line)) {
      if (Date.now() > until) throw new Error(`no log line "${line}" within ${timeoutMs} ms`);
      await sleep(20);
    }
  };
  return { request, logs, progress, abort, workDir, lines, waitForLine };
}

export interface Collected {
  /** Stored artifact paths, sorted. */
  paths: string[];
  skipped: string[];
  /** Stored content by path. */
  files: Record<string, string>;
}

/** Collects `workDir`'s outputs the way the worker does, into a fresh artifact folder. */
export async function collect(workDir: string, limits: OutputLimits = DEFAULT_OUTPUT_LIMITS): Promise<Collected> {
  const root = await mkdtemp(join(tmpdir(), 'barge-artifacts-test-'));
  folders.push(root);
  const store = new FolderArtifactStore(root);
  const { artifacts, skipped } = await collectOutputs({ workDir, jobId: 'job-1', executionId: 'exec-1', store, limits });
  const files: Record<string, string> = {};
  for (const artifact of artifacts) files[artifact.path] = await readFile(join(root, 'job-1', 'exec-1', artifact.path), 'utf8');
  return { paths: artifacts.map((artifact) => artifact.path).sort(), skipped: skipped.sort(), files };
}

export async function removeFolders(): Promise<void> {
  await Promise.all(folders.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** process.kill(pid, 0), but a zombie (killed, not yet reaped by its new parent) counts as dead. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export async function readPid(path: string, timeoutMs = 5000): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (/^\d+\s*$/.test(text)) return Number(text);
    if (Date.now() > until) throw new Error(`no pid in ${path}`);
    await sleep(20);
  }
}
