import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLuaRuntime } from '../../src/worker/runtimes/lua.js';
import { collect, removeFolders, setup } from './helpers.js';

const lua = createLuaRuntime();

afterEach(removeFolders);

describe('lua runtime', () => {
  it('describes itself and passes its healthCheck', async () => {
    expect(lua.name).toBe('lua');
    expect(lua.describe()).toEqual({ lua: 'wasmoon', luaVersion: '5.4' });
    await expect(lua.healthCheck()).resolves.toBeUndefined();
  });

  it('sets arg as the SlideRule runner does: arg[1] the script, arg[2] the argument string', async () => {
    const { request } = await setup({
      lua: "local first = ... ; return table.concat({ arg[1], arg[2], tostring(arg[3]), tostring(arg[4]), first }, '|')",
      args: ['granule.h5', 'second'],
    });
    expect(await lua.run(request)).toMatchObject({ state: 'SUCCEEDED', exitCode: 0, result: 'script.lua|granule.h5|second|nil|granule.h5' });
  });

  it('runs the SlideRule example: print goes to stdout, the first return value is the result', async () => {
    const { request, lines } = await setup({ lua: 'print("Hello World")\nreturn "Nice to meet you", true' });
    expect(await lua.run(request)).toMatchObject({ state: 'SUCCEEDED', result: 'Nice to meet you', error: null, reason: null });
    expect(lines('stdout')).toEqual(['Hello World']);
  });

  it('prints like Lua: tab-joined tostring of every argument, one log line per line', async () => {
    const { request, lines } = await setup({
      lua: [
        "print('a', 1, 2.5, nil, true)",
        'print()',
        "print('two\\nlines')",
        "io.write('partial ', 42)",
        "io.write(' done\\n')",
        "io.stderr:write('to stderr\\n')",
        "io.write('no newline at the end')",
      ].join('\n'),
    });
    await lua.run(request);
    expect(lines('stdout')).toEqual(['a\t1\t2.5\tnil\ttrue', '', 'two', 'lines', 'partial 42 done', 'no newline at the end']);
    expect(lines('stderr')).toEqual(['to stderr']);
  });

  it.each([
    ['return 42', '42'],
    ['return 2.5', '2.5'],
    ['return true', 'true'],
    ["return 'as is\\n'", 'as is\n'],
    ['return nil', null],
    ['local x = 1', null],
  ])('turns `%s` into the result %j', async (script, result) => {
    const { request } = await setup({ lua: script });
    expect(await lua.run(request)).toMatchObject({ state: 'SUCCEEDED', result });
  });

  it('returns a table as JSON', async () => {
    const { request } = await setup({
      lua: "return { name = 'granule', count = 3, ratio = 0.1, ok = true, list = { 1, 2, 'three' }, nested = { deep = { 'x' } }, empty = {}, quote = 'a\"b\\\\c\\n' }",
    });
    const outcome = await lua.run(request);
    expect(outcome.state).toBe('SUCCEEDED');
    expect(JSON.parse(outcome.result ?? '')).toEqual({
      name: 'granule',
      count: 3,
      ratio: 0.1,
      ok: true,
      list: [1, 2, 'three'],
      nested: { deep: ['x'] },
      empty: {},
      quote: 'a"b\\c\n',
    });
  });

  it('fails on a table that contains itself, saying why', async () => {
    const { request } = await setup({ lua: 'local t = {}; t.self = t; return t' });
    expect(await lua.run(request)).toMatchObject({
      state: 'FAILED',
      error: 'cannot convert the result: cannot convert a table that contains itself to JSON',
    });
  });

  it.each([
    ["error('boom')", 'script.lua:1: boom'],
    ['local x = nil; return x.y', "script.lua:1: attempt to index a nil value (local 'x')"],
    ["error({ code = 7 })", '{"code":7}'],
    ['return (', "script.lua:1: unexpected symbol near <eof>"],
  ])('fails `%s` with the Lua error message', async (script, error) => {
    const { request, lines } = await setup({ lua: script });
    expect(await lua.run(request)).toMatchObject({ state: 'FAILED', exitCode: 1, result: null, reason: null, error });
    expect(lines('stderr')[0]).toBe(error);
    expect(lines('stderr').join('\n')).not.toContain('xpcall');
  });

  it('stops `while true do end` on timeout', async () => {
    const { request } = await setup({ lua: 'while true do end' }, { timeoutMs: 300 });
    const started = Date.now();
    expect(await lua.run(request)).toMatchObject({ state: 'FAILED', reason: 'timeout', error: 'timed out after 300ms' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('stops a running script on cancel', async () => {
    const { request, abort, waitForLine } = await setup({ lua: "print('spinning')\nwhile true do end" });
    const running = lua.run(request);
    await waitForLine('spinning');
    const started = Date.now();
    abort.abort();
    expect(await running).toMatchObject({ state: 'CANCELLED', reason: 'cancelled' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('fails a memory hog with reason "memory limit" and keeps the process alive', async () => {
    const { request } = await setup(
      { lua: "local t = {}\nfor i = 1, 1e9 do t[i] = string.rep('x', 64) .. i end" },
      { memoryMb: 32 },
    );
    const outcome = await lua.run(request);
    expect(outcome).toMatchObject({ state: 'FAILED', reason: 'memory limit' });
    expect(outcome.error).toMatch(/^memory limit of 32 MB exceeded: .*not enough memory/);
    // and the runtime still works afterwards
    const next = await setup({ lua: 'return 1' });
    expect((await lua.run(next.request)).result).toBe('1');
  });

  it('has no way out of the sandbox', async () => {
    const { request } = await setup({
      lua: [
        'local names = {}',
        "for _, name in ipairs({ 'os.execute', 'os.exit', 'os.remove', 'os.rename', 'os.tmpname', 'io.popen',",
        "    'require', 'package', 'dofile', 'loadfile', 'debug', 'string.dump' }) do",
        '  local value = _G',
        "  for part in name:gmatch('[^.]+') do value = value and value[part] end",
        '  if value ~= nil then names[#names + 1] = name end',
        'end',
        "local ok, err = load('\\27Lua')",
        "return table.concat(names, ',') .. '|' .. tostring(ok) .. '|' .. tostring(err)",
      ].join('\n'),
    });
    const outcome = await lua.run(request);
    expect(outcome.state).toBe('SUCCEEDED');
    expect(outcome.result).toMatch(/^\|nil\|.*attempt to load a binary chunk/);
  });

  it('reads and writes files inside the work folder only, and lists outputs/', async () => {
    const outside = join(tmpdir(), `barge-lua-escape-${process.pid}.txt`);
    const { request, workDir } = await setup({
      files: { 'input.txt': 'first line\nsecond line\n' },
      lua: [
        "local f = assert(io.open('input.txt'))",
        "local first = f:read('l')",
        "local rest = f:read('a')",
        'f:close()',
        "local out = assert(io.open('outputs/sub/result.txt', 'w'))",
        "out:write('got: ', first, '\\n')",
        'out:close()',
        "local lines = 0; for _ in io.lines('input.txt') do lines = lines + 1 end",
        "local _, up = io.open('../escape.txt', 'w')",
        `local _, abs = io.open('${outside}', 'w')`,
        "local _, etc = io.open('/etc/hostname')",
        "local _, missing = io.open('missing.txt')",
        "return { rest = rest, lines = lines, up = up, abs = abs, etc = etc, missing = missing }",
      ].join('\n'),
    });
    const outcome = await lua.run(request);
    expect(outcome.state).toBe('SUCCEEDED');
    expect(JSON.parse(outcome.result ?? '')).toEqual({
      rest: 'second line\n',
      lines: 2,
      up: '../escape.txt: outside the work folder',
      abs: `${outside}: outside the work folder`,
      etc: '/etc/hostname: outside the work folder',
      missing: 'missing.txt: No such file or directory',
    });
    expect((await collect(workDir)).paths).toEqual(['sub/result.txt']);
    expect(readFileSync(join(workDir, 'outputs/sub/result.txt'), 'utf8')).toBe('got: first line\n');
    expect(existsSync(outside)).toBe(false);
  });

  it('shows the task env through os.getenv, and nothing of the worker environment', async () => {
    const { request } = await setup({ lua: "return tostring(os.getenv('FOO')) .. '|' .. tostring(os.getenv('PATH'))", env: { FOO: 'bar' } });
    expect((await lua.run(request)).result).toBe('bar|nil');
  });

  it.each([
    [{ run: 'echo' }, 'run is not supported by the lua runtime', 'unsupported: run'],
    [{ image: 'alpine' }, 'image is not supported by the lua runtime', 'unsupported: image'],
    [{ pre: [{ name: 'p', run: 'x' }] }, 'pre are not supported by the lua runtime', 'unsupported: pre'],
    [{ mounts: [{ type: 'bind' }] }, 'mounts are not supported by the lua runtime', 'unsupported: mounts'],
  ])('refuses %j by name', async (spec, error, reason) => {
    const { request } = await setup({ lua: 'return 1', ...spec });
    expect(await lua.run(request)).toEqual({ state: 'FAILED', exitCode: null, result: null, error, reason });
  });

  it('refuses a task without a lua script, and files that leave the work folder', async () => {
    const missing = await setup({});
    expect(await lua.run(missing.request)).toMatchObject({ state: 'FAILED', reason: 'invalid: lua' });
    const escaping = await setup({ lua: 'return 1', files: { '../x.txt': 'x' } });
    expect(await lua.run(escaping.request)).toMatchObject({ state: 'FAILED', reason: 'invalid: files' });
  });

  it('runs several scripts at once, each on its own thread', async () => {
    const bundles = await Promise.all(
      [1, 2, 3, 4].map((n) => setup({ lua: `local s = 0; for i = 1, 1e6 do s = s + i end; return ${n} .. ':' .. s` })),
    );
    const outcomes = await Promise.all(bundles.map((b) => lua.run(b.request)));
    expect(outcomes.map((o) => o.result)).toEqual(['1:500000500000', '2:500000500000', '3:500000500000', '4:500000500000']);
  });
});
