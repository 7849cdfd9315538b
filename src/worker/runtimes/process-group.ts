/**
 * Runs one command as the leader of its own process group and stops the whole group: on a deadline
 * or an abort (SIGTERM, then SIGKILL after a grace period), and always once the leader has exited,
 * so a `sleep 100 &` left behind by a script does not outlive its execution.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SpawnRequest {
  cwd: string;
  env: Record<string, string>;
  /** Always true: the child becomes a session and process group leader (setsid). */
  detached: true;
  stdio: ['ignore', 'pipe', 'pipe'];
  /** cgroup folders the child starts in; only for a spawner that `joinsCgroups`. */
  cgroups?: string[];
}

/**
 * What runProcessGroup needs of a started process: a ChildProcess has it all. `spawn` is emitted
 * once the process runs (pid set), `error` if it could not start.
 */
export interface SpawnedProcess {
  readonly pid?: number | undefined;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  once(event: 'spawn', listener: () => void): this;
  once(event: 'error', listener: (error: Error) => void): this;
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
}

/**
 * Starts a process: the spawn helper (spawn-helper.ts), or `child_process.spawn` in tests. Not
 * `child_process.spawn` in the worker: it forks the whole server and blocks its loop until exec.
 */
export type SpawnProcess = (command: string, args: string[], request: SpawnRequest) => SpawnedProcess;

export interface ProcessSpawner {
  spawn: SpawnProcess;
  /** Starts children inside `request.cgroups` itself, so no shell wrapper has to move them there. */
  joinsCgroups: boolean;
}

export interface GroupRun {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  spawnProcess: SpawnProcess;
  /** cgroup folders to start in (see SpawnRequest). */
  cgroups?: string[];
  onStdout: (chunk: Buffer) => void;
  onStderr: (chunk: Buffer) => void;
  /** Epoch milliseconds after which the group is stopped as timed out. */
  deadline?: number;
  signal: AbortSignal;
  /** SIGTERM to SIGKILL on a deadline. */
  killGraceMs: number;
  /** SIGTERM to SIGKILL on an abort. */
  cancelGraceMs: number;
  /**
   * Keep SIGTERM away from bwrap's own processes. Set when the leader is bwrap: it dies on SIGTERM
   * and takes the sandbox down at once (--die-with-parent), which would rob the script of its grace.
   */
  spareSandboxFromTerm: boolean;
  /** Also kills what escaped the group (a new session), e.g. everything in the cgroup. */
  killStragglers?: () => Promise<void>;
  /** How long to wait for stdout/stderr to close after the group is dead. (Default: 2000) */
  drainMs?: number;
}

export interface GroupExit {
  exitCode: number | null;
  exitSignal: NodeJS.Signals | null;
  stoppedBy: 'timeout' | 'cancel' | null;
}

export async function runProcessGroup(run: GroupRun): Promise<GroupExit> {
  const child = run.spawnProcess(run.command, run.args, {
    cwd: run.cwd,
    env: run.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(run.cgroups?.length ? { cgroups: run.cgroups } : {}),
  });
  const exited = waitForExit(child);
  const streamsClosed = Promise.all([pipeTo(child.stdout, run.onStdout), pipeTo(child.stderr, run.onStderr)]);
  // Rejects with the spawn error (ENOENT, EACCES, …).
  await Promise.race([new Promise<void>((resolve) => child.once('spawn', resolve)), exited]);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${run.command}`);

  const stopper = new GroupStopper(pid, run);
  try {
    const { code, signal } = await exited;
    return { exitCode: code, exitSignal: signal, stoppedBy: stopper.stoppedBy };
  } finally {
    stopper.dispose();
    signalGroup(pid, 'SIGKILL');
    await run.killStragglers?.();
    await settleWithin(streamsClosed, run.drainMs ?? 2000, () => {
      child.stdout?.destroy();
      child.stderr?.destroy();
    });
  }
}

/** Watches the deadline and the abort signal, and runs the SIGTERM → SIGKILL sequence once. */
class GroupStopper {
  stoppedBy: GroupExit['stoppedBy'] = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly onAbort = (): void => this.stop('cancel', this.run.cancelGraceMs);

  constructor(
    private readonly pid: number,
    private readonly run: GroupRun,
  ) {
    if (run.signal.aborted) this.onAbort();
    else run.signal.addEventListener('abort', this.onAbort, { once: true });
    if (run.deadline !== undefined) {
      const wait = Math.max(0, run.deadline - Date.now());
      this.timers.push(setTimeout(() => this.stop('timeout', run.killGraceMs), wait));
    }
  }

  private stop(why: 'timeout' | 'cancel', graceMs: number): void {
    if (this.stoppedBy) return;
    this.stoppedBy = why;
    void terminateGroup(this.pid, this.run.spareSandboxFromTerm, graceMs);
    this.timers.push(
      setTimeout(() => {
        signalGroup(this.pid, 'SIGKILL');
        void this.run.killStragglers?.();
      }, graceMs),
    );
  }

  dispose(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.run.signal.removeEventListener('abort', this.onAbort);
  }
}

function waitForExit(child: SpawnedProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

function pipeTo(stream: Readable | null, onChunk: (chunk: Buffer) => void): Promise<void> {
  if (!stream) return Promise.resolve();
  return new Promise((resolve) => {
    stream.on('data', onChunk);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
}

async function settleWithin(work: Promise<unknown>, ms: number, onLate: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      onLate();
      resolve();
    }, ms);
  });
  await Promise.race([work, late]);
  clearTimeout(timer);
}

/** kill(-pgid), ignoring a group that is already gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nothing left in the group
  }
}

/**
 * SIGTERM to the group. When the leader is bwrap it is spared, and so are bwrap's helpers in the
 * sandbox; if the sandbox is still starting and the task's own processes do not exist yet, it
 * keeps looking until they do or the grace period is over, so the script still gets its SIGTERM.
 */
async function terminateGroup(pgid: number, spareSandbox: boolean, graceMs: number): Promise<void> {
  if (!spareSandbox) {
    signalGroup(pgid, 'SIGTERM');
    return;
  }
  const until = Date.now() + graceMs;
  do {
    const targets = processGroupMembers(pgid).filter((member) => member.command !== 'bwrap');
    if (targets.length > 0) {
      for (const { pid } of targets) signalProcess(pid, 'SIGTERM');
      return;
    }
    await sleep(25);
  } while (Date.now() < until && groupExists(pgid));
}

function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // exited meanwhile
  }
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Processes whose process group is `pgid`, from /proc (Linux). Synchronous on purpose: these are
 * tiny in-memory reads, and async ones queue behind a task flooding stdout, delaying the SIGTERM.
 */
export function processGroupMembers(pgid: number): Array<{ pid: number; command: string }> {
  const members: Array<{ pid: number; command: string }> = [];
  for (const name of readdirOrEmpty('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readOrEmpty(`/proc/${name}/stat`);
    // "pid (comm) state ppid pgrp …", and comm may itself contain spaces and parentheses.
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    if (Number(fields[2]) === pgid) members.push({ pid: Number(name), command: stat.slice(stat.indexOf('(') + 1, close) });
  }
  return members;
}

function readdirOrEmpty(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // the process exited meanwhile
  }
}
