/**
 * The spawn helper: a small long-lived node process that starts the worker's processes, so the big
 * server process is forked once (for the helper) rather than once per task. `fork()` copies the
 * page tables of the whole process and libuv blocks the event loop until the child has exec'd, so
 * a spawn from a 200 MB server costs several milliseconds of the loop; from the helper, a fraction.
 *
 * Plain CommonJS source text for `node -e`, like lua-worker.ts: it runs unchanged from the
 * TypeScript sources (vitest, tsx) and from dist/, with no loader.
 *
 * Frames, both ways: u32 LE length of what follows, u8 type, u32 LE id, payload.
 * - to the helper: SPAWN {command, args, cwd, env, cgroups} (JSON).
 * - from the helper: STARTED {pid}, FAILED {message, code}, STDOUT/STDERR (raw bytes),
 *   STDOUT_END/STDERR_END, EXIT {code, signal}; per id in that order, output ends possibly after EXIT.
 *
 * Cgroups: to start a child inside cgroups without a `/bin/sh -c 'echo $$ > cgroup.procs; exec'`
 * wrapper per task, the helper moves itself into the execution's cgroups, spawns (the fork happens
 * inside them, before any instruction of the task), and moves itself back to the parent folders,
 * all synchronously, so no other spawn can happen in between. The execution's cgroups are children
 * of the worker's own, which the helper shares (it was forked from the worker).
 *
 * The helper exits when its stdin closes (the worker went away). It never signals its children:
 * the worker kills their process groups itself (they are ordinary processes of the same user).
 */
export const FRAME = {
  SPAWN: 1,
  STARTED: 2,
  FAILED: 3,
  STDOUT: 4,
  STDERR: 5,
  STDOUT_END: 6,
  STDERR_END: 7,
  EXIT: 8,
} as const;

/** Bytes before the payload: length, type, id. */
export const FRAME_HEADER = 9;

export interface SpawnFrame {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** cgroup folders (v1, one per hierarchy) the child starts in. */
  cgroups: string[];
}

export const SPAWN_HELPER_SOURCE = `
'use strict';
const { spawn } = require('child_process');
const { writeFileSync } = require('fs');
const { dirname } = require('path');
const F = ${JSON.stringify(FRAME)};
const out = process.stdout;
const children = new Set();
let waitingForDrain = false;

function send(type, id, payload) {
  const body = payload === undefined ? Buffer.alloc(0) : Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload));
  const head = Buffer.allocUnsafe(9);
  head.writeUInt32LE(5 + body.length, 0);
  head.writeUInt8(type, 4);
  head.writeUInt32LE(id, 5);
  const flowing = out.write(body.length > 0 ? Buffer.concat([head, body]) : head);
  if (!flowing && !waitingForDrain) {
    // The worker reads slower than tasks write: hold every task's output until it catches up.
    waitingForDrain = true;
    for (const child of children) { child.stdout.pause(); child.stderr.pause(); }
    out.once('drain', () => {
      waitingForDrain = false;
      for (const child of children) { child.stdout.resume(); child.stderr.resume(); }
    });
  }
}

function moveSelf(folder) {
  writeFileSync(folder + '/cgroup.procs', String(process.pid));
}

function start(id, request) {
  const entered = [];
  let child;
  try {
    for (const folder of request.cgroups) { moveSelf(folder); entered.push(folder); }
    child = spawn(request.command, request.args, { cwd: request.cwd, env: request.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    send(F.FAILED, id, { message: String(error && error.message || error), code: error && error.code });
    return;
  } finally {
    for (const folder of entered) {
      try { moveSelf(dirname(folder)); } catch (error) { process.stderr.write('barge spawn helper: could not leave ' + folder + ': ' + error + '\\n'); }
    }
  }
  child.once('error', (error) => {
    if (child.pid === undefined) send(F.FAILED, id, { message: error.message, code: error.code });
  });
  if (child.pid === undefined) return;
  children.add(child);
  if (waitingForDrain) { child.stdout.pause(); child.stderr.pause(); }
  send(F.STARTED, id, { pid: child.pid });
  child.stdout.on('data', (chunk) => send(F.STDOUT, id, chunk));
  child.stderr.on('data', (chunk) => send(F.STDERR, id, chunk));
  child.stdout.once('close', () => send(F.STDOUT_END, id));
  child.stderr.once('close', () => send(F.STDERR_END, id));
  child.once('exit', (code, signal) => {
    children.delete(child);
    send(F.EXIT, id, { code, signal });
  });
}

let pending = Buffer.alloc(0);
process.stdin.on('data', (chunk) => {
  pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
  while (pending.length >= 9) {
    const length = pending.readUInt32LE(0);
    if (pending.length < 4 + length) break;
    const type = pending.readUInt8(4);
    const id = pending.readUInt32LE(5);
    const payload = pending.subarray(9, 4 + length);
    pending = pending.subarray(4 + length);
    if (type === F.SPAWN) start(id, JSON.parse(payload.toString('utf8')));
  }
});
process.stdin.once('end', () => process.exit(0));
`;
