/**
 * A long-lived worker thread that runs Lua scripts one at a time, as source text for
 * `new Worker(code, { eval: true })`. It loads wasmoon once and runs every task it is sent in a fresh
 * `LuaEngine` (a new Lua state, nothing kept from the previous script), prepared while it was idle.
 * Plain CommonJS on purpose: it runs unchanged whether barge runs from its TypeScript sources
 * (vitest, tsx) or from dist/, and it loads wasmoon from an absolute path the main thread resolved,
 * so it does not depend on the process's current folder.
 *
 * Messages from the main thread: `{ type: 'run', task }`, sent only once the previous task is done.
 * Messages to the main thread: `{ type: 'log', stream, line }` for each line of output, in order,
 * then one `{ type: 'done', ok, result?, message?, trace? }` per task.
 */
import type { LogStream } from '../../core/model.js';

export interface LuaThreadData {
  wasmoonPath: string;
  driver: string;
}

export interface LuaTask {
  script: string;
  scriptName: string;
  args: string[];
  env: Record<string, string>;
  workDir: string;
  cwd: string;
  memoryBytes: number;
  maxLineLength: number;
}

export type LuaThreadRequest = { type: 'run'; task: LuaTask };

export type LuaWorkerMessage =
  | { type: 'log'; stream: LogStream; line: string }
  | { type: 'done'; ok: boolean; result?: string; message?: string; trace?: string };

export const LUA_WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { pathToFileURL } = require('node:url');
const fs = require('node:fs');
const path = require('node:path');

// The task being run; everything below reads it, and a new task replaces all of it.
let data;
let realWorkDir;
let pending;
let lastError;

function send(message) {
  parentPort.postMessage(message);
}

function write(stream, text) {
  const name = stream === 'stderr' ? 'stderr' : 'stdout';
  const lines = (pending[name] + String(text)).split('\n');
  let rest = lines.pop();
  for (const line of lines) emit(name, line);
  while (rest.length > data.maxLineLength) {
    send({ type: 'log', stream: name, line: rest.slice(0, data.maxLineLength) });
    rest = rest.slice(data.maxLineLength);
  }
  pending[name] = rest;
}

function emit(stream, line) {
  for (let start = 0; start < line.length || start === 0; start += data.maxLineLength) {
    send({ type: 'log', stream, line: line.slice(start, start + data.maxLineLength) });
  }
}

function flush() {
  for (const name of ['stdout', 'stderr']) {
    if (pending[name] !== '') emit(name, pending[name]);
    pending[name] = '';
  }
}

function isInside(base, full) {
  const rel = path.relative(base, full);
  return rel === '' || (!rel.startsWith('..' + path.sep) && rel !== '..' && !path.isAbsolute(rel));
}

/** The absolute path for a name the script gave, or throws when it would leave the work folder. */
function resolveInside(name) {
  if (typeof name !== 'string' || name === '' || name.includes('\0')) throw new Error('invalid file name');
  const full = path.resolve(data.cwd, name);
  if (!isInside(data.workDir, full)) throw new Error('outside the work folder');
  let existing = full;
  while (!fs.existsSync(existing)) existing = path.dirname(existing);
  if (!isInside(realWorkDir, fs.realpathSync(existing))) throw new Error('outside the work folder');
  return full;
}

const REASONS = { ENOENT: 'No such file or directory', EACCES: 'Permission denied', EISDIR: 'Is a directory' };

function fail(name, error) {
  lastError = String(name) + ': ' + (REASONS[error.code] || error.message);
  return undefined; // wasmoon turns undefined into nil (null would break it)
}

function hostFor(engine) {
  return {
    __barge_write: write,
    __barge_getenv: (name) => (Object.prototype.hasOwnProperty.call(data.env, name) ? data.env[name] : undefined),
    __barge_read: (name) => {
      try {
        return fs.readFileSync(resolveInside(name), 'utf8');
      } catch (error) {
        return fail(name, error);
      }
    },
    __barge_save: (name, text, append) => {
      try {
        const full = resolveInside(name);
        fs.mkdirSync(path.dirname(full), { recursive: true });
        if (append) fs.appendFileSync(full, text);
        else fs.writeFileSync(full, text);
        return true;
      } catch (error) {
        return fail(name, error);
      }
    },
    __barge_lasterror: () => lastError,
    __barge_arg: (i) => data.args[i - 1],
    __barge_limit_memory: () => {
      if (data.memoryBytes > 0) engine.global.setMemoryMax(data.memoryBytes);
    },
  };
}

const factory = import(pathToFileURL(workerData.wasmoonPath).href).then(({ LuaFactory }) => new LuaFactory());

/** A fresh Lua state with the driver run in it, waiting for a task: made while the thread is idle. */
async function prepare() {
  const engine = await (await factory).createEngine({ traceAllocations: true, enableProxy: false, injectObjects: false });
  try {
    for (const [name, value] of Object.entries(hostFor(engine))) engine.global.set(name, value);
    const runTask = await engine.doString(workerData.driver);
    return { engine, runTask };
  } catch (error) {
    engine.global.close();
    throw error;
  }
}

let next = prepare();
// A failed preparation is reported by the task that needs it.
next.catch(() => undefined);

async function run(task) {
  data = task;
  pending = { stdout: '', stderr: '' };
  lastError = '';
  realWorkDir = fs.realpathSync(data.workDir);
  const ready = next;
  next = null;
  const { engine, runTask } = await (ready || prepare());
  try {
    const outcome = runTask(data.script, data.scriptName, data.args.length);
    flush();
    send({ type: 'done', ok: outcome.ok === true, result: outcome.result, message: outcome.message, trace: outcome.trace });
  } finally {
    engine.global.close();
    next = prepare();
    next.catch(() => undefined);
  }
}

parentPort.on('message', (request) => {
  run(request.task).catch((error) => {
    if (pending) flush();
    send({ type: 'done', ok: false, message: error && error.message ? error.message : String(error) });
  });
});
`;
