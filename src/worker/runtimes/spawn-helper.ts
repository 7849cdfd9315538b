/**
 * The worker's side of the spawn helper (see spawn-helper-source.ts): one helper process per
 * worker process, started on the first spawn and again after it died. Each spawn answers a
 * ChildProcess look-alike (pid, stdout, stderr, `spawn`/`error`/`exit` events) that
 * runProcessGroup treats exactly as a child of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { FRAME, FRAME_HEADER, SPAWN_HELPER_SOURCE, type SpawnFrame } from './spawn-helper-source.js';
import { signalGroup, type SpawnedProcess, type SpawnRequest } from './process-group.js';

/** A process the helper started (or is starting) for us. */
class HelpedProcess extends EventEmitter implements SpawnedProcess {
  pid: number | undefined;
  readonly stdout = new Readable({ read: () => undefined });
  readonly stderr = new Readable({ read: () => undefined });
  exited = false;
  private readonly endedStreams = new Set<Readable>();

  /** Exited, and both outputs ended: nothing more will come for it. */
  get done(): boolean {
    return this.exited && this.endedStreams.size === 2;
  }

  endStream(stream: Readable): void {
    if (this.endedStreams.has(stream)) return;
    this.endedStreams.add(stream);
    stream.push(null);
  }

  started(pid: number): void {
    this.pid = pid;
    this.emit('spawn');
  }

  failed(error: Error): void {
    this.exited = true;
    this.endStream(this.stdout);
    this.endStream(this.stderr);
    this.emit('error', error);
  }

  ended(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    this.emit('exit', code, signal);
  }
}

class SpawnHelper {
  private readonly helper: ChildProcess;
  private readonly processes = new Map<number, HelpedProcess>();
  private nextId = 1;
  private pending: Buffer = Buffer.alloc(0);
  private dead = false;

  constructor(private readonly onDeath: () => void) {
    // No environment of ours (NODE_OPTIONS with a loader, secrets): each spawn brings its own.
    this.helper = spawn(process.execPath, ['--max-old-space-size=64', '-e', SPAWN_HELPER_SOURCE], {
      env: {},
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.helper.stdout?.on('data', (chunk: Buffer) => this.read(chunk));
    this.helper.stdin?.on('error', () => undefined); // its death is handled on 'exit'
    this.helper.once('exit', () => this.died());
    this.helper.once('error', () => this.died());
    this.idle();
  }

  spawn(command: string, args: string[], request: SpawnRequest): HelpedProcess {
    const process = new HelpedProcess();
    if (this.dead) {
      queueMicrotask(() => process.failed(new Error('the spawn helper is gone')));
      return process;
    }
    const id = this.nextId;
    this.nextId = (this.nextId % 0xffff_ffff) + 1;
    this.processes.set(id, process);
    this.busy();
    const frame: SpawnFrame = { command, args, cwd: request.cwd, env: request.env, cgroups: request.cgroups ?? [] };
    this.write(FRAME.SPAWN, id, Buffer.from(JSON.stringify(frame)));
    return process;
  }

  private write(type: number, id: number, body: Buffer): void {
    const head = Buffer.allocUnsafe(FRAME_HEADER);
    head.writeUInt32LE(FRAME_HEADER - 4 + body.length, 0);
    head.writeUInt8(type, 4);
    head.writeUInt32LE(id, 5);
    this.helper.stdin?.write(Buffer.concat([head, body]));
  }

  private read(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= FRAME_HEADER) {
      const length = this.pending.readUInt32LE(0);
      if (this.pending.length < 4 + length) break;
      const type = this.pending.readUInt8(4);
      const id = this.pending.readUInt32LE(5);
      const payload = this.pending.subarray(FRAME_HEADER, 4 + length);
      this.pending = this.pending.subarray(4 + length);
      this.deliver(type, id, payload);
    }
  }

  private deliver(type: number, id: number, payload: Buffer): void {
    const process = this.processes.get(id);
    if (!process) return;
    switch (type) {
      case FRAME.STARTED:
        process.started((JSON.parse(payload.toString('utf8')) as { pid: number }).pid);
        break;
      case FRAME.FAILED: {
        const { message, code } = JSON.parse(payload.toString('utf8')) as { message: string; code?: string };
        process.failed(Object.assign(new Error(message), { code }));
        break;
      }
      case FRAME.STDOUT:
        // The frame's bytes belong to a buffer the next frames share: the reader gets its own copy.
        process.stdout.push(Buffer.from(payload));
        break;
      case FRAME.STDERR:
        process.stderr.push(Buffer.from(payload));
        break;
      case FRAME.STDOUT_END:
        process.endStream(process.stdout);
        break;
      case FRAME.STDERR_END:
        process.endStream(process.stderr);
        break;
      case FRAME.EXIT: {
        const { code, signal } = JSON.parse(payload.toString('utf8')) as { code: number | null; signal: NodeJS.Signals | null };
        process.ended(code, signal);
        break;
      }
    }
    if (process.done) this.forget(id);
  }

  private forget(id: number): void {
    this.processes.delete(id);
    if (this.processes.size === 0) this.idle();
  }

  /** While nothing runs, the helper does not keep the worker's process alive. */
  private idle(): void {
    this.helper.unref();
    (this.helper.stdout as { unref?: () => void } | null)?.unref?.();
    (this.helper.stdin as { unref?: () => void } | null)?.unref?.();
  }

  private busy(): void {
    this.helper.ref();
    (this.helper.stdout as { ref?: () => void } | null)?.ref?.();
    (this.helper.stdin as { ref?: () => void } | null)?.ref?.();
  }

  /** Whatever the helper was running is lost to us: kill it, and report each as killed. */
  private died(): void {
    if (this.dead) return;
    this.dead = true;
    this.onDeath();
    for (const [id, process] of this.processes) {
      this.processes.delete(id);
      if (process.pid === undefined) {
        process.failed(new Error('the spawn helper exited before starting the process'));
        continue;
      }
      signalGroup(process.pid, 'SIGKILL');
      process.endStream(process.stdout);
      process.endStream(process.stderr);
      if (!process.exited) process.ended(null, 'SIGKILL');
    }
  }

  stop(): void {
    this.helper.stdin?.end();
  }

  get pid(): number | undefined {
    return this.helper.pid;
  }
}

let shared: SpawnHelper | undefined;

/** Starts a process through this process's spawn helper, with `request.cgroups` joined before its first instruction. */
export function spawnThroughHelper(command: string, args: string[], request: SpawnRequest): SpawnedProcess {
  shared ??= new SpawnHelper(() => {
    shared = undefined;
  });
  return shared.spawn(command, args, request);
}

/** Stops the helper once its processes are done (it exits when its input closes); for tests and shutdown. */
export function stopSpawnHelper(): void {
  shared?.stop();
  shared = undefined;
}

/** @internal For tests: the helper's pid, if one runs. */
export function _spawnHelperPid(): number | undefined {
  return shared?.pid;
}
