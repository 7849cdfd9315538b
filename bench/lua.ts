/**
 * bench/lua: Lua tasks `return 1` per second, against the baseline of a fresh wasmoon engine per
 * task on one thread (no barge at all), in the same run. Measured three ways: through the lua
 * runtime on its pooled threads (work folder included), the same runtime starting a thread per task
 * as it did before the pool, and end to end through the engine (SQLite store, a real worker).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LuaFactory } from 'wasmoon';
import { timeArrayThroughEngine } from './engine-array.js';
import { createLuaRuntime, wasmoonPath } from '../src/worker/runtimes/lua.js';
import { LuaThreadPool } from '../src/worker/runtimes/lua-pool.js';
import type { Runtime } from '../src/worker/runtimes/runtime.js';

export interface LuaResult {
  tasks: number;
  slots: number;
  /** Tasks per second. */
  baseline: number;
  pooled: number;
  threadPerTask: number;
  engine: number;
}

export async function luaBench(tasks = 2_000, slots = cpus().length): Promise<LuaResult> {
  const dir = mkdtempSync(join(tmpdir(), 'barge-bench-lua-'));
  try {
    const baseline = await freshEngines(tasks);
    const pooled = await throughRuntime(new LuaThreadPool(slots, wasmoonPath()), tasks, slots, dir);
    // A pool that keeps no idle thread: a new thread and wasmoon module per task, as before.
    const threadPerTask = await throughRuntime(new LuaThreadPool(0, wasmoonPath()), Math.min(tasks, 100), slots, dir);
    const engine = await throughEngine(tasks, slots, dir);
    return { tasks, slots, baseline, pooled, threadPerTask, engine };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function freshEngines(tasks: number): Promise<number> {
  const factory = new LuaFactory();
  await factory.getLuaModule();
  const began = performance.now();
  for (let i = 0; i < tasks; i++) {
    const engine = await factory.createEngine();
    await engine.doString('return 1');
    engine.global.close();
  }
  return perSecond(tasks, began);
}

async function throughRuntime(pool: LuaThreadPool, tasks: number, slots: number, dir: string): Promise<number> {
  const lua = createLuaRuntime({ pool });
  try {
    await runOne(lua, dir); // the first thread's start is not what is measured
    let next = 0;
    const began = performance.now();
    await Promise.all(
      Array.from({ length: slots }, async () => {
        while (next++ < tasks) await runOne(lua, dir);
      }),
    );
    return perSecond(tasks, began);
  } finally {
    await pool.close();
  }
}

async function runOne(lua: Runtime, dir: string): Promise<void> {
  const workDir = await mkdtemp(join(dir, 'task-'));
  const outcome = await lua.run({
    executionId: 'bench',
    jobId: 'bench',
    spec: { name: 'one', lua: 'return 1' },
    workDir,
    cpus: 1,
    memoryMb: 64,
    signal: new AbortController().signal,
    onLog: () => undefined,
  });
  rmSync(workDir, { recursive: true, force: true });
  if (outcome.result !== '1') throw new Error(`lua task ended ${outcome.state}: ${outcome.error}`);
}

async function throughEngine(tasks: number, slots: number, dir: string): Promise<number> {
  const ms = await timeArrayThroughEngine({
    dir,
    name: 'lua',
    items: tasks,
    concurrency: slots,
    task: { name: 'one', lua: 'return 1' },
    runtimes: { lua: createLuaRuntime({ threads: slots }) },
  });
  return (tasks * 1000) / ms;
}

function perSecond(count: number, began: number): number {
  return (count * 1000) / (performance.now() - began);
}
