import { afterEach, describe, expect, it } from 'vitest';
import { createLuaRuntime, wasmoonPath } from '../../src/worker/runtimes/lua.js';
import { LuaThreadPool } from '../../src/worker/runtimes/lua-pool.js';
import { makeEngine } from '../helpers/engine.js';
import { removeFolders, setup } from './helpers.js';

const pools: LuaThreadPool[] = [];

function pooled(size = 1): { pool: LuaThreadPool; lua: ReturnType<typeof createLuaRuntime> } {
  const pool = new LuaThreadPool(size, wasmoonPath());
  pools.push(pool);
  return { pool, lua: createLuaRuntime({ pool }) };
}

async function runScript(lua: ReturnType<typeof createLuaRuntime>, script: string, extra = {}) {
  const { request } = await setup({ lua: script }, extra);
  return lua.run(request);
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
  await removeFolders();
});

describe('lua thread pool', () => {
  it('reuses one thread, with a fresh Lua state for every task', async () => {
    const { pool, lua } = pooled();
    const first = await runScript(lua, "leaked = 'from the first task'; string.leaked = 1; _G.print = nil; return 'set'");
    expect(first.result).toBe('set');
    expect(pool.threadCount).toBe(1);
    const second = await runScript(lua, "print('printing works'); return tostring(leaked) .. '|' .. tostring(string.leaked)");
    expect(second).toMatchObject({ state: 'SUCCEEDED', result: 'nil|nil' });
    expect(pool.threadCount).toBe(1);
  });

  it('replaces a thread stopped by a timeout, and the next task runs', async () => {
    const { pool, lua } = pooled();
    await runScript(lua, 'return 1');
    expect(pool.threadCount).toBe(1);
    expect(await runScript(lua, 'while true do end', { timeoutMs: 300 })).toMatchObject({ state: 'FAILED', reason: 'timeout' });
    expect(pool.threadCount).toBe(0);
    expect(await runScript(lua, 'return 2')).toMatchObject({ state: 'SUCCEEDED', result: '2' });
    expect(pool.threadCount).toBe(1);
  });

  it('replaces a thread after a task ran out of memory, and the next task runs', async () => {
    const { pool, lua } = pooled();
    const hog = await runScript(lua, "local t = {}\nfor i = 1, 1e9 do t[i] = string.rep('x', 64) .. i end", { memoryMb: 32 });
    expect(hog).toMatchObject({ state: 'FAILED', reason: 'memory limit' });
    expect(pool.threadCount).toBe(0);
    expect(await runScript(lua, 'return 3', { memoryMb: 32 })).toMatchObject({ state: 'SUCCEEDED', result: '3' });
    expect(pool.threadCount).toBe(1);
  });

  it('keeps at most its size of idle threads after a burst', async () => {
    const { pool, lua } = pooled(2);
    const outcomes = await Promise.all([1, 2, 3, 4].map((n) => runScript(lua, `return ${n}`)));
    expect(outcomes.map((o) => o.result)).toEqual(['1', '2', '3', '4']);
    expect(pool.threadCount).toBe(2);
  });

  it('stops every thread on close, and refuses work after', async () => {
    const { pool, lua } = pooled(2);
    await Promise.all([runScript(lua, 'return 1'), runScript(lua, 'return 2')]);
    expect(pool.threadCount).toBe(2);
    await lua.close?.();
    expect(pool.threadCount).toBe(0);
    await expect(runScript(lua, 'return 1')).rejects.toThrow('the lua runtime is closed');
  });

  it("is closed by the worker's stop", async () => {
    const pool = new LuaThreadPool(2, wasmoonPath());
    pools.push(pool);
    const bundle = await makeEngine('sqlite', { luaPool: pool });
    try {
      const job = await bundle.run({ name: 'lua', tasks: [{ name: 'one', lua: 'return 1' }] });
      expect(job.state).toBe('SUCCEEDED');
      expect(pool.threadCount).toBe(1);
    } finally {
      await bundle.stop();
    }
    expect(pool.threadCount).toBe(0);
  });
});
